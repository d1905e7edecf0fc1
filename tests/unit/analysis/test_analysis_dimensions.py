"""Dimension reads of SQL views at plan time: ASOF parsing and rewriting, read modes, bad input, fingerprints."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import problems_of

from aquifer.analysis.dimensions import EVENT, UNTIL_END, VALID_TO, WHOLE, join_plan, spark_sql
from aquifer.definitions import BatchSource, DefinitionError
from aquifer.definitions.types import Int64, String, Timestamp

ASOF = """SELECT t.user_id, t.event_ts, u.tier FROM {transactions} t
ASOF LEFT JOIN {users} u ON u.user_id = t.user_id AND u.event_ts <= t.event_ts"""


def test_asof_join_is_rewritten_as_a_validity_interval_join():
    plan = join_plan(ASOF)
    (join,) = plan.dimensions.values()
    assert (join.upstream, join.keys, join.time, join.strict) == ("users", ("user_id",), "event_ts", False)
    out = spark_sql(ASOF, {"transactions": "tx", "users": "us"}, plan)
    assert "ASOF" not in out.upper() and "LEFT JOIN us AS u" in out
    assert f"(u.{VALID_TO} IS NULL OR t.event_ts < u.{VALID_TO})" in out
    strict = join_plan(ASOF.replace("u.event_ts <= t.event_ts", "t.event_ts > u.event_ts"))
    assert strict.dimensions["users"].strict
    assert f"t.event_ts <= u.{VALID_TO}" in spark_sql(ASOF.replace("<=", "<"), {"transactions": "a", "users": "b"},
                                                      join_plan(ASOF.replace("<=", "<")))


def test_queries_without_asof_run_verbatim():
    text = "SELECT t.user_id, t.event_ts, s.segment FROM {t} t LEFT JOIN {s} s ON s.user_id = t.user_id -- {x}"
    plan = join_plan(text, {"s"})
    assert plan.dimensions["s"].keys == ("user_id",) and plan.dimensions["s"].time is None
    assert spark_sql(text, {"t": "a", "s": "b"}, plan) == text.replace("{t}", "a").replace("{s}", "b", 1)


def test_a_snapshot_joined_using_columns_has_those_keys():
    plan = join_plan("SELECT * FROM {t} t JOIN {s} s USING (user_id, day)", {"s"})
    assert plan.dimensions["s"].keys == ("user_id", "day") and not plan.asof


def test_read_modes():
    plan = join_plan(ASOF)
    snapshot = BatchSource("s", path="s.parquet", timestamp_field=None)
    events = BatchSource("transactions", path="t.parquet")
    assert plan.read_mode("users", BatchSource("users", path="u.csv", format="csv")) == UNTIL_END
    assert plan.read_mode("transactions", events) == EVENT
    assert plan.read_mode("s", snapshot) == WHOLE and snapshot.is_snapshot and not events.is_snapshot


@pytest.mark.parametrize(("on", "wanted"), [
    ("u.user_id = t.user_id AND u.event_ts >= t.event_ts", "the wrong way"),
    ("u.event_ts <= t.event_ts", "at least one equality"),
    ("u.user_id = t.user_id", "exactly one time comparison"),
    ("u.user_id = t.user_id AND u.a <= t.event_ts AND u.b <= t.event_ts", "found 2"),
])
def test_malformed_asof_joins_are_named(on, wanted):
    (problem,) = join_plan(f"SELECT * FROM {{t}} t ASOF JOIN {{users}} u ON {on}").problems
    assert "ASOF JOIN {users}" in problem and wanted in problem


def test_a_join_key_type_that_differs_between_the_sides():
    columns = {"transactions": {"user_id": Int64, "event_ts": Timestamp},
               "users": {"user_id": String, "event_ts": Timestamp}}
    (problem,) = join_plan(ASOF, columns=columns).problems
    assert problem == ("join key types differ: 'user_id' of {users} is String but 'user_id' of {transactions} is "
                       "Int64 (cast one side in the SQL, or fix the source's column type)")
    columns["users"]["user_id"] = Int64
    assert join_plan(ASOF, columns=columns).problems == []


def test_snapshot_source_declaration():
    with pytest.raises(DefinitionError, match="timestamp_field"):
        BatchSource("s", path="s.parquet", timestamp_field=3)


VIEWS = """
user = Entity("user", join_keys=["user_id"], key_types=[Int64])
transactions = BatchSource("transactions", path="data/transactions.parquet")
users = BatchSource("users", path="data/users.csv", format="csv")
segments = BatchSource("segments", path="data/segments.parquet", timestamp_field=None)
tiers = FeatureView("tiers", entities=[user], schema=[Field("tier", String)],  # TIERS
    transform=sql('''SELECT t.user_id, t.event_ts, u.tier FROM {transactions} t
                     ASOF LEFT JOIN {users} u ON u.user_id = t.user_id AND u.event_ts <= t.event_ts'''))
segmented = FeatureView("segmented", entities=[user], schema=[Field("segment", String)],  # SEG
    transform=sql('''SELECT t.user_id, t.event_ts, s.segment FROM {transactions} t
                     LEFT JOIN {segments} s ON s.user_id = t.user_id'''))
