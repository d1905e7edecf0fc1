"""Definitions written wrongly get a located definition error (or plan problem), never an internal error.

Every public constructor is called with one or two arguments replaced by something of the wrong kind
(text, numbers, None, bools, lists, dicts, objects of another kind). Two ways: executed in-process, then
planned; and written into a feature repo's ``features.py``, then planned through ``aquifer plan``.
Either the definition is refused with a ``DefinitionError`` at its ``file:line`` naming the argument,
or the plan succeeds or reports located problems. Nothing else may escape.
"""

from __future__ import annotations

import math
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from aquifer.config import load_config
from aquifer.definitions import DefinitionError, FeatureView
from aquifer.repo import LoadedRepo, collect
from aquifer.sdk.store import FeatureStore

HEADER = """\
from datetime import timedelta
from pathlib import Path
from aquifer import (Aggregation, AggregationView, BatchSource, Entity, FeatureService, FeatureView, Field,
                     KafkaSource, Session, Sliding, Tumbling, feature_view, sql)
from aquifer.types import Bool, Float64, Int64, String, Timestamp

user = Entity("user", join_keys=["user_id"])
transactions = BatchSource("transactions", path="data/t.parquet", schema=[
    Field("user_id", Int64), Field("event_ts", Timestamp), Field("amount", Float64), Field("country", String)])
spend = FeatureView("spend", entities=[user], source=transactions, schema=[Field("amount", Float64)])
"""
BASE_LINES = HEADER.count("\n")

META = {"description": '"d"', "owner": '"o"', "tags": '{"team": "risk"}'}
AGG_VIEW = 'result = AggregationView("agg", entities=[user], source=transactions, aggregations=[{}])'
# recipe -> (statement with {slots}, default source text of each slot)
RECIPES: dict[str, tuple[str, dict[str, str]]] = {
    "Entity": (
        "result = Entity({name}, join_keys={join_keys}, key_types={key_types}, description={description}, "
        "owner={owner}, tags={tags})",
        {"name": '"customer"', "join_keys": '["customer_id"]', "key_types": "[Int64]", **META},
    ),
    "BatchSource": (
        "result = BatchSource({name}, path={path}, table={table}, timestamp_field={timestamp_field}, "
        "created_timestamp_field={created_timestamp_field}, format={format}, schema={schema}, "
        "timestamp_unit={timestamp_unit}, description={description}, owner={owner}, tags={tags})",
        {"name": '"landed"', "path": '"data/t.parquet"', "table": "None", "timestamp_field": '"event_ts"',
         "created_timestamp_field": "None", "format": '"parquet"', "schema": '[Field("amount", Float64)]',
         "timestamp_unit": "None", **META},
    ),
    "KafkaSource": (
        "result = KafkaSource({name}, topic={topic}, timestamp_field={timestamp_field}, format={format}, "
        "batch_source={batch_source}, schema={schema}, key_field={key_field}, timestamp_unit={timestamp_unit}, "
        "description={description}, owner={owner}, tags={tags})",
        {"name": '"events"', "topic": '"txns"', "timestamp_field": '"event_ts"', "format": '"json"',
         "batch_source": "transactions", "schema": "[]", "key_field": '"user_id"', "timestamp_unit": "None",
         **META},
    ),
    "FeatureView": (
        "result = FeatureView({name}, entities={entities}, source={source}, transform={transform}, "
        "schema={schema}, ttl={ttl}, freshness={freshness}, allowed_lateness={allowed_lateness}, "
        "timestamp_field={timestamp_field}, online={online}, description={description}, owner={owner}, "
        "tags={tags})",
        {"name": '"big"', "entities": "[user]", "source": "transactions",
         "transform": 'sql("SELECT user_id, event_ts, amount > 1000 AS big FROM {{transactions}}")',
         "schema": '[Field("big", Bool)]', "ttl": '"1d"',
         "freshness": '"2h"', "allowed_lateness": '"1h"', "timestamp_field": '"event_ts"', "online": "True",
         **META},
    ),
    "AggregationView": (
        "result = AggregationView({name}, entities={entities}, source={source}, aggregations={aggregations}, "
        "ttl={ttl}, freshness={freshness}, allowed_lateness={allowed_lateness}, online={online}, "
        "description={description}, owner={owner}, tags={tags})",
        {"name": '"windows"', "entities": "[user]", "source": "transactions",
         "aggregations": '[Aggregation("amount", "sum", Tumbling("1h"))]', "ttl": "None", "freshness": "None",
         "allowed_lateness": "None", "online": "True", **META},
    ),
    "Aggregation": (
        AGG_VIEW.format("Aggregation({column}, {function}, {window}, name={name})"),
        {"column": '"amount"', "function": '"p95"', "window": 'Tumbling("5m")', "name": "None"},
    ),
    "Tumbling": (AGG_VIEW.format('Aggregation("amount", "count", Tumbling({size}))'), {"size": '"1h"'}),
    "Sliding": (AGG_VIEW.format('Aggregation("amount", "max", Sliding({size}, every={every}))'),
                {"size": '"1h"', "every": '"15m"'}),
    "Session": (AGG_VIEW.format('Aggregation("amount", "avg", Session({gap}, max_duration={max_duration}))'),
                {"gap": '"30m"', "max_duration": "None"}),
    "Field": (
        "result = FeatureView(\"typed\", entities=[user], source=transactions, "
        "schema=[Field({name}, {dtype}, default={default}, description={description})])",
        {"name": '"amount"', "dtype": "Float64", "default": "0.0", "description": '"d"'},
    ),
    "sql": (
        "result = FeatureView(\"by_sql\", entities=[user], transform=sql({text}), schema=[Field(\"amount\", Float64)])",
        {"text": '"SELECT user_id, event_ts, amount FROM {{transactions}}"'},
    ),
    "projection": ("result = FeatureService(\"proj\", features=[spend[{features}]])", {"features": '["amount"]'}),
    "FeatureService": (
        "result = FeatureService({name}, features={features}, description={description}, owner={owner}, "
        "tags={tags})",
        {"name": '"model"', "features": '[spend[["amount"]]]', **META},
    ),
    "feature_view": (
        "@feature_view({name}, entities={entities}, schema={schema}, source={source}, ttl={ttl}, "
        "timestamp_field={timestamp_field}, online={online}, description={description}, owner={owner}, "
        "tags={tags})\ndef shaped(spend):\n    return spend",
        {"name": "None", "entities": "[user]", "schema": '[Field("amount", Float64)]', "source": "None",
         "ttl": "None", "timestamp_field": '"event_ts"', "online": "True", **META},
    ),
}
# how a refusal may name the argument: ``name`` errors say "name", projections say "feature", ...
ARGUMENT_WORDS = {"text": ("sql()",), "features": ("feature",), "size": ("size",), "table": ("table", "path")}

