"""The registry's wire format: versioned models of what the registry returns (definitions, lineage, runs, ...).

``Registry`` read methods return models of the current version, ``v1`` (``aquifer.registry.schemas.v1``);
the REST API, the web UI and catalog emitters serialize them as they are (``model_dump_json``) and read
them back with ``model_validate_json``. Every standalone document carries ``schema_version``.

Compatibility rule:

- Within a version, fields may be **added** (optional, with a default) but never removed, renamed or
  retyped, and their meaning never changes. Enumerations held in strings (kinds, statuses, severities) may
  gain values.
- Readers **ignore unknown fields** (every model does) and accept enumeration values they do not know.
- A breaking change makes a new version (``v2``) **alongside** ``v1``; the registry keeps serving ``v1``
  for one minor release after ``v2`` appears, then ``v1`` may go.

``tests/unit/registry/test_schemas_v1.py`` holds the frozen list of v1 fields and fails when one is removed
or retyped, or when a field is added without a default.
"""

from aquifer.registry.schemas import v1

SCHEMA_VERSION = v1.SCHEMA_VERSION
"""The version the registry serves today."""

__all__ = ["SCHEMA_VERSION", "v1"]
