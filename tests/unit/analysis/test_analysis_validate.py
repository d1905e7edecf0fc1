"""Whole-graph validation: every problem at once, each with its definition's name and file:line."""

from __future__ import annotations

from aquifer.analysis import Problem

BAD = """
user = Entity("user", join_keys=["user_id"])
account = Entity("account", join_keys=["account_id"])
txns = BatchSource("txns", path="data/transactions.parquet")
odd_ts = BatchSource("odd_ts", path="data/transactions.parquet", timestamp_field="happened_at")  # TS
stream_only = KafkaSource("stream_only", topic="events")
typo = FeatureView("typo", entities=[user], schema=[Field("amount", Float64)],  # TYPO
                   transform=sql("SELECT user_id, event_ts, amount FROM {txn}"))
bad_col = FeatureView("bad_col", entities=[user], schema=[Field("amout", Float64)],  # COL
                      transform=sql("SELECT user_id, event_ts, amout FROM {txns}"))
broken = FeatureView("broken", entities=[user], schema=[Field("a", Float64)],  # SYNTAX
                     transform=sql("SELECT user_id FROM {txns} WHERE ("))
no_key = FeatureView("no_key", entities=[account], schema=[Field("amount", Float64)],  # KEY
                     transform=sql("SELECT user_id, event_ts, amount FROM {txns}"))
clash = FeatureView("clash", entities=[user], source=txns, schema=[Field("amount", Int64)])  # CLASH
lacks = FeatureView("lacks", entities=[user], schema=[Field("amount", Float64)],  # LACKS
                    transform=sql("SELECT user_id, event_ts FROM {txns}"))
streamed = FeatureView("streamed", entities=[user], source=stream_only, schema=[Field("amount", Float64)])  # KAFKA
windows = AggregationView(
    "windows", entities=[user], source=txns,
    aggregations=[
        Aggregation("amount", "medain", Tumbling("1h")),  # FN
        Aggregation("amount", "sum", Sliding("1h", every="2h")),  # WINDOW
        Aggregation("amnt", "sum", Tumbling("1h")),  # AGGCOL
    ],
)


@feature_view(entities=[user], schema=[Field("z", Float64)])  # PY
def py_view(clash, nothing_here):
    return clash


svc = FeatureService("svc", features=[clash[["amount", "amont"]]])  # SVC
"""

DUP = """
txns = BatchSource("txns", path="data/other.parquet")  # DUP
"""


def test_every_error_at_once_with_its_location(repo):
    repo.data().write({"features/bad.py": BAD, "features/dup.py": DUP})
    repo.write({"features/broken_module.py": "def oops(:\n    pass\n"}, header=False)
    result = repo.analyze()
    bad = "features/bad.py"
    expected = [
        ("", f"{repo.root / 'features/broken_module.py'}:1", "syntax error"),
        ("txns", repo.loc("features/dup.py", "DUP"), "duplicate name"),
        ("odd_ts", repo.loc(bad, "TS"), "timestamp_field 'happened_at' is not a column of 'odd_ts'"),
        ("typo", repo.loc(bad, "TYPO"), "SQL reads {txn}, but there is no source or view named 'txn' "
                                        "(did you mean 'txns'?)"),
        ("bad_col", repo.loc(bad, "COL"), "SQL reads column 'amout', which {txns} does not have "
                                          "(did you mean 'amount'?)"),
        ("broken", repo.loc(bad, "SYNTAX"), "SQL syntax error at line 1"),
        ("no_key", repo.loc(bad, "KEY"), "join key 'account_id' of entity 'account'"),
        ("clash", repo.loc(bad, "CLASH"), "type clash: 'amount' is declared Int64 but column 'amount' of 'txns' "
                                          "gives Float64"),
        ("lacks", repo.loc(bad, "LACKS"), "the SQL does not produce field 'amount'"),
        ("streamed", repo.loc(bad, "KAFKA"), "cannot be computed in batch"),
        ("windows", repo.loc(bad, "FN"), "unknown aggregation function 'medain'"),
        ("windows", repo.loc(bad, "WINDOW"), "sliding window step 2h is larger than its size 1h"),
        ("windows", repo.loc(bad, "AGGCOL"), "reads column 'amnt', which 'txns' does not have"),
        ("py_view", repo.loc(bad, "PY"), "parameter 'nothing_here' of py_view() names no source or view"),
        ("svc", repo.loc(bad, "SVC"), "asks for clash:amont, but view 'clash' has no feature 'amont' "
                                      "(did you mean 'amount'?)"),
    ]
    for name, location, text in expected:
        matches = [p for p in result.problems if p.name == name and text in p.message]
        assert matches, f"missing {name}: {text}\n" + "\n".join(map(str, result.problems))
        assert matches[0].location == location, str(matches[0])
    assert len(result.errors) == len(expected), "\n".join(map(str, result.problems))
    assert not result.ok


