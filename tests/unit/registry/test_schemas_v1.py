"""The registry's v1 wire format: JSON round trips, unknown fields ignored, and the frozen list of v1 fields."""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

from aquifer.registry import schemas
from aquifer.registry.schemas import v1

T0 = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)

# The fields of v1 as released, with their wire types ("?" = may be null). Within v1 this list only grows:
# a field may be added to a model (with a default) and then here, but nothing listed may go or change type.
FROZEN_V1: dict[str, dict[str, str]] = {
    "Definition": {
        "schema_version": "'1'", "project": "str", "kind": "str", "name": "str", "version": "int",
        "data_fingerprint": "str", "meta_fingerprint": "str", "spec": "dict[str, Any]", "location": "str?",
        "created_at": "AwareDatetime", "updated_at": "AwareDatetime", "applied_by": "str?",
    },
    "DefinitionSummary": {
        "schema_version": "'1'", "project": "str", "kind": "str", "name": "str", "version": "int",
        "description": "str?", "owner": "str?", "tags": "dict[str, str]", "fields": "list[str]", "location": "str?",
        "created_at": "AwareDatetime", "updated_at": "AwareDatetime",
    },
    "DefinitionVersion": {
        "schema_version": "'1'", "project": "str", "kind": "str", "name": "str", "version": "int", "change": "str",
        "data_fingerprint": "str", "meta_fingerprint": "str", "spec": "dict[str, Any]", "location": "str?",
        "project_version": "int", "created_at": "AwareDatetime", "applied_by": "str?",
    },
    "Change": {"kind": "str", "name": "str", "old_version": "int?", "new_version": "int?"},
    "Diff": {
        "schema_version": "'1'", "project": "str", "base_version": "int", "added": "list[Change]",
        "removed": "list[Change]", "changed_data": "list[Change]", "changed_meta": "list[Change]",
        "unchanged": "list[Change]", "edges_changed": "bool", "column_edges_changed": "bool",
    },
    "ApplyResult": {
        "schema_version": "'1'", "project": "str", "version": "int", "diff": "Diff", "applied_at": "AwareDatetime",
        "applied_by": "str?",
    },
    "LineageNode": {"kind": "str", "name": "str", "version": "int?"},
    "LineageEdge": {"from_kind": "str", "from_name": "str", "to_kind": "str", "to_name": "str"},
    "ColumnEdge": {"from_node": "str", "from_column": "str", "to_node": "str", "to_column": "str"},
    "Lineage": {
        "schema_version": "'1'", "project": "str", "project_version": "int", "nodes": "list[LineageNode]",
        "edges": "list[LineageEdge]", "column_edges": "list[ColumnEdge]",
    },
    "RunRecord": {
        "schema_version": "'1'", "id": "int", "project": "str", "view": "str", "kind": "str",
        "start": "AwareDatetime?", "end": "AwareDatetime?", "status": "str", "rows_in": "int?", "rows_out": "int?",
        "started_at": "AwareDatetime", "finished_at": "AwareDatetime?", "duration_s": "float?", "error": "str?",
        "details": "dict[str, Any]?",
    },
    "LedgerInterval": {"data_fingerprint": "str", "start": "AwareDatetime", "end": "AwareDatetime"},
    "Ledger": {"schema_version": "'1'", "project": "str", "view": "str", "kind": "str",
               "intervals": "list[LedgerInterval]"},
    "Statistic": {
        "schema_version": "'1'", "id": "int", "project": "str", "view": "str", "feature": "str",
        "stats": "dict[str, Any]", "computed_at": "AwareDatetime", "range_start": "AwareDatetime?",
        "range_end": "AwareDatetime?", "run_kind": "str?", "run_id": "int?",
    },
    "Suite": {
        "schema_version": "'1'", "id": "int", "project": "str", "view": "str", "version": "int",
        "suite": "dict[str, Any]", "created_at": "AwareDatetime",
    },
    "TrainingFrameRecord": {
        "schema_version": "'1'", "id": "str", "project": "str", "features": "list[str]", "rows": "int",
        "details": "dict[str, Any]?", "created_at": "AwareDatetime",
    },
    "DriftResult": {
        "schema_version": "'1'", "id": "int", "project": "str", "view": "str", "feature": "str",
        "training_id": "str?", "metrics": "dict[str, Any]", "breached": "bool", "computed_at": "AwareDatetime",
    },
    "ValidationResult": {
        "schema_version": "'1'", "id": "int", "project": "str", "view": "str", "success": "bool",
        "results": "dict[str, Any]", "created_at": "AwareDatetime",
    },
    "Alert": {
        "schema_version": "'1'", "id": "int", "project": "str", "kind": "str", "subject": "str", "severity": "str",
        "message": "str", "details": "dict[str, Any]?", "created_at": "AwareDatetime",
    },
}

