"""plan / apply / versions / edges, and two applies racing, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from aquifer import BatchSource, Entity, FeatureView, Field, sql
from aquifer.definitions.spec import data_spec, meta_spec, to_spec
from aquifer.registry import Entry, Registry, RegistryConflict, Snapshot
from aquifer.types import Float64


def fp(part: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(part, sort_keys=True, default=str).encode()).hexdigest()


def entry(d: Any) -> Entry:
    return Entry(d.kind, d.name, fp(data_spec(d)), fp(meta_spec(d)), to_spec(d), d.location)


USER = Entity("user", join_keys=["user_id"], description="A customer")
TX = BatchSource("tx", path="data/tx.parquet", timestamp_field="event_ts")


def spend(text: str = "SELECT user_id, event_ts, amount FROM {tx}", description: str = "spend") -> FeatureView:
    return FeatureView("spend", entities=[USER], source=TX, transform=sql(text),
                       schema=[Field("amount", Float64)], description=description)


def snapshot(*defs: Any, edges: bool = True) -> Snapshot:
    names = {d.name for d in defs}
    graph = [("batch_source", "tx", "feature_view", "spend"), ("entity", "user", "feature_view", "spend")]
    columns = [("tx", "amount", "spend", "amount")]
    keep = edges and "spend" in names
    return Snapshot([entry(d) for d in defs], graph if keep else [], columns if keep else [])


def names(changes: list) -> list[tuple[str, str]]:
    return [(c.kind, c.name) for c in changes]


def edge_tuples(edges: list[Any]) -> list[tuple[str, ...]]:
    """Edges (definition or column level) as the snapshot's tuples, in the order returned."""
    return [tuple(e.model_dump().values()) for e in edges]


def test_first_apply_then_plan_shows_nothing(registry: Registry) -> None:
    snap = snapshot(USER, TX, spend())
    first = registry.plan("p", snap)
    assert first.base_version == 0 and first.has_changes
    assert names(first.added) == [("batch_source", "tx"), ("entity", "user"), ("feature_view", "spend")]
    result = registry.apply("p", snap)
    assert result.version == 1 == registry.project_version("p")
    again = registry.plan("p", snap)
    assert not again.has_changes and again.base_version == 1
    assert len(again.unchanged) == 3 and not (again.added or again.removed or again.changed_data or again.changed_meta)
    assert registry.apply("p", snap).version == 1  # nothing to write: no new project version
    stored = registry.definition("p", "feature_view", "spend")
    assert stored is not None and stored.version == 1
    assert stored.spec["data"]["transform"]["text"] == "SELECT user_id, event_ts, amount FROM {tx}"
    assert stored.location == snap.entries[2].location and "test_registry_definitions.py:" in stored.location
    assert [d.name for d in registry.definitions("p")] == ["tx", "user", "spend"]  # by kind, then name
    assert [d.name for d in registry.definitions("p", kind="entity")] == ["user"]
    assert edge_tuples(registry.edges("p")) == sorted(snap.edges)
    assert edge_tuples(registry.column_edges("p")) == [("tx", "amount", "spend", "amount")]
    assert registry.projects() == ["p"]


def test_description_edit_is_changed_meta_only(registry: Registry) -> None:
    registry.apply("p", snapshot(USER, TX, spend()))
    edited = snapshot(USER, TX, spend(description="better words"))
    diff = registry.plan("p", edited)
    assert names(diff.changed_meta) == [("feature_view", "spend")] and diff.changed_data == []
    assert (diff.changed_meta[0].old_version, diff.changed_meta[0].new_version) == (1, 2)
    registry.apply("p", edited)
    history = registry.versions("p", "feature_view", "spend")
    assert [(v.version, v.change) for v in history] == [(1, "added"), (2, "meta")]
    assert history[0].data_fingerprint == history[1].data_fingerprint
    assert history[0].meta_fingerprint != history[1].meta_fingerprint


