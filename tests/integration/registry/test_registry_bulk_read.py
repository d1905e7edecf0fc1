"""``Registry.current_definitions``: every current definition with its spec in one query, equal to reading each
one with ``definition`` (SQLite and PostgreSQL)."""

from __future__ import annotations

from aquifer import BatchSource, Entity, FeatureView, Field
from aquifer.definitions.spec import to_spec
from aquifer.registry import Entry, Registry, Snapshot
from aquifer.types import Float64


def test_bulk_read_equals_one_by_one(registry: Registry) -> None:
    user = Entity("user", join_keys=["user_id"], location="x.py:1")
    tx = BatchSource("tx", path="tx.parquet", location="x.py:2")
    views = [FeatureView(f"v{i}", entities=[user], source=tx, schema=[Field("amount", Float64)], location=f"x.py:{i}")
             for i in range(5)]
    defs = [user, tx, *views]
    registry.apply("p", Snapshot([Entry(d.kind, d.name, f"d{i}", f"m{i}", to_spec(d), d.location)
                                  for i, d in enumerate(defs)]))
    registry.apply("p", Snapshot([Entry(d.kind, d.name, f"d{i}", f"m{i}", to_spec(d), d.location)
                                  for i, d in enumerate(defs[:-1])]))  # v4 removed: not current
    bulk = registry.current_definitions("p")
    one_by_one = [registry.definition("p", s.kind, s.name) for s in registry.definitions("p")]
    assert bulk == one_by_one
    assert sorted(d.name for d in bulk) == sorted(["user", "tx", "v0", "v1", "v2", "v3"])
    assert [d.name for d in registry.current_definitions("p", "feature_view")] == ["v0", "v1", "v2", "v3"]
    assert registry.current_definitions("other") == []