# objects of the wrong kind, and odd values that have no literal form
EXPRESSIONS = [
    "user", "transactions", "spend", "Float64", "Int64", 'Tumbling("1h")', 'Field("amount", Float64)',
    "timedelta(hours=1)", "timedelta(hours=-1)", 'sql("SELECT 1")', 'Aggregation("amount", "sum", Tumbling("1h"))',
    'spend[["amount"]]', "len", "object()", "{1, 2}", 'b"x"', "int", "(user,)", "(1, 2)", 'Path("data/t.parquet")',
    '"transactions"', '"user"', '"amount"', '"1h"', '"Float64"', '"spend:amount"', '"SELECT 1"', '""', '" "',
    '"event_ts"', '"a b"', "[]", "{}", "[user, user]", '["user_id", "user_id"]', "[None]", "-1", "0", "10**30",
]


def literal(value: Any) -> str:
    """Python source text for a generated value (floats like nan and inf included)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(),
                    st.text(max_size=8), st.from_regex(r"[a-z_]{1,8}", fullmatch=True))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=4), inner, max_size=2), max_leaves=4)
junk = st.one_of(values.map(literal), st.sampled_from(EXPRESSIONS))


@st.composite
def wrong_definitions(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    """``(recipe, statement, replaced slots)`` with one or two slots replaced by junk."""
    recipe = draw(st.sampled_from(sorted(RECIPES)))
    template, defaults = RECIPES[recipe]
    slots = draw(st.lists(st.sampled_from(sorted(defaults)), min_size=1, max_size=2, unique=True))
    chosen = dict(defaults)
    for slot in slots:
        chosen[slot] = draw(junk)
    # junk text may hold braces: fill slots one by one instead of str.format on the whole statement
    statement = template
    for slot, text in chosen.items():
        statement = statement.replace("{" + slot + "}", text.replace("{", "\x00").replace("}", "\x01"))
    statement = statement.replace("{{", "{").replace("}}", "}").replace("\x00", "{").replace("\x01", "}")
    return recipe, statement, slots


def assert_clean_refusal(error: DefinitionError, slots: list[str], filename: str) -> None:
    """A refusal is located in the user's file and names (one of) the argument(s) written wrongly."""
    assert error.location and re.match(rf"{re.escape(filename)}:\d+$", error.location), error.location
    message = str(error)
    words = [w for slot in slots for w in ARGUMENT_WORDS.get(slot, (slot,))]
    assert any(w in message for w in words), (words, message)


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict[str, Any]:
    """A repo folder and a registry shared by every example (plan writes nothing but the empty tables)."""
    root = tmp_path_factory.mktemp("planned")
    registry = f"sqlite:///{root}/registry.db"
    (root / "aquifer.yaml").write_text(f"project: prop\nregistry: {registry}\n")
    config = load_config(root)
    store = FeatureStore(root, config=config)
    return {"root": root, "config": config, "registry": store.registry, "registry_url": registry}


def plan_in_memory(namespace: dict[str, Any], shared: dict[str, Any]) -> Any:
    """Plan the definitions found in ``namespace`` as if a repo had declared them."""
    store = FeatureStore(shared["root"], config=shared["config"])
    store.__dict__["repo"] = LoadedRepo(shared["config"], definitions=collect(namespace.values()))
    store.__dict__["registry"] = shared["registry"]
    return store.plan()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=wrong_definitions())