def test_data_edit_is_changed_data_and_new_version(registry: Registry) -> None:
    registry.apply("p", snapshot(USER, TX, spend()))
    edited = snapshot(USER, TX, spend("SELECT user_id, event_ts, amount * 2 AS amount FROM {tx}", "also meta"))
    diff = registry.plan("p", edited)
    assert names(diff.changed_data) == [("feature_view", "spend")] and diff.changed_meta == []
    assert names(diff.unchanged) == [("batch_source", "tx"), ("entity", "user")]
    result = registry.apply("p", edited, expected_version=diff.base_version)
    assert result.version == 2
    current = registry.definition("p", "feature_view", "spend")
    assert current is not None and current.version == 2
    assert "amount * 2" in current.spec["data"]["transform"]["text"]
    history = registry.versions("p", "feature_view", "spend")
    assert [(v.version, v.change, v.project_version) for v in history] == [(1, "added", 1), (2, "data", 2)]
    assert "amount * 2" not in history[0].spec["data"]["transform"]["text"]


def test_removal_keeps_history_and_readding_continues_versions(registry: Registry) -> None:
    registry.apply("p", snapshot(USER, TX, spend()))
    smaller = snapshot(USER, TX)
    diff = registry.plan("p", smaller)
    assert names(diff.removed) == [("feature_view", "spend")] and diff.removed[0].new_version is None
    assert diff.edges_changed and diff.column_edges_changed
    registry.apply("p", smaller)
    assert registry.definition("p", "feature_view", "spend") is None
    assert [d.name for d in registry.definitions("p")] == ["tx", "user"]
    assert [v.version for v in registry.versions("p", "feature_view", "spend")] == [1]
    assert registry.edges("p") == [] and registry.column_edges("p") == []

    back = registry.plan("p", snapshot(USER, TX, spend()))
    assert [(c.name, c.old_version, c.new_version) for c in back.added] == [("spend", None, 2)]
    registry.apply("p", snapshot(USER, TX, spend()))
    again = registry.definition("p", "feature_view", "spend")
    assert again is not None and again.version == 2
    assert len(registry.edges("p")) == 2


def test_moved_definition_updates_location_without_new_version(registry: Registry) -> None:
    registry.apply("p", snapshot(USER, TX))
    moved = Snapshot([replace(entry(USER), location="features/users.py:99"), entry(TX)])
    assert not registry.plan("p", moved).has_changes
    assert registry.apply("p", moved).version == 1
    user = registry.definition("p", "entity", "user")
    assert user is not None and (user.location, user.version) == ("features/users.py:99", 1)


def test_stale_expected_version_is_refused(registry: Registry) -> None:
    registry.apply("p", snapshot(USER, TX))
    with pytest.raises(RegistryConflict, match=r"project 'p' was changed by another apply \(version 0 → 1\)"):
        registry.apply("p", snapshot(USER, TX, spend()), expected_version=0)
    assert registry.definition("p", "feature_view", "spend") is None


def test_failed_apply_writes_nothing(registry: Registry) -> None:
    registry.apply("p", snapshot(USER, TX))
    bad = Entry("feature_view", "broken", "d", "m", {"not json": {1, 2}}, None)
    with pytest.raises(Exception):  # noqa: B017 (whatever the driver raises for an unserializable spec)
        registry.apply("p", Snapshot([entry(USER), entry(TX), bad]))
    assert registry.project_version("p") == 1
    assert [d.name for d in registry.definitions("p")] == ["tx", "user"]


def test_duplicate_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="more than once: entity 'user'"):
        Snapshot([entry(USER), entry(USER)])