def test_problem_str_is_file_line_name_message():
    assert str(Problem("v", "f.py:3", "broken")) == "f.py:3: v: broken"
    assert str(Problem("v", None, "broken", "warning")) == "warning: v: broken"


def test_missing_parquet_is_not_an_error_and_columns_stay_unknown(repo):
    repo.write({"features/v.py": """
        user = Entity("user", join_keys=["user_id"])
        later = BatchSource("later", path="data/not_yet.parquet")
        v = FeatureView("v", entities=[user], transform=sql("SELECT user_id, event_ts, whatever FROM {later}"),
                        schema=[Field("whatever", Float64)])
    """})
    result = repo.analyze()
    assert result.ok, [str(p) for p in result.problems]
    assert "later" not in result.columns
    assert result.columns["v"]["whatever"].name == "Float64"


def test_directory_of_parquet_files_and_declared_schema(repo):
    repo.data("data/landed/part-0.parquet").write({"features/v.py": """
        user = Entity("user", join_keys=["user_id"])
        landed = BatchSource("landed", path="data/landed")
        declared = BatchSource("declared", table="db.t", schema=[Field("user_id", Int64), Field("ts", Timestamp)],
                               timestamp_field="ts")
        v = FeatureView("v", entities=[user], transform=sql(
            "SELECT l.user_id, l.event_ts, l.amount, d.ts AS seen FROM {landed} l JOIN {declared} d USING (user_id)"),
            schema=[Field("amount", Float64), Field("seen", Timestamp)])
    """})
    result = repo.analyze()
    assert result.ok, [str(p) for p in result.problems]
    assert set(result.columns["landed"]) == {"user_id", "event_ts", "amount", "country"}
    assert ("declared", "ts", "v", "seen") in result.column_edges


def test_sql_type_clash_and_entity_name_used_as_upstream(repo):
    repo.data().write({"features/v.py": """
        user = Entity("user", join_keys=["user_id"])
        transactions = BatchSource("transactions", path="data/transactions.parquet")
        v = FeatureView("v", entities=[user], transform=sql(
            "SELECT user_id, event_ts, amount > 1 AS flag FROM {transactions}"),
            schema=[Field("flag", Float64)])
        w = FeatureView("w", entities=[user], transform=sql("SELECT * FROM {user}"), schema=[Field("x", Int64)])
    """})
    messages = [p.message for p in repo.analyze().problems]
    assert "type clash: 'flag' is declared Float64 but the SQL gives Bool" in messages
    assert any("{user}" in m and "'user' is an entity" in m for m in messages)


def test_kafka_only_aggregation_is_a_warning(repo):
    repo.write({"features/v.py": """
        user = Entity("user", join_keys=["user_id"])
        events = KafkaSource("events", topic="t", schema=[Field("user_id", Int64), Field("event_ts", Timestamp),
                                                           Field("amount", Float64)])
        w = AggregationView("w", entities=[user], source=events,
                            aggregations=[Aggregation("amount", "sum", Tumbling("1h"))])
    """})
    result = repo.analyze()
    assert result.ok
    assert [p.name for p in result.warnings] == ["w"]
    assert "needs batch_source for batch/backfill" in result.warnings[0].message


def test_a_kafka_source_with_epoch_times_reads_them_with_its_own_unit(repo):
    repo.write({"features/v.py": """
        user = Entity("user", join_keys=["user_id"])
        epoch = KafkaSource("epoch", topic="t", timestamp_field="ts", timestamp_unit="ms",
                            schema=[Field("user_id", Int64), Field("ts", Int64), Field("amount", Float64)])
        unitless = KafkaSource("unitless", topic="u", timestamp_field="ts",
                               schema=[Field("user_id", Int64), Field("ts", Int64), Field("amount", Float64)])
    """})
    problems = repo.analyze().errors
    assert [p.name for p in problems] == ["unitless"]
    assert "declare timestamp_unit" in problems[0].message
