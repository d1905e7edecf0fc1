"""Dependencies, order, cycles and lineage over small repos."""

from __future__ import annotations

from aquifer.analysis import ColumnEdge, NodeRef
from aquifer.analysis.graph import cycles, topological_order
from aquifer.types import Float64, Int64, Timestamp

SOURCES = """
user = Entity("user", join_keys=["user_id"])
transactions = BatchSource("transactions", path="data/transactions.parquet")
"""


def test_sql_view_over_a_view_and_python_view_over_a_sql_view(repo):
    repo.data().write({
        "features/sources.py": SOURCES,
        "features/views.py": """
            from features.sources import transactions, user
            spend = FeatureView("spend", entities=[user], transform=sql(
                "SELECT user_id, event_ts, amount * 2 AS double_amount, amount > 1000 AS is_large FROM {transactions}"),
                schema=[Field("double_amount", Float64), Field("is_large", Bool)])
            big = FeatureView("big", entities=[user], transform=sql(
                "SELECT user_id, event_ts, double_amount AS big_amount FROM {spend} WHERE is_large"),
                schema=[Field("big_amount", Float64)])

            @feature_view(entities=[user], schema=[Field("z", Float64)])
            def spend_z(spend, big):
                return spend
        """,
    })
    result = repo.analyze()
    assert result.ok, [str(p) for p in result.problems]
    assert result.upstreams["big"] == ("spend",)
    assert result.upstreams["spend_z"] == ("spend", "big")
    assert result.downstreams["spend"] == ("big", "spend_z")
    assert result.order == ["spend", "big", "spend_z"]
    # hand-written expectation for the projection + expression view
    assert [e for e in result.column_edges if e.to_node == "spend"] == [
        ColumnEdge("transactions", "user_id", "spend", "user_id"),
        ColumnEdge("transactions", "event_ts", "spend", "event_ts"),
        ColumnEdge("transactions", "amount", "spend", "double_amount"),
        ColumnEdge("transactions", "amount", "spend", "is_large"),
    ]
    assert ColumnEdge("spend", "double_amount", "big", "big_amount") in result.column_edges
    # python views: dependencies only, no column edges
    assert not [e for e in result.column_edges if e.to_node == "spend_z"]
    assert result.columns["spend_z"] == {"user_id": Int64, "event_ts": Timestamp, "z": Float64}


def test_cycle_through_three_views_names_all_of_them(repo):
    repo.write({"features/loop.py": SOURCES + """
X = [Field("x", Int64)]
a = FeatureView("a", entities=[user], transform=sql("SELECT user_id, event_ts, x FROM {c}"), schema=X)  # A
b = FeatureView("b", entities=[user], transform=sql("SELECT user_id, event_ts, x FROM {a}"), schema=X)
c = FeatureView("c", entities=[user], transform=sql("SELECT user_id, event_ts, x FROM {b}"), schema=X)
ok = FeatureView("ok", entities=[user], source=transactions, schema=[Field("amount", Float64)])
"""})
    result = repo.analyze()
    cycle = [p for p in result.problems if "cycle" in p.message]
    assert len(cycle) == 1
    assert "a → b → c → a" in cycle[0].message
    assert cycle[0].name == "a" and cycle[0].location == repo.loc("features/loop.py", "A")
    assert result.order == []
    assert not result.ok


def test_graph_helpers():
    ups = {"s": (), "a": ("s", "c"), "b": ("a",), "c": ("b",), "self": ("self",), "d": ("s",)}
    assert cycles(ups) == [["a", "b", "c", "a"], ["self", "self"]]
    assert topological_order(ups) is None
    assert topological_order({"s": (), "b": ("a",), "a": ("s",), "x": ("s", "b")}) == ["s", "a", "b", "x"]


def test_lineage_subgraph_with_depth(repo):
    repo.write({"features/chain.py": SOURCES + """
v1 = FeatureView("v1", entities=[user], source=transactions, schema=[Field("amount", Float64)])
v2 = FeatureView("v2", entities=[user], transform=sql("SELECT user_id, event_ts, amount FROM {v1}"),
                 schema=[Field("amount", Float64)])
v3 = FeatureView("v3", entities=[user], transform=sql("SELECT user_id, event_ts, amount FROM {v2}"),
                 schema=[Field("amount", Float64)])
svc = FeatureService("svc", features=[v3])
"""})
    result = repo.analyze()
    assert result.ok, [str(p) for p in result.problems]
    whole = result.lineage("v2")
    assert {n.name for n in whole.nodes} == {"transactions", "v1", "v2", "v3", "svc"}
    assert (NodeRef("feature_view", "v3"), NodeRef("feature_service", "svc")) in whole.edges
    assert ColumnEdge("v1", "amount", "v2", "amount") in whole.column_edges
    near = result.lineage("v2", depth=1)
    assert {n.name for n in near.nodes} == {"v1", "v2", "v3"}
    assert all(e.from_node in {"v1", "v2"} for e in near.column_edges)
    assert {n.name for n in result.lineage("svc").nodes} == {"transactions", "v1", "v2", "v3", "svc"}