@pytest.mark.parametrize("round_", range(3))
def test_two_applies_racing_one_wins(open_registry, round_: int) -> None:
    """Both read the version, both apply against it at once: one wins, the other conflicts, no mix."""
    a, b = open_registry(), open_registry()
    a.apply("p", snapshot(USER, TX))
    snaps = {
        "a": snapshot(USER, TX, spend(description="from a"), Entity("only_a", join_keys=["k"])),
        "b": Snapshot([entry(USER), entry(Entity("only_b", join_keys=["k"]))], [("entity", "user", "entity", "b")]),
    }
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def racer(tag: str, reg: Registry) -> None:
        base = reg.plan("p", snaps[tag]).base_version
        barrier.wait()
        try:
            outcome[tag] = reg.apply("p", snaps[tag], expected_version=base)
        except RegistryConflict as exc:
            outcome[tag] = exc

    threads = [threading.Thread(target=racer, args=(tag, reg)) for tag, reg in (("a", a), ("b", b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    conflicts = [tag for tag, o in outcome.items() if isinstance(o, RegistryConflict)]
    winners = [tag for tag, o in outcome.items() if not isinstance(o, RegistryConflict)]
    assert len(conflicts) == 1 and len(winners) == 1, outcome
    assert "run plan again" in str(outcome[conflicts[0]])
    winner, loser = winners[0], conflicts[0]
    assert a.project_version("p") == 2 == outcome[winner].version
    current = {(d.kind, d.name) for d in a.definitions("p")}
    assert current == {(e.kind, e.name) for e in snaps[winner].entries}
    assert ("entity", f"only_{loser}") not in current and a.versions("p", "entity", f"only_{loser}") == []
    assert edge_tuples(a.edges("p")) == sorted(snaps[winner].edges)


def test_many_concurrent_applies_never_lose_an_update(open_registry) -> None:
    """Writers that read the version inside apply: every success gets its own version, none is lost."""
    handles = [open_registry() for _ in range(4)]
    handles[0].apply("p", snapshot(USER))
    barrier = threading.Barrier(len(handles))
    results: list[Any] = []
    lock = threading.Lock()

    def writer(i: int, reg: Registry) -> None:
        barrier.wait()
        for k in range(3):
            snap = Snapshot([entry(Entity("user", join_keys=["user_id"], description=f"w{i}-{k}"))])
            try:
                res: Any = reg.apply("p", snap)
            except RegistryConflict as exc:
                res = exc
            with lock:
                results.append((f"w{i}-{k}", res))

    threads = [threading.Thread(target=writer, args=(i, h)) for i, h in enumerate(handles)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    won = sorted((r.version, tag) for tag, r in results if not isinstance(r, RegistryConflict))
    assert [v for v, _ in won] == list(range(2, 2 + len(won)))  # distinct, consecutive versions
    assert handles[0].project_version("p") == 1 + len(won)
    history = handles[0].versions("p", "entity", "user")
    assert [h.spec["meta"]["description"] for h in history[1:]] == [tag for _, tag in won]


def test_writer_that_commits_between_read_and_write_wins(open_registry, monkeypatch) -> None:
    """A pauses after reading the registry; B applies meanwhile. Exactly one wins whatever the backend does.

    On PostgreSQL B commits first and A's guarded UPDATE matches no row (conflict). On SQLite A holds the
    write lock from its first statement, so B waits, then finds the version moved (conflict).
    """
    from aquifer.registry import definitions as impl

    a, b = open_registry(), open_registry()
    base = a.apply("p", snapshot(USER, TX)).version
    a_inside, b_done = threading.Event(), threading.Event()
    real_diff = impl._diff

    def slow_diff(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "A":
            a_inside.set()
            b_done.wait(1.0)
        return real_diff(*args, **kwargs)

    monkeypatch.setattr(impl, "_diff", slow_diff)
    outcome: dict[str, Any] = {}

    def run(tag: str, reg: Registry, snap: Snapshot) -> None:
        try:
            outcome[tag] = reg.apply("p", snap, expected_version=base)
        except RegistryConflict as exc:
            outcome[tag] = exc
        finally:
            if tag == "B":
                b_done.set()

    ta = threading.Thread(target=run, name="A", args=("A", a, snapshot(USER, TX, spend(description="A"))))
    tb = threading.Thread(target=run, name="B", args=("B", b, snapshot(USER, TX, spend(description="B"))))
    ta.start()
    assert a_inside.wait(10)
    tb.start()
    ta.join(60)
    tb.join(60)
    winner = "B" if a.db.dialect == "postgresql" else "A"
    loser = "A" if winner == "B" else "B"
    assert isinstance(outcome[loser], RegistryConflict), outcome
    assert outcome[winner].version == base + 1
    current = a.definition("p", "feature_view", "spend")
    assert current is not None and current.spec["meta"]["description"] == winner
    assert [v.version for v in a.versions("p", "feature_view", "spend")] == [1]
