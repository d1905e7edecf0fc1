"""One ``{name}`` rule: not inside comments or string literals, for definitions, analysis and the Spark compiler."""

from __future__ import annotations

import pytest

from aquifer import Entity, FeatureView, Field, sql
from aquifer.analysis import analyze_sql, render_sql, sql_upstreams
from aquifer.definitions.transforms import find_placeholders
from aquifer.definitions.transforms import render_sql as shared_render_sql
from aquifer.engines.spark import compiler
from aquifer.types import Float64

NOT_PLACEHOLDERS = {
    "line comment": "SELECT user_id, event_ts, amount FROM {t} -- was {x}",
    "block comment": "SELECT user_id, event_ts, /* {x} */ amount FROM {t}",
    "string": "SELECT user_id, event_ts, amount, '{x}' AS note FROM {t}",
}
TABLES = {"t": "db.events"}


@pytest.mark.parametrize("text", NOT_PLACEHOLDERS.values(), ids=NOT_PLACEHOLDERS.keys())
def test_definitions_see_only_the_real_placeholder(text: str) -> None:
    assert sql(text).placeholders == ("t",)
    user = Entity("user", join_keys=["user_id"])
    view = FeatureView("v", entities=[user], transform=sql(text), schema=[Field("amount", Float64)])
    assert view.declared_upstreams == ("t",)


@pytest.mark.parametrize("text", NOT_PLACEHOLDERS.values(), ids=NOT_PLACEHOLDERS.keys())
def test_analysis_sees_only_the_real_placeholder(text: str) -> None:
    assert sql_upstreams(text) == ("t",)
    assert render_sql(text, TABLES) == text.replace("{t}", "db.events")
    result = analyze_sql(text, {"t": {"user_id": None, "event_ts": None, "amount": None}})
    assert result.error is None and result.upstreams == ("t",) and result.unknown_columns == []


@pytest.mark.parametrize("text", NOT_PLACEHOLDERS.values(), ids=NOT_PLACEHOLDERS.keys())
def test_the_spark_compiler_renders_only_the_real_placeholder(text: str) -> None:
    assert compiler.render_sql(text, TABLES) == text.replace("{t}", "db.events")
    assert compiler.render_sql is shared_render_sql is render_sql


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("SELECT * FROM { t } JOIN {u} USING (k)", ["t", "u"]),
        ("SELECT * FROM {t} /* outer /* {x} */ still {y} comment */ JOIN {u}", ["t", "u"]),
        ("SELECT /*+ BROADCAST({x}) */ * FROM {t}", ["t"]),  # a hint is a comment
        ('SELECT "{x}", `{y}` FROM {t}', ["t"]),  # double-quoted string, backquoted identifier
        ("SELECT 'it\\'s {x}', 'a''b {y}' FROM {t}", ["t"]),  # escaped quote; '' closes and reopens
        ("SELECT r'a\\' FROM {t}", ["t"]),  # raw string: the backslash escapes nothing, so it ends at \'
        ("SELECT 'a\\' FROM {t}", []),  # ... while here it escapes the quote: the literal runs on
        ("SELECT 'a\\\\' FROM {t}", ["t"]),  # an escaped backslash, then the string ends
        ("SELECT 1 - -1 FROM {t} -- {x}\nJOIN {u}", ["t", "u"]),
        ("SELECT '{x} FROM {t}", []),  # an unterminated literal runs to the end
        ("SELECT {1x}, {} FROM {t}", ["t"]),  # not names
    ],
)
def test_find_placeholders_follows_spark_lexing(text: str, names: list[str]) -> None:
    assert [m.group(1) for m in find_placeholders(text)] == names


def test_render_names_what_is_missing_and_keeps_everything_else() -> None:
    text = "SELECT a.x, '{t}' AS s FROM { t } a JOIN {u} b ON a.k = b.k /* {u} */ -- {t}"
    assert shared_render_sql(text, {"t": "T", "u": "U"}) == \
        "SELECT a.x, '{t}' AS s FROM T a JOIN U b ON a.k = b.k /* {u} */ -- {t}"
    with pytest.raises(KeyError, match=r"no table given for \{u\} \(given: t\)"):
        shared_render_sql(text, {"t": "T"})
