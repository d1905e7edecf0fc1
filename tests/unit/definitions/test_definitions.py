"""Definitions are frozen values with metadata, locations and clear construction errors."""

from __future__ import annotations

import dataclasses
import sys
from datetime import timedelta

import pytest

from aquifer import (
    Aggregation,
    AggregationView,
    BatchSource,
    Entity,
    FeatureService,
    FeatureView,
    Field,
    KafkaSource,
    Session,
    Sliding,
    Tumbling,
    feature_view,
    sql,
)
from aquifer.definitions import DefinitionError, window_problems
from aquifer.definitions.spec import data_spec, meta_spec
from aquifer.types import Bool, Float64, Int64, String, Timestamp

user = Entity("user", join_keys=["user_id"])
txns = BatchSource("txns", path="data/t.parquet", created_timestamp_field="ingested_at")


def spend(**overrides):
    kwargs = dict(
        entities=[user], source=txns,
        transform=sql("SELECT user_id, event_ts, amount FROM {txns}"),
        schema=[Field("amount", Float64, default=0.0)], ttl=timedelta(days=1),
    )
    kwargs.update(overrides)
    return FeatureView("spend", **kwargs)


def test_definitions_are_frozen_and_hashable():
    view = spend()
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.name = "other"  # type: ignore[misc]
    assert hash(view) == hash(spend())
    assert view == spend()
    assert view.tags == {}


def test_location_points_at_the_users_line():
    here = Entity("here", join_keys=["k"])
    line = sys._getframe().f_lineno - 1
    assert here.location == f"{__file__}:{line}"


def test_metadata_never_changes_the_data_spec():
    a = spend()
    b = spend(description="new words", owner="me", tags={"team": "risk"}, ttl=timedelta(days=9))
    assert data_spec(a) == data_spec(b)
    assert meta_spec(a) != meta_spec(b)
    assert data_spec(a) != data_spec(spend(transform=sql("SELECT user_id, event_ts, amount * 2 AS amount FROM {txns}")))


def test_projection_and_service_refs():
    view = spend(schema=[Field("amount", Float64), Field("is_large", Bool)])
    service = FeatureService("svc", features=[view[["amount"]]])
    assert service.feature_refs == ("spend:amount",)
    assert FeatureService("all", features=[view]).feature_refs == ("spend:amount", "spend:is_large")


def test_python_view_parameters_name_upstreams():
    @feature_view(entities=[user], schema=[Field("z", Float64)])
    def spend_z(spend, txns):
        """Z-scored spend."""
        return spend

    assert spend_z.name == "spend_z"
    assert spend_z.declared_upstreams == ("spend", "txns")
    assert spend_z.description == "Z-scored spend."
    assert "def spend_z(spend, txns)" in spend_z.transform.source


def test_aggregation_feature_names_follow_usage():
    source = KafkaSource("events", topic="t", batch_source=txns)
    view = AggregationView("w", entities=[user], source=source, aggregations=[
        Aggregation("amount", "count", Tumbling("5m")),
        Aggregation("amount", "sum", Sliding("1h", every="5m")),
        Aggregation("amount", "avg", Session(gap="30m")),
        Aggregation("amount", "p95", Tumbling("1h")),
        Aggregation("amount", "percentile(0.999)", Tumbling("1d")),
        Aggregation("amount", "max", Tumbling("1d"), name="biggest"),
    ])
    assert view.feature_names == (
        "amount_count_5m", "amount_sum_1h_every_5m", "amount_avg_session_30m", "amount_p95_1h",
        "amount_p99_9_1d", "biggest",
    )
    assert [f.dtype for f in view.features][:2] == [Int64, Float64]


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        (Sliding("5m", every="1h"), "larger than its size"),
        (Sliding("1h", every="7m"), "multiple of its step"),
        (Session(gap="0s"), "gap must be positive"),
        (Tumbling("-5m"), "size must be positive"),
    ],
)
def test_invalid_windows_are_reported(window, problem):
    assert any(problem in p for p in window_problems(window))


