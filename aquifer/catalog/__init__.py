"""Catalog hooks: told of ``apply`` and of every run's start, completion and failure.

Built-in hooks describe the repo to the data catalogs companies run: OpenLineage run and job events
(``openlineage.py``), DataHub metadata-change proposals (``datahub.py``) and a generic JSON webhook
(``webhook.py``), configured under ``catalog.hooks`` in ``aquifer.yaml`` (docs/catalog.md). A failing hook
is logged and counted by ``Hooks``; it never fails a run or an apply. The sdk wires the hooks in (this room
imports no run machinery: it receives ``ApplyNotice`` and ``RunNotice`` values).
"""

from aquifer.catalog.describe import DatasetRef, Describer, ViewDescription
from aquifer.catalog.hooks import CatalogHook, Hooks, build_hooks
from aquifer.catalog.notices import COMPLETE, FAIL, START, ApplyNotice, RunNotice

__all__ = [
    "COMPLETE",
    "FAIL",
    "START",
    "ApplyNotice",
    "CatalogHook",
    "DatasetRef",
    "Describer",
    "Hooks",
    "RunNotice",
    "ViewDescription",
    "build_hooks",
]
