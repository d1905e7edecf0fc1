"""Newer-wins writes: an older value never replaces a newer one, whatever the writers' order."""

from __future__ import annotations

import multiprocessing
import random

import pytest
from online_repo import now_us

from aquifer.stores.online.codec import ViewCodec
from aquifer.stores.online.keys import entity_group
from aquifer.stores.online.redis_store import RedisOnlineStore, pack_newer_wins_column

pytestmark = pytest.mark.redis


def test_older_write_is_ignored_and_ties_break_on_created_ts(store, put):
    t = now_us() - 10_000_000
    assert put("user_stats", {"user_id": 1}, [2, 2.0, "new", False], t) == 1
    assert put("user_stats", {"user_id": 1}, [1, 1.0, "old", False], t - 1) == 0
    assert put("user_stats", {"user_id": 1}, [3, 3.0, "same", False], t) == 0  # equal (event, created): keep
    assert put("user_stats", {"user_id": 1}, [4, 4.0, "later-created", False], t, 5) == 1
    assert put("user_stats", {"user_id": 1}, [5, 5.0, "earlier-created", False], t, 4) == 0
    got = store.get_online_features(["user_stats:country"], [{"user_id": 1}]).to_dict()["country"]
    assert got == ["later-created"]


def test_negative_event_times_compare_correctly(store, put):
    assert put("user_profile", {"user_id": 1}, [1, None, None, None], -5_000_000) == 1
    assert put("user_profile", {"user_id": 1}, [2, None, None, None], -6_000_000) == 0
    assert put("user_profile", {"user_id": 1}, [3, None, None, None], 1) == 1
    assert store.get_online_features(["user_profile:age"], [{"user_id": 1}]).to_dict()["age"] == [3]


def test_multi_key_column_calls_follow_the_same_rule(store):
    view = store.views["user_stats"]
    codec, group, project = ViewCodec.for_view(view), entity_group(view), store.config.project
    online = RedisOnlineStore(store.config.online_store["url"])
    keys = [group.prefix(project) + str(k) for k in range(10)]
    t = now_us() - 10_000_000

    def column(event_us, created_us, per_call):
        blobs = [codec.encode([k, float(k), tag(event_us, created_us), True], event_us, created_us) for k in range(10)]
        return online.write_packed(*pack_newer_wins_column(keys, "user_stats", blobs, per_call))

    def tag(event_us, created_us):
        return f"{event_us - t}/{created_us}"

    assert online.keys_per_call() == 100  # the test server is a single node
    assert column(t, 0, 3) == 10
    assert column(t - 1, 0, 4) == 0  # older: ignored
    assert column(t, 0, 100) == 0  # equal: kept
    assert column(t, 5, 1) == 10  # later created, one key per call (the cluster-safe form)
    assert column(t, 4, 7) == 0
    got = store.get_online_features(["user_stats:country"], {"user_id": list(range(10))}).to_dict()["country"]
    assert got == ["0/5"] * 10
    online.close()


def test_streamed_batches_recover_from_flushed_scripts(store):
    """``write_packed_stream`` rewrites a batch refused with NOSCRIPT; every key is written exactly once."""
    view = store.views["user_stats"]
    codec, group, project = ViewCodec.for_view(view), entity_group(view), store.config.project
    online = RedisOnlineStore(store.config.online_store["url"])
    t = now_us() - 10_000_000
    keys = [group.prefix(project) + f"stream{k}" for k in range(250)]
    blobs = [codec.encode([k, float(k), "s", True], t) for k in range(250)]

    def batches():
        for i in range(0, 250, 100):
            yield pack_newer_wins_column(keys[i:i + 100], "user_stats", blobs[i:i + 100], 30)

    online.client.script_flush()
    assert online.write_packed_stream(batches()) == 250
    assert online.write_packed_stream(batches()) == 0  # equal values: kept, nothing written
    online.close()


def _writer(url: str, fields, group, project: str, seed: int, rounds: int, keys: int, per_call: int = 0) -> None:
    codec = ViewCodec(fields)
    online = RedisOnlineStore(url, timeout_ms=2000)
    rng = random.Random(seed)
    base = 1_700_000_000_000_000
    for _ in range(rounds):
        writes = []
        for k in range(keys):
            ts = base + rng.randrange(10_000) * 2 + seed  # writer 0 even, writer 1 odd: never equal
            writes.append((group.prefix(project) + str(k), [("user_wide", codec.encode([ts / 1e6] * 10, ts))]))
        if per_call:  # materialization's form: many keys per script call
            blobs = [fields[0][1] for _, fields in writes]
            online.write_packed(*pack_newer_wins_column([k for k, _ in writes], "user_wide", blobs, per_call))
        else:
            online.write(writes)
    online.close()


@pytest.mark.parametrize("per_call", [0, 37], ids=["key-per-call", "multi-key"])
def test_two_processes_interleaved_writes_keep_the_max(store, redis_url, per_call):
    view = store.views["user_wide"]
    group, keys, rounds = entity_group(view), 200, 15
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(redis_url, view.features, group, store.config.project, s, rounds, keys,
                                               per_call * (s + 1)))
             for s in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    expected = {}
    base = 1_700_000_000_000_000
    for seed in (0, 1):
        rng = random.Random(seed)
        for _ in range(rounds):
            for k in range(keys):
                ts = base + rng.randrange(10_000) * 2 + seed
                expected[k] = max(expected.get(k, 0), ts)
    result = store.get_online_features(["user_wide:f0"], {"user_id": list(range(keys))})
    assert result.event_times_us["user_wide"] == [expected[k] for k in range(keys)]
    assert result.to_dict()["f0"] == [expected[k] / 1e6 for k in range(keys)]
