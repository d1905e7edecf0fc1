"""SQL transforms: ``{name}`` placeholders, parsing (sqlglot, Spark dialect), output columns and lineage.

What is a placeholder is decided in one place, ``aquifer.definitions.transforms`` (not inside comments or
string literals). Placeholders are masked with same-length sentinel identifiers (``{name}`` → ``__name``)
before parsing, so sqlglot sees plain table names and its error positions still point into the text the
user wrote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, traverse_scope

from aquifer.analysis.source_schema import Columns
from aquifer.definitions.transforms import PLACEHOLDER, find_placeholders, render_sql
from aquifer.definitions.types import FeatureType

__all__ = ["DIALECT", "PLACEHOLDER", "ParsedSql", "SqlAnalysis", "SqlError", "analyze_sql", "parse_sql",
           "render_sql", "sql_upstreams"]

DIALECT = "spark"
_PREFIX = "__"


class SqlError(ValueError):
    """A SQL transform cannot be parsed; the message says where (line and column of the query)."""


def _mask(text: str) -> tuple[str, dict[str, str]]:
    """Replace each ``{name}`` by a same-length sentinel identifier; returns the text and sentinel → name."""
    names: dict[str, str] = {}
    out, pos = [], 0
    for match in find_placeholders(text):
        sentinel = f"{_PREFIX}{match.group(1)}".lower()
        names[sentinel] = match.group(1)
        out += [text[pos:match.start()], sentinel.ljust(len(match.group(0)))]
        pos = match.end()
    out.append(text[pos:])
    return "".join(out), names


@dataclass
class ParsedSql:
    """A parsed SQL transform: the sqlglot expression (or the syntax error) and sentinel → upstream name."""

    expression: exp.Expr | None
    names: dict[str, str]
    error: str | None = None


def parse_sql(text: str) -> ParsedSql:
    """Parse one SELECT (placeholders masked); syntax errors come back in ``error``, never raised."""
    masked, names = _mask(text)
    try:
        statements = [s for s in sqlglot.parse(masked, dialect=DIALECT) if s is not None]
    except ParseError as exc:
        return ParsedSql(None, names, _parse_error_message(exc))
    except (TokenError, SqlglotError) as exc:
        return ParsedSql(None, names, f"SQL syntax error: {exc}")
    if len(statements) != 1:
        return ParsedSql(None, names, f"a SQL transform must be exactly one SELECT, found {len(statements)} statements")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        return ParsedSql(None, names, f"a SQL transform must be a SELECT, got {statement.key.upper()}")
    return ParsedSql(statement, names)


def _parse_error_message(exc: ParseError) -> str:
    first = exc.errors[0] if exc.errors else {}
    description = re.sub(r"<Token token_type: [^,]+, text: (.*?), line: .*?>", r"'\1'",
                         str(first.get("description", exc)))
    description = re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", description)
    where = f" at line {first['line']}, column {first['col']}" if first.get("line") else ""
    return f"SQL syntax error{where}: {description}"


def sql_upstreams(text: str) -> tuple[str, ...]:
    """Upstream names read as tables through ``{name}``, in order of appearance; raises ``SqlError``."""
    parsed = parse_sql(text)
    if parsed.expression is None:
        raise SqlError(parsed.error)
    return _upstreams(parsed)


def _upstreams(parsed: ParsedSql) -> tuple[str, ...]:
    assert parsed.expression is not None
    tables = parsed.expression.find_all(exp.Table)
    read = {parsed.names[t.name.lower()] for t in tables if t.name.lower() in parsed.names}
    return tuple(n for n in parsed.names.values() if n in read)


@dataclass
class SqlAnalysis:
    """What one SQL transform reads and produces.

    ``outputs`` maps each output column (lower-cased, as Spark resolves names) to its inferred type, or
    is None when a ``*`` could not be expanded. ``reads`` maps output columns to the ``(upstream,
    column)`` pairs their values come from. ``unknown_columns`` holds ``(where, column)`` references
    that the known columns cannot satisfy (``where`` is ``"{name}"``, ``"{a} or {b}"`` or
    ``"subquery 'x'"``); ``external_tables`` are tables read without a ``{name}`` placeholder.
    """

    upstreams: tuple[str, ...] = ()
    outputs: dict[str, FeatureType | None] | None = None
    reads: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    unknown_columns: list[tuple[str, str]] = field(default_factory=list)
    external_tables: tuple[str, ...] = ()
    error: str | None = None


def analyze_sql(text: str, known: Mapping[str, Columns | None]) -> SqlAnalysis:
    """Parse ``text`` and resolve its columns against ``known`` upstream columns (None: unknown)."""
    parsed = parse_sql(text)
    if parsed.expression is None:
        return SqlAnalysis(error=parsed.error)
    result = SqlAnalysis(upstreams=_upstreams(parsed))
    sentinels = {name: sentinel for sentinel, name in parsed.names.items()}
    schema = {
        sentinels[name]: {col: (t.spark if t else "unknown") for col, t in cols.items()}
        for name, cols in known.items() if cols is not None and name in sentinels
    }
    lowered = {s: {c.lower() for c in cols} for s, cols in schema.items()}
    tree = _qualify(parsed.expression, schema) or _qualify(parsed.expression, {})
    root = build_scope(tree) if tree is not None else None
    if tree is None or root is None:  # sqlglot cannot qualify it (e.g. a CTE column that does not exist)
        raw = parsed.expression.copy()
        if build_scope(raw) is not None:
            result.unknown_columns = _unknown_columns(raw, parsed.names, lowered)
        return result
    result.unknown_columns = _unknown_columns(tree, parsed.names, lowered)
    result.external_tables = tuple(dict.fromkeys(
        exp.table_name(t) for t in tree.find_all(exp.Table)
        if t.name.lower() not in parsed.names and not _is_cte(root, t)
    ))
    branches = _select_scopes(root)
    first = branches[0].expression.selects if branches else []
    if any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and s.is_star) for s in first):
        return result
    result.outputs = {s.alias_or_name: None for s in first}
    try:
        annotate_types(tree, schema=schema, dialect=DIALECT)
        result.outputs = {s.alias_or_name: _feature_type(s.type) for s in first}
    except SqlglotError:
        pass
    # qualify lower-cases names (Spark resolves them case-insensitively); report upstream columns as declared
    spelled = {parsed.names[s]: {c.lower(): c for c in cols} for s, cols in schema.items()}
    for i, name in enumerate(result.outputs):
        pairs: dict[tuple[str, str], None] = {}
        for branch in branches:
            selects = branch.expression.selects
            if i < len(selects):
                for up, col in _trace(branch, selects[i], parsed.names, lowered, 0):
                    pairs[(up, spelled.get(up, {}).get(col, col))] = None
        result.reads[name] = tuple(pairs)
    return result


def _qualify(expression: exp.Expr, schema: dict) -> exp.Expr | None:
    """Qualified copy of the query; None when sqlglot refuses (e.g. a CTE column that does not exist)."""
    try:
        return qualify(expression.copy(), schema=schema, dialect=DIALECT, validate_qualify_columns=False,
                       identify=False, quote_identifiers=False)
    except SqlglotError:
        return None


def _is_cte(root: Scope, table: exp.Table) -> bool:
    return any(table.name in s.cte_sources for s in root.traverse())


def _select_scopes(scope: Scope) -> list[Scope]:
    """The SELECT scopes whose projections form ``scope``'s output (several for UNION/INTERSECT/EXCEPT)."""
    if scope.set_operation_scopes:
        return [leaf for child in scope.set_operation_scopes for leaf in _select_scopes(child)]
    return [scope] if isinstance(scope.expression, exp.Select) else []


