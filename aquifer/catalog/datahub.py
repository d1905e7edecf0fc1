"""DataHub: feature tables, features and primary keys as metadata-change proposals (MCPs), on every apply.

Each view is an ``mlFeatureTable`` (properties, ownership, tags), each of its features an ``mlFeature`` and each
join key of its entities an ``mlPrimaryKey``, with the upstream datasets as their sources; a view removed by
the apply gets ``status: {removed: true}``. Proposals follow DataHub's documented JSON shape: written one per
line to ``path`` the way DataHub's file sink writes them (``aspect: {json: ...}``, readable by its ``file``
source), or POSTed to the GMS REST endpoint ``url`` (``/aspects?action=ingestProposalBatch``, aspect values
serialized as JSON text). Runs are not sent (DataHub gets run lineage through OpenLineage).
"""

from __future__ import annotations

import json
import os
from typing import Any

from aquifer.catalog.describe import DatasetRef, Describer, ViewDescription
from aquifer.catalog.http import post_json
from aquifer.catalog.notices import ApplyNotice, RunNotice

# aquifer type name -> DataHub MLFeatureDataType (as DataHub's Feast source maps Feast's types)
DATA_TYPES = {"Int32": "ORDINAL", "Int64": "ORDINAL", "Float32": "CONTINUOUS", "Float64": "CONTINUOUS",
              "String": "TEXT", "Bool": "BINARY", "Bytes": "BYTE", "Timestamp": "TIME"}
BATCH = 100  # proposals per REST request


class DataHubHook:
    """Writes MCPs as JSON lines to ``path`` or POSTs them to DataHub's GMS at ``url``."""

    def __init__(self, name: str, path: str | None = None, url: str | None = None, token_env: str | None = None,
                 platform: str = "aquifer", env: str = "PROD", timeout_s: float = 10.0):
        self.name, self.path, self.url = name, path, (url or "").rstrip("/") or None
        self.platform, self.env, self.timeout_s = platform, env, float(timeout_s)
        self.token_env = token_env

    def on_apply(self, notice: ApplyNotice) -> None:
        """Send every view's feature table, features and primary keys (and removals)."""
        found = proposals(notice.describer, platform=self.platform, env=self.env,
                          removed=notice.changes.get("removed", ()))
        if self.path:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.writelines(json.dumps(p, sort_keys=True) + "\n" for p in found)
            return
        headers = {"X-RestLi-Protocol-Version": "2.0.0"}
        token = os.environ.get(self.token_env) if self.token_env else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for i in range(0, len(found), BATCH):
            body = {"proposals": [rest_proposal(p) for p in found[i:i + BATCH]]}
            post_json(f"{self.url}/aspects?action=ingestProposalBatch", body, headers=headers,
                      timeout_s=self.timeout_s)

    def on_run(self, notice: RunNotice) -> None:
        """Nothing: DataHub hears runs through an OpenLineage hook."""


def rest_proposal(mcp: dict[str, Any]) -> dict[str, Any]:
    """A file-form MCP (``aspect: {json: ...}``) in the REST form (``aspect: {value: "<json>", contentType}``)."""
    out = {k: v for k, v in mcp.items() if k != "aspect"}
    out["aspect"] = {"value": json.dumps(mcp["aspect"]["json"], sort_keys=True), "contentType": "application/json"}
    return out


def table_urn(platform: str, project: str, view: str) -> str:
    """``urn:li:mlFeatureTable:(urn:li:dataPlatform:aquifer,project.view)``."""
    return f"urn:li:mlFeatureTable:(urn:li:dataPlatform:{platform},{project}.{view})"


def feature_urn(project: str, view: str, feature: str) -> str:
    """``urn:li:mlFeature:(project.view,feature)``."""
    return f"urn:li:mlFeature:({project}.{view},{feature})"


def primary_key_urn(project: str, entity: str, key: str) -> str:
    """``urn:li:mlPrimaryKey:(project.entity,join_key)``."""
    return f"urn:li:mlPrimaryKey:({project}.{entity},{key})"