def test_wrong_arguments_in_process(case, shared):
    _recipe, statement, slots = case
    filename = "junk_definitions.py"
    namespace: dict[str, Any] = {"__name__": "junk_definitions"}
    try:
        exec(compile(HEADER + statement + "\n", filename, "exec"), namespace)
    except DefinitionError as error:
        assert_clean_refusal(error, slots, filename)
        return
    result = plan_in_memory(namespace, shared)
    for problem in [*result.problems, *result.warnings]:
        assert problem.location, problem


runner = CliRunner()


def cli_plan(root: Path) -> tuple[int, str]:
    """``aquifer plan -r root`` in-process: exit code and everything printed."""
    from aquifer.cli import _register, app

    _register()
    result = runner.invoke(app, ["plan", "-r", str(root)], env={"COLUMNS": "300"})
    return result.exit_code, result.output


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=wrong_definitions())
def test_wrong_arguments_in_a_repo(case, shared):
    _recipe, statement, _slots = case
    root = Path(tempfile.mkdtemp(prefix="aquifer-prop-"))
    try:
        (root / "aquifer.yaml").write_text(f"project: prop\nregistry: {shared['registry_url']}\n")
        (root / "features.py").write_text(HEADER + statement + "\n")
        code, output = cli_plan(root)
        assert code in (0, 1), output
        assert "internal error" not in output and "Traceback" not in output, output
        if code == 1:
            errors = [line for line in output.splitlines() if line.strip().startswith("✗")]
            assert errors, output
            for line in errors:  # every problem points into the file, past the valid header
                match = re.search(r"features\.py:(\d+)", line)
                assert match and int(match.group(1)) > BASE_LINES, line
            # a refusal at construction names the argument; a raw TypeError/AttributeError never shows
            assert not re.search(r"✗ features\.py:\d+: (TypeError|AttributeError|ValueError|KeyError)", output), \
                output
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- the case from issue #11: a source named by a string -------------------------------------------------


def test_string_source_says_what_to_pass():
    from aquifer import BatchSource, Entity

    user = Entity("user", join_keys=["user_id"])
    BatchSource("transactions", path="data/t.parquet")
    with pytest.raises(DefinitionError) as info:
        FeatureView("v", entities=[user], source="transactions")
    line = sys._getframe().f_lineno - 1
    assert info.value.location == f"{__file__}:{line}"
    assert str(info.value) == (
        f"{__file__}:{line}: FeatureView 'v' source must be a BatchSource, KafkaSource, FeatureView or "
        "AggregationView object, got the string 'transactions' (pass the object: source=transactions)"
    )


STRING_SOURCE = """\
from aquifer import BatchSource, Entity, FeatureView, Field
from aquifer.types import Float64

user = Entity("user", join_keys=["user_id"])
transactions = BatchSource("transactions", path="data/t.parquet")
spend = FeatureView("spend", entities=[user], source="transactions", schema=[Field("amount", Float64)])
"""


def test_string_source_in_a_repo_is_a_located_plan_problem(tmp_path):
    (tmp_path / "aquifer.yaml").write_text("project: demo\n")
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / "views.py").write_text(STRING_SOURCE)
    result = FeatureStore(tmp_path).plan()
    [problem] = result.problems
    assert problem.location == f"{tmp_path.resolve()}/features/views.py:6"
    assert "source must be a BatchSource, KafkaSource, FeatureView or AggregationView object" in problem.message
    assert "got the string 'transactions' (pass the object: source=transactions)" in problem.message

    code, output = cli_plan(tmp_path)
    assert code == 1
    assert "internal error" not in output
    assert "features/views.py:6: FeatureView 'spend' source must be" in " ".join(output.split())


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ('FeatureView("v", entities=[user], source="transactions")', "got the string 'transactions'"),
        ('AggregationView("w", entities=[user], source="transactions", '
         'aggregations=[Aggregation("amount", "sum", Tumbling("1h"))])', "got the string 'transactions'"),
        ('KafkaSource("k", topic="t", batch_source="transactions")', "batch_source must be a BatchSource object"),
        ('FeatureView("v", entities=["user"], source=transactions)', "(pass the object: entities=[user])"),
        ('FeatureView("v", entities=user, source=transactions)', "got the Entity 'user' (write entities=[...]"),
        ('FeatureView("v", entities=[user], source=user)', "an entity goes in entities=[...]"),
        ('FeatureView("v", entities=[user], transform="SELECT 1")', "(wrap SQL text in sql(...))"),
        ('FeatureService("s", features=["spend:amount"])', "(write spend[['amount']] with the view object)"),
        ('Field("amount", "Float64")', "(import it: from aquifer.types import Float64)"),
        ('Aggregation("amount", "sum", "1h")', "(write Tumbling('1h'))"),
    ],
)
def test_names_where_objects_belong(statement, expected):
    namespace: dict[str, Any] = {"__name__": "junk_definitions"}
    exec(compile(HEADER, "header.py", "exec"), namespace)
    with pytest.raises(DefinitionError) as info:
        exec(compile(statement, "mine.py", "exec"), namespace)
    assert info.value.location == "mine.py:1"
    assert expected in str(info.value)