def _columns(node: exp.Expr) -> list[exp.Column]:
    """Column references in ``node``, without stars and lambda parameters (``x`` in ``x -> x + 1``)."""
    out = []
    for column in node.find_all(exp.Column):
        lam = column.find_ancestor(exp.Lambda)
        if column.is_star or (lam and not column.table and column.name in {p.name for p in lam.expressions}):
            continue
        out.append(column)
    return out


def _trace(scope: Scope, node: exp.Expr, names: dict[str, str], known: dict[str, set[str]],
           depth: int) -> list[tuple[str, str]]:
    """The ``(upstream, column)`` pairs an expression's value is computed from, through CTEs and subqueries."""
    if depth > 50:  # recursive CTEs
        return []
    found: list[tuple[str, str]] = []
    for column in _columns(node):
        source = scope.sources.get(column.table) if column.table else (
            next(iter(scope.sources.values())) if len(scope.sources) == 1 else None
        )
        table = source.name.lower() if isinstance(source, exp.Table) else None
        if table in names and (table not in known or column.name in known[table]):
            found.append((names[table], column.name))
        elif isinstance(source, Scope):
            for branch in _select_scopes(source):
                for select in branch.expression.selects:
                    if select.alias_or_name == column.name:
                        found.extend(_trace(branch, select, names, known, depth + 1))
    return found


def _unknown_columns(tree: exp.Expr, names: dict[str, str], known: dict[str, set[str]]) -> list[tuple[str, str]]:
    unknown: dict[tuple[str, str], None] = {}
    for scope in traverse_scope(tree):
        own = set(scope.expression.named_selects) if isinstance(scope.expression, exp.Select) else set()
        for column in _columns(scope.expression):
            if column.table:
                source = scope.sources.get(column.table)
                if isinstance(source, exp.Table) and source.name.lower() in known:
                    if column.name.lower() not in known[source.name.lower()]:
                        unknown[(f"{{{names[source.name.lower()]}}}", column.name)] = None
                elif isinstance(source, Scope) and isinstance(source.expression, exp.Query):
                    outputs = {n.lower() for n in source.expression.named_selects}
                    if "*" not in outputs and column.name.lower() not in outputs:
                        unknown[(f"subquery {column.table!r}", column.name)] = None
            elif not (column.name in own and column.find_ancestor(exp.Order)) and scope.sources and all(
                isinstance(s, exp.Table) and s.name.lower() in known for s in scope.sources.values()
            ):
                tables = [s.name.lower() for s in scope.sources.values()]
                if not any(column.name.lower() in known[t] for t in tables):
                    unknown[(" or ".join(dict.fromkeys(f"{{{names[t]}}}" for t in tables)), column.name)] = None
    return list(unknown)


_TYPES = {
    "BIGINT": "Int64", "INT": "Int32", "SMALLINT": "Int32", "TINYINT": "Int32",
    "DOUBLE": "Float64", "FLOAT": "Float32", "TEXT": "String", "VARCHAR": "String", "CHAR": "String",
    "BOOLEAN": "Bool", "BINARY": "Bytes", "VARBINARY": "Bytes", "TIMESTAMP": "Timestamp",
    "TIMESTAMPTZ": "Timestamp", "TIMESTAMPLTZ": "Timestamp", "TIMESTAMPNTZ": "Timestamp", "DATETIME": "Timestamp",
}


def _feature_type(data_type: exp.DataType | None) -> FeatureType | None:
    from aquifer.definitions.types import ALL_TYPES

    if data_type is None or not isinstance(data_type.this, exp.DataType.Type):
        return None
    name = _TYPES.get(data_type.this.name)
    return ALL_TYPES[name] if name else None
