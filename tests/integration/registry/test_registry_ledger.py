"""The interval ledger against a brute-force oracle (one fingerprint per minute tick), on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from aquifer.registry import Registry

T0 = datetime(2024, 3, 1, tzinfo=UTC)
MINUTES = 60


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def ranges_of(ticks: set[int]) -> list[tuple[datetime, datetime]]:
    """Coalesced ``[start, end)`` ranges covering the given minute ticks."""
    out: list[tuple[datetime, datetime]] = []
    for m in sorted(ticks):
        if out and out[-1][1] == at(m):
            out[-1] = (out[-1][0], at(m + 1))
        else:
            out.append((at(m), at(m + 1)))
    return out


def test_add_coalesces_adjacent_and_overlapping(registry: Registry) -> None:
    registry.add_interval("p", "v", at(0), at(10))
    registry.add_interval("p", "v", at(10), at(20))  # touching
    registry.add_interval("p", "v", at(15), at(30))  # overlapping
    registry.add_interval("p", "v", at(40), at(50))
    assert registry.intervals("p", "v") == [(at(0), at(30)), (at(40), at(50))]
    assert registry.intervals("p", "other") == []
    assert registry.intervals("p", "v", kind="materialize") == []


def test_forget_splits_straddling_intervals(registry: Registry) -> None:
    registry.add_interval("p", "v", at(0), at(60))
    registry.forget_intervals("p", "v", at(10), at(20))
    assert registry.intervals("p", "v") == [(at(0), at(10)), (at(20), at(60))]
    registry.forget_intervals("p", "v", end=at(5))
    registry.forget_intervals("p", "v", start=at(50))
    assert registry.intervals("p", "v") == [(at(5), at(10)), (at(20), at(50))]
    registry.forget_intervals("p", "v")
    assert registry.intervals("p", "v") == []


def test_fingerprint_filter_and_replacement(registry: Registry) -> None:
    registry.add_interval("p", "v", at(0), at(30), data_fingerprint="old")
    registry.add_interval("p", "v", at(10), at(20), data_fingerprint="new")  # recomputed: replaces "old" there
    assert registry.intervals("p", "v") == [(at(0), at(30))]
    assert registry.intervals("p", "v", data_fingerprint="old") == [(at(0), at(10)), (at(20), at(30))]
    assert registry.intervals("p", "v", data_fingerprint="new") == [(at(10), at(20))]
    assert registry.intervals("p", "v", data_fingerprint="other") == []


def test_kinds_are_separate_ledgers(registry: Registry) -> None:
    registry.add_interval("p", "v", at(0), at(10), kind="materialize")
    registry.forget_intervals("p", "v", kind="batch")
    assert registry.intervals("p", "v", kind="materialize") == [(at(0), at(10))]
    with pytest.raises(ValueError, match="ledger kind"):
        registry.add_interval("p", "v", at(0), at(1), kind="stream")


def test_bad_ranges(registry: Registry) -> None:
    with pytest.raises(ValueError, match="after its end"):
        registry.add_interval("p", "v", at(5), at(1))
    registry.add_interval("p", "v", at(5), at(5))  # empty: nothing recorded
    assert registry.intervals("p", "v") == []
    with pytest.raises(TypeError, match="must be a datetime"):
        registry.add_interval("p", "v", "2024-01-01", at(1))  # type: ignore[arg-type]


def test_timezones_naive_is_utc_and_output_is_utc(registry: Registry) -> None:
    plus2 = timezone(timedelta(hours=2))
    registry.add_interval("p", "v", datetime(2024, 3, 1, 2, 0, tzinfo=plus2), datetime(2024, 3, 1, 0, 30))
    [(start, end)] = registry.intervals("p", "v")
    assert (start, end) == (at(0), at(30))
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    assert end.tzinfo is not None and end.utcoffset() == timedelta(0)


def test_microseconds_survive(registry: Registry) -> None:
    s, e = T0 + timedelta(microseconds=1), T0 + timedelta(seconds=1, microseconds=999_999)
    registry.add_interval("p", "v", s, e)
    registry.add_interval("p", "v", e, e + timedelta(microseconds=1))
    assert registry.intervals("p", "v") == [(s, e + timedelta(microseconds=1))]


@pytest.mark.parametrize("seed", range(4))
def test_random_sequences_match_oracle(registry: Registry, seed: int) -> None:
    rng = random.Random(seed)
    oracle: dict[int, str] = {}  # minute tick -> fingerprint it was computed with
    for step in range(40):
        a, b = sorted(rng.sample(range(MINUTES + 1), 2))
        op = rng.random()
        if op < 0.6:
            fp = rng.choice(["f1", "f2"])
            registry.add_interval("p", "v", at(a), at(b), data_fingerprint=fp)
            oracle.update(dict.fromkeys(range(a, b), fp))
        else:
            lo = None if rng.random() < 0.1 else a
            hi = None if rng.random() < 0.1 else b
            registry.forget_intervals("p", "v", None if lo is None else at(lo), None if hi is None else at(hi))
            for m in range(-1 if lo is None else lo, MINUTES + 1 if hi is None else hi):
                oracle.pop(m, None)
        assert registry.intervals("p", "v") == ranges_of(set(oracle)), f"step {step}"
        for fp in ("f1", "f2"):
            expected = ranges_of({m for m, f in oracle.items() if f == fp})
            assert registry.intervals("p", "v", data_fingerprint=fp) == expected, f"step {step} {fp}"


def test_concurrent_writers_lose_nothing(open_registry) -> None:
    """Four threads (own Registry handles) add interleaved ranges at once; the union is exactly what they added."""
    handles = [open_registry() for _ in range(4)]
    barrier = threading.Barrier(len(handles))
    errors: list[BaseException] = []

    def work(i: int, reg: Registry) -> None:
        try:
            barrier.wait()
            for k in range(i, MINUTES, len(handles)):
                reg.add_interval("p", "v", at(k), at(k + 1), data_fingerprint="f")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, h)) for i, h in enumerate(handles)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert handles[0].intervals("p", "v") == [(at(0), at(MINUTES))]
    assert handles[0].intervals("p", "v", data_fingerprint="f") == [(at(0), at(MINUTES))]


def _process_worker(url: str, schema: str | None, offset: int, n: int) -> None:
    reg = Registry(url, schema=schema)
    try:
        for k in range(offset, n, 2):
            reg.add_interval("p", "v", at(k), at(k + 1))
    finally:
        reg.close()


def test_two_processes_share_one_database(registry: Registry) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    url, schema = registry.url, registry.db.schema
    procs = [ctx.Process(target=_process_worker, args=(url, schema, i, 20)) for i in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    assert registry.intervals("p", "v") == [(at(0), at(20))]