MODELS: tuple[type[BaseModel], ...] = (*v1.DOCUMENTS, *v1.PARTS)


def wire_type(annotation: Any) -> str:
    """A field's type in the notation of ``FROZEN_V1``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        assert len(rest) == 1 and len(args) == 2, f"only ``X | None`` unions are v1 types, got {annotation!r}"
        return wire_type(rest[0]) + "?"
    if origin is Literal:
        return ", ".join(repr(a) for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(wire_type(a) for a in args)}]"
    if annotation is Any:
        return "Any"
    return annotation.__name__


def samples() -> dict[str, BaseModel]:
    """One fully populated instance of every v1 model (nested parts included)."""
    spec = {"kind": "feature_view", "name": "spend", "location": "features/spend.py:12",
            "data": {"transform": {"kind": "sql", "text": "SELECT 1"},
                     "schema": [{"name": "amount", "dtype": "float64"}]},
            "meta": {"description": "Spend", "owner": "risk@acme", "tags": {"team": "risk"}, "ttl": 86400.0}}
    change = v1.Change(kind="feature_view", name="spend", old_version=1, new_version=2)
    diff = v1.Diff(project="p", base_version=1, changed_data=[change], added=[
        v1.Change(kind="entity", name="user", old_version=None, new_version=1)], edges_changed=True)
    node = v1.LineageNode(kind="feature_view", name="spend", version=2)
    edge = v1.LineageEdge(from_kind="batch_source", from_name="tx", to_kind="feature_view", to_name="spend")
    column = v1.ColumnEdge(from_node="tx", from_column="amount", to_node="spend", to_column="amount")
    interval = v1.LedgerInterval(data_fingerprint="abc", start=T0, end=T0 + timedelta(days=1))
    built: list[BaseModel] = [
        v1.Definition(project="p", kind="feature_view", name="spend", version=2, data_fingerprint="d2",
                      meta_fingerprint="m2", spec=spec, location="features/spend.py:12", created_at=T0,
                      updated_at=T0 + timedelta(hours=1), applied_by="ana@laptop"),
        v1.DefinitionSummary(project="p", kind="feature_view", name="spend", version=2, description="Spend",
                             owner="risk@acme", tags={"team": "risk"}, fields=["amount"], location=None, created_at=T0,
                             updated_at=T0),
        v1.DefinitionVersion(project="p", kind="feature_view", name="spend", version=2, change="data",
                             data_fingerprint="d2", meta_fingerprint="m2", spec=spec, location=None, project_version=3,
                             created_at=T0, applied_by=None),
        change, diff,
        v1.ApplyResult(project="p", version=2, diff=diff, applied_at=T0, applied_by="ci@runner"),
        node, edge, column,
        v1.Lineage(project="p", project_version=3, nodes=[node, v1.LineageNode(kind="entity", name="x", version=None)],
                   edges=[edge], column_edges=[column]),
        v1.RunRecord(id=7, project="p", view="spend", kind="batch", start=T0, end=T0 + timedelta(days=1),
                     status="succeeded", rows_in=10, rows_out=7, started_at=T0, finished_at=T0 + timedelta(seconds=3),
                     duration_s=3.25, error=None, details={"owner": {"host": "h", "pid": 1}, "dropped_null_keys": 2}),
        interval,
        v1.Ledger(project="p", view="spend", kind="batch", intervals=[interval]),
        v1.Statistic(id=1, project="p", view="spend", feature="amount", stats={"mean": 2.5, "histogram": [1, 2]},
                     computed_at=T0),
        v1.ValidationResult(id=2, project="p", view="spend", success=False, results={"failed": ["amount >= 0"]},
                            created_at=T0),
        v1.Suite(id=4, project="p", view="spend", version=1, suite={"name": "spend", "expectations": []},
                 created_at=T0),
        v1.TrainingFrameRecord(id="tf-1", project="p", features=["spend:amount"], rows=10, details=None,
                               created_at=T0),
        v1.DriftResult(id=5, project="p", view="spend", feature="amount", training_id="tf-1",
                       metrics={"psi": 0.3, "ks": 0.2}, breached=True, computed_at=T0),
        v1.Alert(id=3, project="p", kind="drift", subject="spend:amount", severity="warning", message="PSI 0.3",
                 details={"psi": 0.3}, created_at=T0),
    ]
    return {type(m).__name__: m for m in built}


def test_every_model_has_a_frozen_field_list_and_a_sample() -> None:
    names = {m.__name__ for m in MODELS}
    assert names == set(FROZEN_V1) == set(samples())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_no_v1_field_is_removed_or_retyped(model: type[BaseModel]) -> None:
    fields = model.model_fields
    for name, wire in FROZEN_V1[model.__name__].items():
        assert name in fields, f"v1 field {model.__name__}.{name} was removed; a breaking change needs v2"
        assert wire_type(fields[name].annotation) == wire, f"v1 field {model.__name__}.{name} was retyped"
    for name, field in fields.items():
        if name not in FROZEN_V1[model.__name__]:
            assert not field.is_required(), f"{model.__name__}.{name} was added to v1 without a default"


@pytest.mark.parametrize("name", sorted(FROZEN_V1))
def test_json_round_trip(name: str) -> None:
    model = samples()[name]
    text = model.model_dump_json()
    back = type(model).model_validate_json(text)
    assert back == model
    assert back.model_dump_json() == text


def test_documents_carry_the_schema_version_first_and_parts_do_not() -> None:
    assert schemas.SCHEMA_VERSION == v1.SCHEMA_VERSION == "1"
    for name, model in samples().items():
        keys = list(json.loads(model.model_dump_json()))
        if isinstance(model, v1.Document):
            assert keys[0] == "schema_version" and model.schema_version == "1", name
        else:
            assert "schema_version" not in keys, name


def test_times_are_utc_iso_and_naive_times_are_refused() -> None:
    run = samples()["RunRecord"]
    assert json.loads(run.model_dump_json())["started_at"] == "2024-03-01T12:30:15.123456Z"
    with pytest.raises(ValidationError, match="timezone"):
        v1.LedgerInterval(data_fingerprint="f", start=datetime(2024, 1, 1), end=T0)


def test_a_reader_ignores_unknown_fields_at_every_level() -> None:
    apply = samples()["ApplyResult"]
    document = json.loads(apply.model_dump_json())
    document["added_in_v1_9"] = {"anything": [1, 2]}
    document["diff"]["reviewers"] = ["bo"]
    document["diff"]["changed_data"][0]["reason"] = "transform edited"
    back = v1.ApplyResult.model_validate_json(json.dumps(document))
    assert back == apply
    assert "added_in_v1_9" not in back.model_dump()


def test_a_v1_reader_refuses_another_version() -> None:
    document = json.loads(samples()["Alert"].model_dump_json())
    document["schema_version"] = "2"
    with pytest.raises(ValidationError, match="schema_version"):
        v1.Alert.model_validate_json(json.dumps(document))


def test_models_are_frozen() -> None:
    run = samples()["RunRecord"]
    with pytest.raises(ValidationError, match="frozen"):
        run.status = "failed"  # type: ignore[misc]


def test_diff_has_changes() -> None:
    assert samples()["Diff"].has_changes
    assert not v1.Diff(project="p", base_version=0).has_changes
