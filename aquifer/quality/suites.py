"""Great Expectations 1.x suites: built from a view's expectations, stored as their JSON, run on pandas samples.

``build_suite`` gives a real ``gx.ExpectationSuite`` (``to_json_dict()`` is what the registry stores) and
``read_suite`` reads stored JSON back into aquifer's ``ColumnExpectation``s, which engines translate into their
own predicates. GX runs here only for *aggregate* expectations (mean, standard deviation, quantiles): each is
one number per column, so a bounded sample in the driver answers it, whereas GX's row-level pandas path would
need every row of the range in the driver. GX is imported lazily (it takes seconds) and runs in one
ephemeral context per process with its progress bars off.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aquifer.quality.expectations import GX_TYPES, ColumnExpectation, from_suite_dict, suite_dict, to_gx_dicts
from aquifer.quality.validation import ExpectationResult, missing_column

if TYPE_CHECKING:
    import pandas as pd

_LOCK = threading.Lock()
_CONTEXT: Any = None
_NAMES = itertools.count()


def gx_context() -> Any:
    """This process's ephemeral GX context (analytics and progress bars off)."""
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
            _skip_decimal_scan_of_typed_arrays()
            _CONTEXT = context
        return _CONTEXT


def _skip_decimal_scan_of_typed_arrays() -> None:
    """GX's pandas mean, stddev and sum look for ``decimal.Decimal`` values by testing every element of the column
    in Python, whatever its dtype: 60% of GX's time on a 100k-row sample of 16 float columns (0.25 s of 0.4 in
    ``bench/quality.py``). Only an object array can hold a Decimal: the others skip the scan; object arrays are
    scanned as GX does. Same answers (``tests/unit/quality/test_quality_expectations.py``)."""
    from great_expectations import util

    scan = util.does_ndarray_contain_decimal_dtype
    if getattr(scan, "aquifer", False):
        return

    def typed_arrays_hold_no_decimals(data: Any) -> bool:
        return getattr(getattr(data, "dtype", None), "kind", None) == "O" and scan(data)

    typed_arrays_hold_no_decimals.aquifer = True  # type: ignore[attr-defined]
    util.does_ndarray_contain_decimal_dtype = typed_arrays_hold_no_decimals


def suite_name(project: str, view: str) -> str:
    """``project.view``: the GX suite's name."""
    return f"{project}.{view}"


def build_suite(name: str, expectations: Sequence[ColumnExpectation], meta: Mapping[str, Any] | None = None) -> Any:
    """A GX ``ExpectationSuite`` holding ``expectations`` (each tagged with its aquifer name and source)."""
    gx_context()
    import great_expectations as gx

    return gx.ExpectationSuite(**suite_dict(name, expectations, meta))


def suite_json(suite: Any) -> dict[str, Any]:
    """A GX suite as the JSON dict the registry stores."""
    return suite.to_json_dict()


def read_suite(suite: Mapping[str, Any]) -> tuple[list[ColumnExpectation], list[str]]:
    """Stored suite JSON back as ``(expectations, notes)``; a GX expectation aquifer cannot run becomes a note."""
    return from_suite_dict(suite)


def from_json(suite: Mapping[str, Any]) -> Any:
    """A stored suite JSON as a GX ``ExpectationSuite`` again (round trip of ``suite_json``)."""
    gx_context()
    import great_expectations as gx

    return gx.ExpectationSuite(**dict(suite))


_PANDAS_TYPES = {"Int64": "int64", "Int32": "int32", "Float64": "float64", "Float32": "float32", "Bool": "bool",
                 "String": "object"}


def gx_validate_pandas(frame: pd.DataFrame, expectations: Sequence[ColumnExpectation]) -> list[ExpectationResult]:
    """Run ``expectations`` with GX's own pandas engine on ``frame`` (every kind; also the tests' oracle).

    Expectations on columns ``frame`` lacks come back failed with a note; ``of_type`` is given pandas' dtype
    name (``object`` for text). A column's quantile bounds run as one GX expectation and are judged one by one
    from the values GX observed.
    """
    import great_expectations as gx

    context = gx_context()
    present = [ce for ce in expectations if ce.column in frame.columns or ce.kind == "exists"]
    missing = [missing_column(ce) for ce in expectations if ce not in present]
    if not present:
        return missing
    items = to_gx_dicts(present)
    for item in items:
        if item["type"] == GX_TYPES["of_type"]:
            type_name = item["meta"]["aquifer"]["type_name"]
            item["kwargs"]["type_"] = _PANDAS_TYPES.get(type_name, item["kwargs"]["type_"])
    suite = gx.ExpectationSuite(name=f"aquifer_{next(_NAMES)}", expectations=items)
    with _LOCK:
        source = context.data_sources.add_pandas(f"aquifer_{next(_NAMES)}")
    try:
        batch = source.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame})
        outcome = batch.validate(suite, result_format="SUMMARY")
    finally:
        with _LOCK:
            context.data_sources.delete(source.name)
    by_name = {ce.name: ce for ce in present}
    out: list[ExpectationResult] = []
    for r in outcome.results:
        meta = (r.expectation_config.meta or {}).get("aquifer", {})
        result = r.result or {}
        info = r.exception_info or {}
        note = None
        if isinstance(info, dict) and info.get("raised_exception"):
            note = str(info.get("exception_message") or "GX raised an exception")
        if "names" in meta:  # one column's quantiles
            values = (result.get("observed_value") or {}).get("values") or [None] * len(meta["names"])
            for name, value in zip(meta["names"], values, strict=True):
                ce = by_name[name]
                lo, hi = ce.expectation.lo, ce.expectation.hi  # type: ignore[attr-defined]
                ok = note is None and value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)
                out.append(ExpectationResult(ce.name, ce.column, ce.kind, ce.source, ok, observed=value, note=note,
                                             expectation=ce.expectation.spec()))
            continue
        ce = by_name[meta["name"]]
        unexpected = result.get("unexpected_count")
        checked = None
        if unexpected is not None:
            element = int(result.get("element_count") or 0)
            checked = element if ce.kind == "not_null" else element - int(result.get("missing_count") or 0)
        out.append(ExpectationResult(
            ce.name, ce.column, ce.kind, ce.source, bool(r.success), unexpected=unexpected, checked=checked,
            observed=result.get("observed_value"), samples=list(result.get("partial_unexpected_list") or [])[:5],
            note=note, expectation=ce.expectation.spec()))
    return out + missing


def validate_aggregates(sample: pd.DataFrame, expectations: Sequence[ColumnExpectation]) -> list[ExpectationResult]:
    """The aggregate expectations among ``expectations``, run by GX's pandas engine on ``sample``."""
    aggregates = [ce for ce in expectations if not ce.row_level]
    return gx_validate_pandas(sample, aggregates) if aggregates else []
