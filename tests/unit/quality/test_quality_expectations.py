"""Expectations in the DSL, suites from profiles, GX JSON round trips and suite versions (no Spark).

Profiles come from ``FeatureStatistics`` computed here with pandas; suites are real GX 1.x suites.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from aquifer import (
    Aggregation,
    AggregationView,
    BatchSource,
    Entity,
    FeatureView,
    Field,
    InRange,
    InSet,
    Matches,
    MeanBetween,
    NotNull,
    Quality,
    QuantileBetween,
    StddevBetween,
    Tumbling,
)
from aquifer.definitions import DefinitionError, expectation_from_spec
from aquifer.definitions.spec import meta_spec, to_spec
from aquifer.quality.expectations import (
    ColumnExpectation,
    effective,
    from_suite_dict,
    profile_suite,
    suite_dict,
)
from aquifer.quality.profiling import frame_statistics
from aquifer.types import Float64, Int64, String

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
source = BatchSource("tx", path="data/tx.parquet", timestamp_field="event_ts")
THIS_FILE = __file__


def view(schema=None, quality=None) -> FeatureView:
    return FeatureView("spend", entities=[user], source=source, quality=quality,
                       schema=schema or [Field("amount", Float64), Field("country", String), Field("n", Int64)])


# ---- DSL ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("make", "words"), [
    (lambda: Field("country", String, expect=[InRange(0, 10)]), ["Field 'country'", "InRange", "String"]),
    (lambda: Field("amount", Float64, expect=[Matches("^x")]), ["Field 'amount'", "Matches", "Float64"]),
    (lambda: Field("n", Int64, expect=[InSet(["a"])]), ["Field 'n'", "'a'", "Int64"]),
    (lambda: Field("n", Int64, expect=[NotNull(mostly=1.5)]), ["NotNull mostly", "1.5"]),
    (lambda: Field("n", Int64, expect=[NotNull(mostly="most")]), ["NotNull mostly", "'most'"]),
    (lambda: Field("n", Int64, expect=InRange(0, 1)), ["Field 'n' expect", "expect=[...]"]),
    (lambda: Field("n", Int64, expect=[NotNull]), ["NotNull()"]),
    (lambda: Field("n", Int64, expect=[NotNull(), NotNull(0.5)]), ["twice"]),
    (lambda: Field("n", Int64, expect=["not null"]), ["list of expectations"]),
    (lambda: InRange(), ["InRange needs a min or a max"]),
    (lambda: InRange(5, 1), ["above"]),
    (lambda: Matches("(unclosed"), ["not valid"]),
    (lambda: QuantileBetween(1.5, 0, 1), ["quantile between 0.0 and 1.0"]),
    (lambda: Quality(policy="stop"), ["Quality policy", "'warn', 'quarantine', 'block'", "'stop'"]),
    (lambda: Quality(margin=-1), ["Quality margin"]),
    (lambda: Quality(sample_rows=0), ["sample_rows"]),
    (lambda: view(quality=Quality(expect={"nope": [NotNull()]})), ["'nope'", "not one of its features"]),
    (lambda: view(quality=Quality(expect={"country": [MeanBetween(0, 1)]})), ["MeanBetween", "String"]),
    (lambda: view(quality="block"), ["quality must be a Quality(...) object"]),
])
def test_dsl_errors_name_the_field_and_its_location(make, words):
    with pytest.raises(DefinitionError) as info:
        make()
    message = str(info.value)
    assert message.startswith(f"{THIS_FILE}:"), message  # file:line of the user's definition
    for word in words:
        assert word in message, message


def test_policy_defaults_to_warn_and_aggregation_views_take_expectations_through_quality():
    assert Quality().policy == "warn" and view().quality is None
    agg = AggregationView("agg", entities=[user], source=source,
                          aggregations=[Aggregation("amount", "sum", Tumbling("1h"))],
                          quality=Quality(policy="quarantine", expect={"amount_sum_1h": [InRange(0, None)]}))
    assert [ce.name for ce in effective(agg, None)] == ["amount_sum_1h.in_range"]
    assert NotNull.row_level and InRange.row_level and not MeanBetween.row_level and not QuantileBetween.row_level


def test_expectations_and_quality_are_metadata_and_round_trip_through_the_spec():
    from aquifer.analysis.fingerprint import fingerprint_all

    plain = view()
    declared = view(schema=[Field("amount", Float64, expect=[InRange(0, 10_000), NotNull(mostly=0.99)]),
                            Field("country", String, expect=[InSet(["US", "GB"]), Matches("^[A-Z]{2}$")]),
                            Field("n", Int64, expect=[StddevBetween(0, 5), QuantileBetween(0.5, 1, 3)])],
                    quality=Quality(policy="block", margin=0.2, profile=False, sample_rows=10,
                                    expect={"amount": [MeanBetween(1, 2)]}))

    def fingerprint(v):
        return fingerprint_all({("feature_view", "spend"): v}, lambda d: [])[("feature_view", "spend")]

    assert fingerprint(plain).data == fingerprint(declared).data  # no recomputation
    assert fingerprint(plain).meta != fingerprint(declared).meta  # but a new version in the registry
    assert to_spec(plain)["data"] == to_spec(declared)["data"]
    meta = json.loads(json.dumps(meta_spec(declared)))  # through JSON, as the registry keeps it
    back = {f["name"]: [expectation_from_spec(e) for e in f.get("expect", [])] for f in meta["fields"]}
    assert back == {f.name: list(f.expect) for f in declared.schema}
    assert Quality.from_spec(meta["quality"]) == declared.quality
    assert "quality" not in meta_spec(plain) and all("expect" not in f for f in meta_spec(plain)["fields"])


# ---- profiles -> suites ---------------------------------------------------------------------------------------

def sample_frame(n: int = 5000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 15, n)
    amount[rng.choice(n, n // 50, replace=False)] = np.nan  # 2% null: "nearly" not null
    return pd.DataFrame({"amount": amount, "country": rng.choice(["US", "GB", "DE"], n),
                         "n": rng.integers(0, 50, n).astype("int64")})


def test_profile_builds_the_documented_expectations():
    frame = sample_frame()
    v = view(schema=[Field("amount", Float64), Field("country", String, expect=[InSet(["US", "GB", "DE", "FR"])]),
                     Field("n", Int64)])
    stats = frame_statistics(frame, v.schema)
    suite = {ce.name: ce for ce in profile_suite(v, stats)}
    assert {n for n, ce in suite.items() if ce.source == "schema"} == {
        "amount.exists", "amount.of_type", "country.exists", "country.of_type", "n.exists", "n.of_type"}
    amount, n = frame["amount"], frame["n"]
    assert suite["amount.not_null"].expectation.mostly == pytest.approx(amount.notna().mean() - 0.1)
    assert suite["n.not_null"].expectation.mostly == 1.0
    span = amount.max() - amount.min()
    assert suite["amount.in_range"].expectation.min == pytest.approx(amount.min() - 0.1 * span)
    assert suite["amount.in_range"].expectation.max == pytest.approx(amount.max() + 0.1 * span)
    assert suite["n.in_range"].expectation.min == np.floor(n.min() - 0.1 * (n.max() - n.min()))
    assert suite["amount.mean_between"].expectation.lo == pytest.approx(amount.mean() - 0.1 * span)
    assert suite["amount.stddev_between"].expectation.hi == pytest.approx(amount.std() + 0.1 * span)
    assert suite["amount.quantile_0.5"].expectation.lo == pytest.approx(amount.quantile(0.5) - 0.1 * span, rel=1e-3)
    # the declared set replaces the profiled one of the same kind on the same column
    assert suite["country.in_set"].source == "declared" and "FR" in suite["country.in_set"].expectation.values
    # and the suite passes the data it was profiled from (GX's own pandas engine)
    from aquifer.quality.suites import gx_validate_pandas

    results = gx_validate_pandas(frame, list(suite.values()))
    assert all(r.success for r in results), [r.describe() for r in results if not r.success]


def test_profile_edge_cases_no_rows_all_null_constant_and_many_categories():
    frame = pd.DataFrame({"amount": [np.nan] * 10, "country": [f"c{i}" for i in range(10)], "n": [7] * 10})
    v = view()
    suite = {ce.name: ce for ce in profile_suite(v, frame_statistics(frame, v.schema))}
    assert not any(n.startswith("amount.") and ce.source == "profiled" for n, ce in suite.items())  # all null
    assert suite["n.in_range"].expectation.min <= 7 <= suite["n.in_range"].expectation.max  # constant
    assert "country.in_set" in suite  # 10 distinct: a set
    many = pd.DataFrame({"amount": [1.0] * 30, "country": [f"c{i}" for i in range(30)], "n": range(30)})
    suite = {ce.name for ce in profile_suite(v, frame_statistics(many, v.schema))}
    assert "country.in_set" not in suite  # above 20 distinct: no set
    empty = {ce.source for ce in profile_suite(v, frame_statistics(frame.iloc[:0], v.schema))}
    assert empty == {"schema"}
    off = view(quality=Quality(profile=False))
    assert {ce.source for ce in profile_suite(off, frame_statistics(sample_frame(), off.schema))} == {"schema"}


def test_suite_json_round_trip_through_a_real_gx_suite():
    from aquifer.quality.suites import build_suite, from_json, read_suite, suite_json

    frame = sample_frame()
    v = view(schema=[Field("amount", Float64, expect=[InRange(0, 500)]),
                     Field("country", String, expect=[Matches("^[A-Z]+$", mostly=0.9)]), Field("n", Int64)])
    expectations = profile_suite(v, frame_statistics(frame, v.schema))
    suite = build_suite("t.spend", expectations, {"view": "spend"})
    import great_expectations as gx

    assert isinstance(suite, gx.ExpectationSuite)
    stored = json.loads(json.dumps(suite_json(suite)))
    assert from_json(stored).to_json_dict() == stored
    back, notes = read_suite(stored)
    assert back == expectations and notes == []
    # a GX expectation aquifer does not run is reported, not fatal
    stored["expectations"].append({"type": "expect_table_row_count_to_equal", "kwargs": {"value": 3}, "meta": {}})
    back, notes = from_suite_dict(stored)
    assert back == expectations and len(notes) == 1 and "expect_table_row_count_to_equal" in notes[0]


def test_run_suite_is_stored_suite_with_todays_schema_and_declared_on_top():
    stored = [ColumnExpectation("amount", InRange(0, 10), "profiled"), ColumnExpectation("old", NotNull(), "profiled")]
    v = view(schema=[Field("amount", Float64, expect=[InRange(0, 99)])])
    names = {ce.name: ce for ce in effective(v, stored)}
    assert names["amount.in_range"].expectation.max == 99 and names["amount.in_range"].source == "declared"
    assert "old.not_null" in names and "amount.of_type" in names  # removed column kept: it fails clearly
    assert effective(view(), None) == []  # no suite, nothing declared: nothing to check


def test_suite_versions_are_added_only_when_the_content_changes(tmp_path):
    from aquifer.registry import Registry

    one = suite_dict("t.v", [ColumnExpectation("a", InRange(0, 1))])
    two = suite_dict("t.v", [ColumnExpectation("a", InRange(0, 2))])
    with Registry(f"sqlite:///{tmp_path}/r.db") as registry:
        assert registry.latest_suite("t", "v") is None
        first, added = registry.save_suite("t", "v", one)
        assert (first.version, added) == (1, True)
        same, added = registry.save_suite("t", "v", {**one, "id": "gx-assigned", "notes": "x"})
        assert (same.version, added) == (1, False)
        second, added = registry.save_suite("t", "v", two)
        assert (second.version, added) == (2, True)
        assert registry.save_suite("t", "other", one)[0].version == 1  # versions count per view
        assert registry.latest_suite("t", "v").suite == two
        assert [s.version for s in registry.suites("t", "v")] == [1, 2]


def test_gx_means_and_stddevs_of_typed_and_decimal_columns():
    """GX's Decimal scan is skipped for typed arrays only (``suites._skip_decimal_scan_of_typed_arrays``): a float
    column and a column of ``Decimal`` objects both get numpy's mean and standard deviation."""
    from decimal import Decimal

    from aquifer import MeanBetween, StddevBetween
    from aquifer.quality.suites import gx_context, gx_validate_pandas

    gx_context()
    from great_expectations import util

    values = np.random.default_rng(3).normal(5, 2, 60).round(3)  # GX converts Decimals at ~8 ms each
    frame = pd.DataFrame({"x": values, "d": [Decimal(str(v)) for v in values]})
    assert util.does_ndarray_contain_decimal_dtype(frame["d"].to_numpy())
    assert not util.does_ndarray_contain_decimal_dtype(frame["x"].to_numpy())
    checks = [ColumnExpectation(c, e) for c in ("x", "d") for e in (MeanBetween(4, 6), StddevBetween(1, 3))]
    got = {r.name: r.observed for r in gx_validate_pandas(frame, checks)}
    for column in ("x", "d"):
        assert got[f"{column}.mean_between"] == pytest.approx(values.mean())
        assert got[f"{column}.stddev_between"] == pytest.approx(values.std(ddof=1))
