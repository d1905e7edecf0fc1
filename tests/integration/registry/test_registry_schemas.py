"""Every read method returns v1 documents that survive JSON, from real rows on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import inspect, select, text, update

from aquifer.registry import Entry, Registry, Snapshot
from aquifer.registry import schema as t
from aquifer.registry.schemas import v1

T0 = datetime(2024, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def spec(kind: str, name: str, description: str, fields: tuple[str, ...] = ()) -> dict:
    meta = {"description": description, "owner": "risk@acme", "tags": {"team": "risk"},
            "fields": [{"name": f, "default": None, "description": None} for f in fields]}
    return {"kind": kind, "name": name, "location": f"features/{name}.py:1", "data": {"n": name}, "meta": meta}


def snapshot(description: str = "Spend per user", data: str = "d1") -> Snapshot:
    entries = [
        Entry("entity", "user", "du", "mu", spec("entity", "user", "A customer"), "features/user.py:1"),
        Entry("batch_source", "tx", "dt", "mt", spec("batch_source", "tx", "Payments", ("amount",)), None),
        Entry("feature_view", "spend", data, description, spec("feature_view", "spend", description, ("amount",)),
              "features/spend.py:1"),
    ]
    edges = [("batch_source", "tx", "feature_view", "spend"), ("entity", "user", "feature_view", "spend"),
             ("feature_view", "spend", "feature_service", "model_v1")]
    return Snapshot(entries, edges, [("tx", "amount", "spend", "amount")])


def round_trips(model: BaseModel) -> None:
    """``model`` comes back equal from its JSON, and the JSON says which version it is when it is a document."""
    text_ = model.model_dump_json()
    assert type(model).model_validate_json(text_) == model
    if isinstance(model, v1.Document):
        assert json.loads(text_)["schema_version"] == "1"


def test_definition_reads_are_v1_documents(registry: Registry) -> None:
    first = registry.apply("p", snapshot(), applied_by="ana@laptop")
    second = registry.apply("p", snapshot("Spend per user, in EUR", data="d2"), applied_by="ci@runner")
    assert isinstance(first, v1.ApplyResult) and first.applied_by == "ana@laptop"
    assert isinstance(second.diff, v1.Diff) and [c.name for c in second.diff.changed_data] == ["spend"]
    plan = registry.plan("p", snapshot())
    for model in (first, second, plan):
        round_trips(model)

    current = registry.definition("p", "feature_view", "spend")
    assert isinstance(current, v1.Definition)
    assert (current.version, current.data_fingerprint, current.applied_by) == (2, "d2", "ci@runner")
    assert current.spec["meta"]["description"] == "Spend per user, in EUR" and current.created_at < current.updated_at
    round_trips(current)

    listed = registry.definitions("p")
    assert all(isinstance(d, v1.DefinitionSummary) for d in listed)
    assert [(d.kind, d.name) for d in listed] == [("batch_source", "tx"), ("entity", "user"), ("feature_view", "spend")]
    spend = listed[2]
    assert (spend.description, spend.owner, spend.tags, spend.fields, spend.version) == (
        "Spend per user, in EUR", "risk@acme", {"team": "risk"}, ["amount"], 2)
    for model in listed:
        round_trips(model)

    history = registry.versions("p", "feature_view", "spend")
    assert [(h.version, h.change, h.project_version, h.applied_by) for h in history] == [
        (1, "added", 1, "ana@laptop"), (2, "data", 2, "ci@runner")]
    assert history[0].created_at == first.applied_at
    for model in history:
        round_trips(model)


def test_lineage_is_one_document_with_nodes_and_column_edges(registry: Registry) -> None:
    registry.apply("p", snapshot())
    lineage = registry.lineage("p")
    assert isinstance(lineage, v1.Lineage) and lineage.project_version == 1
    assert [(n.kind, n.name, n.version) for n in lineage.nodes] == [
        ("batch_source", "tx", 1), ("entity", "user", 1), ("feature_service", "model_v1", None),
        ("feature_view", "spend", 1)]
    assert lineage.edges == registry.edges("p") and len(lineage.edges) == 3
    assert lineage.column_edges == registry.column_edges("p") == [
        v1.ColumnEdge(from_node="tx", from_column="amount", to_node="spend", to_column="amount")]
    round_trips(lineage)
    assert registry.lineage("nothing") == v1.Lineage(project="nothing", project_version=0, nodes=[], edges=[],
                                                     column_edges=[])


def test_ledger_as_stored(registry: Registry) -> None:
    registry.add_interval("p", "v", T0, T0 + 2 * DAY, data_fingerprint="old")
    registry.add_interval("p", "v", T0 + DAY, T0 + 3 * DAY, data_fingerprint="new")
    registry.add_interval("p", "v", T0, T0 + DAY, kind="materialize")
    ledger = registry.ledger("p", "v")
    assert isinstance(ledger, v1.Ledger) and (ledger.view, ledger.kind) == ("v", "batch")
    assert [(i.data_fingerprint, i.start, i.end) for i in ledger.intervals] == [
        ("old", T0, T0 + DAY), ("new", T0 + DAY, T0 + 3 * DAY)]
    assert registry.intervals("p", "v") == [(T0, T0 + 3 * DAY)]  # what planners read: coalesced
    assert len(registry.ledger("p", "v", kind="materialize").intervals) == 1
    assert registry.ledger("p", "nothing").intervals == []
    round_trips(ledger)


def test_runs_and_observations_are_v1_documents(registry: Registry) -> None:
    done = registry.start_run("p", "v", "batch", T0, T0 + DAY)
    registry.finish_run(done, status="succeeded", rows_in=10, rows_out=7, details={"dropped_null_keys": 2})
    registry.start_run("p", "v", "stream", None, None)
    registry.add_statistics("p", "v", "amount", {"mean": 2.5, "histogram": [1, 2, 3], "p50": None})
    registry.add_validation_result("p", "v", False, {"failed": ["amount >= 0"]})
    registry.add_alert("p", "drift", "v:amount", "warning", "PSI 0.3", {"psi": 0.3})
    registry.add_alert("p", "stale", "v", "error", "no values for 3h")

    runs = registry.runs("p")
    assert [type(r) for r in runs] == [v1.RunRecord, v1.RunRecord] and runs[1].details["dropped_null_keys"] == 2
    assert runs[0].start is None and runs[0].status == "running"
    observed = [*runs, registry.run(done), *registry.statistics("p", "v").values(),
                *registry.validation_results("p", "v"), *registry.alerts("p")]
    assert [type(m).__name__ for m in observed] == [
        "RunRecord", "RunRecord", "RunRecord", "Statistic", "ValidationResult", "Alert", "Alert"]
    assert all(m.project == "p" for m in observed)
    for model in observed:
        round_trips(model)


def test_older_layout_is_migrated_and_reads_without_applied_by(open_registry) -> None:
    """A registry written before ``applied_by`` existed (layout 1) gains the columns on first use."""
    old = open_registry()
    old.apply("p", snapshot(), applied_by="gone@soon")
    with old.db.write() as conn:
        prefix = "" if old.db.schema is None else f'"{old.db.schema}".'
        for table in ("aq_definitions", "aq_definition_versions"):
            conn.execute(text(f"ALTER TABLE {prefix}{table} DROP COLUMN applied_by"))
        for column in ("range_start", "range_end", "run_kind", "run_id"):  # layout 3
            conn.execute(text(f"ALTER TABLE {prefix}aq_statistics DROP COLUMN {column}"))
        conn.execute(update(t.schema_version).values(version=1))
    old.close()  # the last handle disposes the engine, so the next one checks the layout again

    registry = open_registry()
    with registry.db.read() as conn:
        assert conn.execute(select(t.schema_version.c.version)).scalar() == t.LAYOUT_VERSION == 3
        columns = {c["name"] for c in inspect(conn).get_columns("aq_definition_versions", schema=registry.db.schema)}
        stats = {c["name"] for c in inspect(conn).get_columns("aq_statistics", schema=registry.db.schema)}
    assert "applied_by" in columns
    assert {"range_start", "range_end", "run_kind", "run_id"} <= stats
    before = registry.definition("p", "feature_view", "spend")
    assert before is not None and before.applied_by is None and before.version == 1
    registry.apply("p", snapshot("edited"), applied_by="bo@desk")
    assert [v.applied_by for v in registry.versions("p", "feature_view", "spend")] == [None, "bo@desk"]


def test_the_registry_docs_examples_run(tmp_path) -> None:
    doc = Path(__file__).parents[3] / "docs" / "registry.md"
    examples = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert examples
    for code in examples:
        result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