"""


@pytest.fixture
def dims(repo):
    repo.write({"features/views.py": VIEWS}).data()
    pd.DataFrame({"user_id": ["u1", "u2"], "event_ts": ["2024-01-01T00:00:00Z"] * 2, "tier": ["a", "b"]}) \
        .to_csv(repo.root / "data" / "users.csv", index=False)
    pd.DataFrame({"user_id": [1, 1, 2], "segment": ["x", "y", "z"]}).to_parquet(repo.root / "data" / "segments.parquet")
    return repo


def test_plan_names_the_view_and_field_of_a_key_type_clash_and_refuses_duplicate_keys(dims):
    result = dims.analyze()
    (clash,) = problems_of(result, "tiers")
    assert "'user_id' of {users} is String but 'user_id' of {transactions} is Int64" in clash
    problem = next(p for p in result.problems if p.name == "tiers")
    assert problem.is_error and problem.location == dims.loc("features/views.py", "TIERS")
    assert str(problem).startswith(f"{problem.location}: tiers: join key types differ")
    (dups,) = problems_of(result, "segmented")
    assert dups.startswith("dimension 'segments' has more than one row for 1 key (e.g. user_id=1) and no "
                           "created_timestamp_field to pick one")
    assert not result.ok


def test_duplicate_keys_with_a_created_timestamp_warn_that_the_latest_wins(dims):
    text = (dims.root / "features/views.py").read_text().replace(
        'timestamp_field=None)', 'timestamp_field=None, created_timestamp_field="updated_at")')
    (dims.root / "features/views.py").write_text(text)
    pd.DataFrame({"user_id": [1, 1, 2], "segment": ["x", "y", "z"],
                  "updated_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01"], utc=True)}) \
        .to_parquet(dims.root / "data" / "segments.parquet")
    result = dims.analyze()
    (warning,) = [p for p in result.problems if p.name == "segmented"]
    assert not warning.is_error and warning.message.endswith("the row with the latest 'updated_at' wins")


def test_a_snapshot_cannot_be_a_views_event_source(repo):
    repo.write({"features/v.py": """
        user = Entity("user", join_keys=["user_id"])
        dim = BatchSource("dim", path="data/transactions.parquet", timestamp_field=None)
        passthrough = FeatureView("passthrough", entities=[user], source=dim, schema=[Field("amount", Float64)])
        windows = AggregationView("windows", entities=[user], source=dim,
                                  aggregations=[Aggregation("amount", "sum", Tumbling("1h"))])
    """}).data()
    result = repo.analyze()
    for name in ("passthrough", "windows"):
        assert any("source 'dim' is a snapshot (no timestamp_field)" in m for m in problems_of(result, name)), name


def test_a_changed_snapshot_file_changes_what_it_feeds_and_nothing_else(dims):
    first = dims.analyze().fingerprints
    path = dims.root / "data" / "segments.parquet"
    pd.DataFrame({"user_id": [1, 2], "segment": ["x", "z"]}).to_parquet(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = dims.analyze().fingerprints
    changed = {name for (kind, name), fp in second.items() if fp.data != first[(kind, name)].data}
    assert changed == {"segments", "segmented"}


def test_lookback_declarations():
    from aquifer import Entity, FeatureView, Field, Lookback, sql
    from aquifer.definitions.spec import data_spec
    from aquifer.definitions.types import Float64

    user = Entity("user", join_keys=["user_id"])
    text = sql(ASOF)
    view = FeatureView("v", entities=[user], transform=text, schema=[Field("tier", Float64)],
                       reads={"users": Lookback("30d")})
    assert view.read_windows["users"].duration.days == 30
    assert data_spec(view)["reads"] == {"users": {"lookback": 30 * 86400.0}}
    assert "reads" not in data_spec(FeatureView("v", entities=[user], transform=text, schema=[Field("t", Float64)]))
    for bad, wanted in [({"user": Lookback("1d")}, "reads names 'user', which the view does not read"),
                        ({"users": "30d"}, r"reads\['users'\] must be a Lookback"),
                        (["users"], "reads must be a dict")]:
        with pytest.raises(DefinitionError, match=wanted):
            FeatureView("v", entities=[user], transform=text, schema=[Field("t", Float64)], reads=bad)
    for bad in ("-1d", "0s", "soon"):
        with pytest.raises(DefinitionError, match="Lookback"):
            Lookback(bad)


def test_a_lookback_on_a_snapshot_is_refused(dims):
    path = dims.root / "features/views.py"
    path.write_text(path.read_text().replace("transform=sql('''SELECT t.user_id, t.event_ts, s.segment",
                                             "reads={'segments': Lookback('1d')},\n    "
                                             "transform=sql('''SELECT t.user_id, t.event_ts, s.segment")
                    .replace("FeatureView, Field,", "FeatureView, Field, Lookback,"))
    messages = problems_of(dims.analyze(), "segmented")
    assert any(m.startswith("reads['segments']: 'segments' is a snapshot") for m in messages), messages