def dataset_urn(describer: Describer, ref: DatasetRef, platform: str, env: str) -> str:
    """The DataHub dataset URN of a source or view."""
    where = {"file": "file", "topic": "kafka", "table": platform, "view": platform}.get(ref.location_kind, platform)
    name = f"{describer.project}.{ref.name}" if ref.location_kind == "view" else ref.location
    return f"urn:li:dataset:(urn:li:dataPlatform:{where},{name},{env})"


def _mcp(entity_type: str, urn: str, aspect_name: str, aspect: dict[str, Any]) -> dict[str, Any]:
    return {"entityType": entity_type, "entityUrn": urn, "changeType": "UPSERT", "aspectName": aspect_name,
            "aspect": {"json": aspect}}


def proposals(describer: Describer, *, platform: str = "aquifer", env: str = "PROD",
              removed: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every MCP describing the repo's views (file form), primary keys first, then features, then tables."""
    project = describer.project
    keys: dict[str, dict[str, Any]] = {}
    features: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    for view in describer.views():
        desc = describer.view(view)
        sources = [dataset_urn(describer, d, platform, env) for d in desc.inputs]
        key_urns = _primary_keys(describer, desc, sources, keys)
        feature_urns = []
        for f in desc.features:
            urn = feature_urn(project, view, f.name)
            feature_urns.append(urn)
            features.append(_mcp("mlFeature", urn, "mlFeatureProperties", {
                "description": f.description or None, "dataType": DATA_TYPES.get(f.type, "UNKNOWN"),
                "sources": sources}))
        urn = table_urn(platform, project, view)
        tables.append(_mcp("mlFeatureTable", urn, "mlFeatureTableProperties", {
            "description": desc.description or None, "mlFeatures": feature_urns, "mlPrimaryKeys": key_urns,
            "customProperties": {"project": project, "kind": desc.kind, "timestamp_field": desc.timestamp_field,
                                 "online": str(desc.online).lower(), "transform": desc.transform or "none"}}))
        if desc.owner:
            tables.append(_mcp("mlFeatureTable", urn, "ownership", {
                "owners": [{"owner": f"urn:li:corpuser:{desc.owner}", "type": "DATAOWNER"}],
                "lastModified": {"time": 0, "actor": "urn:li:corpuser:aquifer"}}))
        if desc.tags:
            tags = [f"urn:li:tag:{k}:{v}" if v else f"urn:li:tag:{k}" for k, v in sorted(desc.tags.items())]
            tables.append(_mcp("mlFeatureTable", urn, "globalTags", {"tags": [{"tag": t} for t in tags]}))
        tables.append(_mcp("mlFeatureTable", urn, "status", {"removed": False}))
    for view in removed:
        tables.append(_mcp("mlFeatureTable", table_urn(platform, project, view), "status", {"removed": True}))
    for mcp in features:  # DataHub drops null optional fields; so do we
        mcp["aspect"]["json"] = {k: v for k, v in mcp["aspect"]["json"].items() if v is not None}
    for mcp in tables:
        mcp["aspect"]["json"] = {k: v for k, v in mcp["aspect"]["json"].items() if v is not None}
    return list(keys.values()) + features + tables


def _primary_keys(describer: Describer, desc: ViewDescription, sources: list[str],
                  keys: dict[str, dict[str, Any]]) -> list[str]:
    types = {f.name: f.type for f in desc.fields if f.role == "key"}
    out = []
    entities = describer.analysis.entities
    for entity_name in desc.entities:
        entity = entities.get(entity_name)
        for key in (entity.join_keys if entity is not None else ()):
            urn = primary_key_urn(describer.project, entity_name, key)
            out.append(urn)
            if urn not in keys:
                aspect: dict[str, Any] = {"dataType": DATA_TYPES.get(types.get(key, "Int64"), "UNKNOWN"),
                                          "sources": list(sources)}
                if entity is not None and entity.description:
                    aspect["description"] = entity.description
                keys[urn] = _mcp("mlPrimaryKey", urn, "mlPrimaryKeyProperties", aspect)
            else:  # a key shared by several views: every view's upstreams are its sources
                known = keys[urn]["aspect"]["json"]["sources"]
                known.extend(s for s in sources if s not in known)
    return out