def test_valid_windows_have_no_problems():
    assert window_problems(Sliding("1h", every="15m")) == []
    assert window_problems(Session(gap="30m", max_duration="4h")) == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Entity("user", join_keys="user_id"), "must be a list"),
        (lambda: Entity("user", join_keys=[]), "at least one join key"),
        (lambda: Entity("bad name", join_keys=["k"]), "identifier"),
        (lambda: BatchSource("s"), "exactly one of path= or table="),
        (lambda: BatchSource("s", path="p", format="xlsx"), "format 'xlsx'"),
        (lambda: KafkaSource("k", topic=""), "needs a topic"),
        (lambda: Field("x", float), "aquifer type"),
        (lambda: Field("x", Int64, default="zero"), "does not fit its dtype Int64"),
        (lambda: Tumbling("5 minutes please"), "cannot read duration"),
        (lambda: spend(entities=[]), "at least one entity"),
        (lambda: spend(ttl="forever"), "ttl"),
        (lambda: FeatureService("s", features=["spend:amount"]), "views or view"),
        (lambda: sql("   "), "non-empty"),
    ],
)
def test_bad_definitions_raise_with_location(build, message):
    with pytest.raises(DefinitionError) as info:
        build()
    assert message in str(info.value)
    assert __file__ in str(info.value)


def test_field_defaults_match_types():
    assert Field("n", Int64, default=0).default == 0
    assert Field("s", String, default="x").default == "x"
    with pytest.raises(DefinitionError):
        Field("flag", Bool, default=1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: spend(online="yes"), "FeatureView 'spend' online must be True or False, got the string 'yes'"),
        (lambda: spend(description=3), "FeatureView 'spend' description must be text, got the number 3"),
        (lambda: spend(owner=None), "FeatureView 'spend' owner must be text, got None"),
        (lambda: spend(tags=["risk"]), "FeatureView 'spend' tags must be a dict of text labels"),
        (lambda: spend(tags={"team": [1]}), "got a list [1] for 'team'"),
        (lambda: spend(ttl=float("nan")), "FeatureView 'spend' ttl: duration nan is not a finite span"),
        (lambda: spend(freshness="-2h"), "FeatureView 'spend' freshness must not be negative"),
        (lambda: spend(timestamp_field=None), "FeatureView 'spend' timestamp_field must be a non-empty string"),
        (lambda: spend(schema="amount"), "schema must be a list of Field objects, got the string 'amount'"),
        (lambda: spend(entities=user), "got the Entity 'user' (write entities=[...] around it)"),
        (lambda: Entity("user", join_keys=[1]), "Entity 'user' join_keys must be a list of column names"),
        (lambda: Entity("user", join_keys=["k", "k"]), "join_keys repeat a name"),
        (lambda: Entity("user", join_keys=["k"], key_types=["Int64"]), "import it: from aquifer.types import Int64"),
        (lambda: BatchSource("s", path=5), "BatchSource 's' path must be a non-empty string (or None), got the number"),
        (lambda: BatchSource("s", path="p", timestamp_unit="sec"), "timestamp_unit 'sec' is not one of"),
        (lambda: KafkaSource("k", topic="t", key_field=["id"]), "KafkaSource 'k' key_field must be"),
        (lambda: Aggregation("amount", None, Tumbling("1h")), "Aggregation of 'amount' function must be"),
        (lambda: Aggregation("a b", "sum", Tumbling("1h")), "give it one with name="),
        (lambda: Field("t", Timestamp, default="2024-01-01"), "does not fit its dtype Timestamp"),
        (lambda: spend()[5], "projection spend[[...]] features must be a list of feature names"),
        (lambda: spend()[[]], "needs at least one feature name"),
        (lambda: feature_view(entities=[user], schema=[])(len), "@feature_view target must be a function"),
        (lambda: sql(None), "sql() text must be a non-empty SELECT statement, got None"),
    ],
)
def test_wrong_types_name_definition_argument_and_value(build, message):
    with pytest.raises(DefinitionError) as info:
        build()
    assert message in str(info.value)
    assert str(info.value).startswith(f"{__file__}:")


def test_bare_feature_view_decorator_says_it_needs_arguments():
    with pytest.raises(DefinitionError, match="needs arguments"):
        @feature_view
        def lonely(spend):
            return spend


def test_negative_windows_keep_identifier_feature_names_for_plan_to_report():
    agg = Aggregation("amount", "sum", Tumbling("-5m"))
    assert agg.feature_name == "amount_sum_minus_5m"
    assert window_problems(agg.window) == ["tumbling window size must be positive, got -1 day, 23:55:00"]


def test_a_source_path_given_as_a_url_is_refused():
    from aquifer.definitions import BatchSource, DefinitionError

    with pytest.raises(DefinitionError, match="is a URL: sources are read from a local or shared POSIX path"):
        BatchSource("events", path="s3a://bucket/events/")
