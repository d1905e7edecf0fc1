"""SQL placeholders, rendering, parsing and column lineage (no repo needed)."""

from __future__ import annotations

import pytest

from aquifer.analysis import SqlError, analyze_sql, render_sql, sql_upstreams
from aquifer.types import Bool, Float64, Int64, String, Timestamp

TXNS = {"user_id": Int64, "event_ts": Timestamp, "amount": Float64, "country": String}


def test_render_substitutes_placeholders_but_not_strings_or_comments():
    text = "SELECT a.x, '{t}' AS s FROM { t } a JOIN {u} b ON a.k = b.k -- {t}"
    out = render_sql(text, {"t": "db.events", "u": "`aq_user_spend`"})
    assert out == "SELECT a.x, '{t}' AS s FROM db.events a JOIN `aq_user_spend` b ON a.k = b.k -- {t}"


def test_render_names_a_missing_table():
    with pytest.raises(KeyError, match=r"\{u\}"):
        render_sql("SELECT * FROM {t} JOIN {u} USING (k)", {"t": "x"})


def test_upstreams_in_order_of_appearance_and_only_tables():
    text = "SELECT * FROM {b} JOIN {a} USING (k) WHERE note = '{c}'"
    assert sql_upstreams(text) == ("b", "a")


def test_syntax_error_is_located_inside_the_query():
    with pytest.raises(SqlError, match="line 2, column 7"):
        sql_upstreams("SELECT a FROM {transactions}\nWHERE (")
    assert "exactly one SELECT" in analyze_sql("SELECT 1; SELECT 2", {}).error
    assert "must be a SELECT" in analyze_sql("INSERT INTO t SELECT 1", {}).error


def test_projection_and_expression_lineage():
    text = "SELECT user_id, event_ts, amount * 2 AS double_amount, amount > 1000 AS is_large FROM {t}"
    result = analyze_sql(text, {"t": TXNS})
    assert result.outputs == {"user_id": Int64, "event_ts": Timestamp, "double_amount": Float64, "is_large": Bool}
    assert result.reads == {
        "user_id": (("t", "user_id"),),
        "event_ts": (("t", "event_ts"),),
        "double_amount": (("t", "amount"),),
        "is_large": (("t", "amount"),),
    }
    assert result.unknown_columns == []


def test_star_expands_against_known_columns_and_stays_unknown_otherwise():
    known = analyze_sql("SELECT *, amount + 1 AS a1 FROM {t}", {"t": TXNS})
    assert list(known.outputs) == [*TXNS, "a1"]
    assert known.reads["country"] == (("t", "country"),)
    assert analyze_sql("SELECT * FROM {t}", {"t": None}).outputs is None


def test_lineage_through_cte_join_and_subquery():
    text = """
        WITH big AS (SELECT user_id, amount AS big_amount FROM {t} WHERE amount > 100)
        SELECT b.user_id, s.event_ts, b.big_amount, p.score
        FROM big b
        JOIN (SELECT user_id, max(event_ts) AS event_ts FROM {t} GROUP BY user_id) s ON s.user_id = b.user_id
        LEFT JOIN {p} p ON p.user_id = b.user_id
    """
    result = analyze_sql(text, {"t": TXNS, "p": {"user_id": Int64, "score": Float64}})
    assert result.upstreams == ("t", "p")
    assert result.reads == {
        "user_id": (("t", "user_id"),),
        "event_ts": (("t", "event_ts"),),
        "big_amount": (("t", "amount"),),
        "score": (("p", "score"),),
    }


def test_unknown_columns_only_against_known_upstreams():
    text = "SELECT user_id, amout, x.nope FROM {t} JOIN {v} x USING (user_id)"
    result = analyze_sql(text, {"t": TXNS, "v": {"user_id": Int64}})
    assert ("{v}", "nope") in result.unknown_columns
    assert any(column == "amout" for _, column in result.unknown_columns)
    assert analyze_sql("SELECT user_id, amout FROM {t}", {"t": None}).unknown_columns == []


def test_unknown_cte_column_is_reported():
    text = "WITH x AS (SELECT user_id FROM {t}) SELECT x.user_id, x.zz FROM x"
    assert ("subquery 'x'", "zz") in analyze_sql(text, {"t": TXNS}).unknown_columns


def test_direct_table_reads_are_listed():
    assert analyze_sql("SELECT k FROM {t} JOIN db.other USING (k)", {}).external_tables == ("db.other",)
