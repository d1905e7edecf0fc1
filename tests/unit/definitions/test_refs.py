"""Feature references resolve to view projections; unknown names and ambiguous columns are refused."""

import pytest

from aquifer import BatchSource, Entity, FeatureService, FeatureView, Field
from aquifer.definitions.refs import FeatureRefError, resolve_features
from aquifer.types import Float64, Int64

user = Entity("user", join_keys=["user_id"])
src = BatchSource("src", path="x.parquet")
a = FeatureView("a", entities=[user], source=src, schema=[Field("x", Float64), Field("y", Int64)])
b = FeatureView("b", entities=[user], source=src, schema=[Field("x", Float64), Field("z", Int64)])
svc = FeatureService("svc", features=[a[["y"]], b[["z"]]])


def test_service_by_object_and_by_name():
    for features in (svc, "svc"):
        resolved = resolve_features(features, [a, b], [svc])
        assert resolved.columns() == [("a", "y", "y"), ("b", "z", "z")]


def test_string_refs_group_by_view_in_order():
    resolved = resolve_features(["a:y", "b:z", "a:x"], [a, b])
    assert [(p.name, p.features) for p in resolved.projections] == [("a", ("y", "x")), ("b", ("z",))]


def test_full_names_disambiguate():
    with pytest.raises(FeatureRefError, match="full_names=True"):
        resolve_features(["a:x", "b:x"], [a, b])
    resolved = resolve_features(["a:x", "b:x"], [a, b], full_names=True)
    assert [c for _, _, c in resolved.columns()] == ["a__x", "b__x"]


@pytest.mark.parametrize(
    ("features", "message"),
    [("nope", "unknown feature service 'nope'"), (["c:x"], "unknown feature view 'c'"),
     (["a:w"], "unknown feature 'w' in view 'a'"), (["ax"], "view:feature"), ([], "no features")],
)
def test_unknown_names_are_named(features, message):
    with pytest.raises(FeatureRefError, match=message):
        resolve_features(features, [a, b], [svc])
