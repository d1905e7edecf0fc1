"""Dimension reads of SQL views: snapshots read whole, ``ASOF`` joins, key types and duplicate keys.

A SQL view reads each upstream in one of three ways (``docs/semantics.md``, "Dimension and as-of joins"):

- an **event** upstream (a source with a ``timestamp_field``, or a view) for the view's range ``[start, end)``;
- a **snapshot** (``BatchSource(timestamp_field=None)``) whole, for every range;
- the right side of an ``ASOF [LEFT] JOIN`` (DuckDB's syntax, which sqlglot parses) with every row before
  ``end``: each event gets the dimension row with the same keys and the greatest time ``<=`` its own
  (``<`` when written strictly).

``ASOF`` is not Spark SQL: ``spark_sql`` rewrites each such join into an equi-join on the keys with the
validity interval ``[time, next time of the key)`` (the engine adds that next time, ``VALID_TO``, to the
dimension's rows after dropping duplicate keys). Queries without ``ASOF`` run verbatim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlglot import exp

from aquifer.analysis.source_files import arrow_to_feature_type, data_files
from aquifer.analysis.source_schema import Columns
from aquifer.analysis.sql import DIALECT, ParsedSql, parse_sql
from aquifer.definitions import BatchSource, FeatureView, SqlTransform
from aquifer.definitions.transforms import render_sql
from aquifer.definitions.types import accepts

VALID_TO = "__aq_valid_to"
"""The column the engine adds to an as-of dimension: the key's next time (null for its latest row)."""

EVENT, WHOLE, UNTIL_END = "range", "whole", "until_end"
"""How an upstream is read: the view's range, whole (a snapshot), or every row before the range's end."""

MAX_CHECKED_ROWS = 5_000_000
MAX_CHECKED_CSV_BYTES = 256 * 1024 * 1024
"""``plan`` looks for duplicate keys in dimensions up to this size (Parquet rows from the footers, CSV bytes)."""


@dataclass(frozen=True)
class DimensionJoin:
    """How a SQL view joins one dimension upstream: its key columns and, for ``ASOF``, its time column."""

    upstream: str
    alias: str
    keys: tuple[str, ...]
    time: str | None = None
    strict: bool = False


@dataclass
class JoinPlan:
    """A SQL view's dimension joins (by upstream), whether it uses ``ASOF``, and what is wrong with them."""

    dimensions: dict[str, DimensionJoin] = field(default_factory=dict)
    asof: bool = False
    problems: list[str] = field(default_factory=list)
    lookbacks: dict[str, timedelta] = field(default_factory=dict)
    """The view's ``reads={name: Lookback(...)}``: read from that long before the range's start."""

    def read_mode(self, upstream: str, definition: Any) -> str:
        """``WHOLE`` for a snapshot, ``UNTIL_END`` for an as-of dimension, else ``EVENT``."""
        if isinstance(definition, BatchSource) and definition.is_snapshot:
            return WHOLE
        join = self.dimensions.get(upstream)
        return UNTIL_END if join is not None and join.time is not None else EVENT


def _conjuncts(condition: exp.Expr | None) -> list[exp.Expr]:
    if condition is None:
        return []
    if isinstance(condition, exp.And):
        return [*_conjuncts(condition.left), *_conjuncts(condition.right)]
    if isinstance(condition, exp.Paren):
        return _conjuncts(condition.this)
    return [condition]


def _own_column(node: exp.Expr, alias: str) -> str | None:
    """The column name when ``node`` is a column of the table aliased ``alias``."""
    if isinstance(node, exp.Column) and node.table and node.table.lower() == alias.lower():
        return node.name
    return None


def _aliases(parsed: ParsedSql) -> dict[str, str]:
    """Table alias (lower case) → upstream name, for every ``{name}`` table of the query."""
    assert parsed.expression is not None
    out = {}
    for table in parsed.expression.find_all(exp.Table):
        if table.name.lower() in parsed.names:
            out[table.alias_or_name.lower()] = parsed.names[table.name.lower()]
    return out


def join_plan(text: str, snapshots: set[str] | frozenset[str] = frozenset(),
              columns: Mapping[str, Columns | None] | None = None) -> JoinPlan:
    """The dimension joins of SQL ``text``; ``snapshots`` names its snapshot upstreams.

    With ``columns`` (upstream → known columns), equi-join keys whose types differ between the two sides
    are problems too. A syntax error yields an empty plan (``analyze_sql`` reports it).
    """
    parsed = parse_sql(text)
    plan = JoinPlan()
    if parsed.expression is None:
        return plan
    aliases = _aliases(parsed)
    for join in parsed.expression.find_all(exp.Join):
        table = join.this
        if not isinstance(table, exp.Table) or table.name.lower() not in parsed.names:
            if str(join.args.get("method") or "").upper() == "ASOF":
                plan.problems.append("ASOF JOIN must join a {name} source or view directly (not a subquery)")
            continue
        upstream, alias = parsed.names[table.name.lower()], table.alias_or_name
        asof = str(join.args.get("method") or "").upper() == "ASOF"
        plan.asof |= asof
        keys: list[str] = [u.name for u in join.args.get("using") or () if isinstance(u, exp.Identifier)]
        times: list[tuple[str, bool, bool]] = []  # (dimension column, strict, backward)
        for part in _conjuncts(join.args.get("on")):
            plan.problems += _key_type_problems(part, aliases, columns or {})
            if isinstance(part, exp.EQ):
                own = [c for c in (_own_column(part.left, alias), _own_column(part.right, alias)) if c]
                if len(own) == 1:
                    keys.append(own[0])
            elif asof and isinstance(part, exp.GTE | exp.GT | exp.LTE | exp.LT):
                left, right = _own_column(part.left, alias), _own_column(part.right, alias)
                if (left is None) == (right is None):
                    continue
                less = isinstance(part, exp.LTE | exp.LT)  # dimension on the left of <=: dim.t <= event.t
                backward = less if left is not None else not less
                times.append((left or right or "", isinstance(part, exp.LT | exp.GT), backward))
        if asof:
            found = _asof_problem(upstream, alias, keys, times)
            if found:
                plan.problems.append(found)
                continue
            time, strict, _ = times[0]
            _add(plan, DimensionJoin(upstream, alias, tuple(keys), time, strict))
        elif upstream in snapshots and keys:
            _add(plan, DimensionJoin(upstream, alias, tuple(keys)))
    return plan


def _asof_problem(upstream: str, alias: str, keys: list[str], times: list[tuple[str, bool, bool]]) -> str | None:
    example = f"ON {alias}.user_id = e.user_id AND {alias}.valid_from <= e.event_ts"
    if len(times) != 1:
        return (f"ASOF JOIN {{{upstream}}} needs exactly one time comparison between a column of {alias!r} and "
                f"the event side, found {len(times)} (e.g. {example})")
    if not times[0][2]:
        return (f"ASOF JOIN {{{upstream}}} compares {alias}.{times[0][0]} the wrong way: the dimension's time must "
                f"be <= (or <) the event's (a row valid at the event's time), e.g. {example}")
    if not keys:
        return f"ASOF JOIN {{{upstream}}} needs at least one equality on a column of {alias!r} (e.g. {example})"
    return None


def _add(plan: JoinPlan, join: DimensionJoin) -> None:
    first = plan.dimensions.get(join.upstream)
    if first is None:
        plan.dimensions[join.upstream] = join
    elif (first.keys, first.time, first.strict) != (join.keys, join.time, join.strict):
        plan.problems.append(f"{{{join.upstream}}} is joined twice in different ways (keys {', '.join(first.keys)} "
                             f"and {', '.join(join.keys)}): join a dimension on one set of keys per query")


def _key_type_problems(part: exp.Expr, aliases: Mapping[str, str], columns: Mapping[str, Columns | None]
                       ) -> list[str]:
    if not isinstance(part, exp.EQ) or not isinstance(part.left, exp.Column) \
            or not isinstance(part.right, exp.Column):
        return []
    sides = []
    for column in (part.left, part.right):
        upstream = aliases.get(column.table.lower()) if column.table else None
        known = columns.get(upstream) if upstream else None
        if known is None:
            return []
        found = {c.lower(): (c, t) for c, t in known.items()}.get(column.name.lower())
        if found is None or found[1] is None:
            return []
        sides.append((upstream, found[0], found[1]))
    (a_up, a_col, a_type), (b_up, b_col, b_type) = sides
    if accepts(a_type, b_type) or accepts(b_type, a_type):
        return []
    return [f"join key types differ: {a_col!r} of {{{a_up}}} is {a_type.name} but {b_col!r} of {{{b_up}}} is "
            f"{b_type.name} (cast one side in the SQL, or fix the source's column type)"]


def view_join_plan(view: FeatureView, definitions: Mapping[str, Any],
                   columns: Mapping[str, Columns | None] | None = None) -> JoinPlan:
    """``join_plan`` of a SQL view, its snapshot upstreams taken from ``definitions``; empty for other views."""
    lookbacks = {name: read.duration for name, read in view.read_windows.items()}
    if not isinstance(view.transform, SqlTransform):
        return JoinPlan(lookbacks=lookbacks)  # type: ignore[arg-type]
    snapshots = {n for n in view.transform.placeholders
                 if isinstance(definitions.get(n), BatchSource) and definitions[n].is_snapshot}
    plan = join_plan(view.transform.text, snapshots, columns)
    plan.lookbacks = lookbacks  # type: ignore[assignment]
    return plan


def spark_sql(text: str, tables: Mapping[str, str], plan: JoinPlan) -> str:
    """The Spark SQL to run: placeholders bound to ``tables``; each ``ASOF`` join as a validity-interval join.

    ``tables`` maps upstream names to temporary views; an as-of dimension's view must carry ``VALID_TO``.
    """
    if not plan.asof:
        return render_sql(text, tables)
    parsed = parse_sql(text)
    assert parsed.expression is not None
    tree = parsed.expression.copy()
    for join in list(tree.find_all(exp.Join)):
        if str(join.args.get("method") or "").upper() != "ASOF":
            continue
        table = join.this
        dimension = plan.dimensions[parsed.names[table.name.lower()]]
        event_time = None
        for part in _conjuncts(join.args.get("on")):
            if isinstance(part, exp.GTE | exp.GT | exp.LTE | exp.LT):
                left = _own_column(part.left, dimension.alias)
                right = _own_column(part.right, dimension.alias)
                if (left is None) != (right is None):
                    event_time = (part.right if left is not None else part.left).copy()
        assert event_time is not None
        valid_to = exp.column(VALID_TO, table=dimension.alias)
        later = exp.LTE if dimension.strict else exp.LT  # strict: dim.t < e.t <= next; else dim.t <= e.t < next
        bound = exp.or_(exp.Is(this=valid_to, expression=exp.Null()),
                        later(this=event_time, expression=valid_to.copy()))
        condition = exp.and_(join.args["on"], exp.Paren(this=bound))
        lookback = plan.lookbacks.get(dimension.upstream)
        if lookback is not None:  # the valid row, if it is not older than the lookback
            oldest = exp.Sub(this=event_time.copy(), expression=exp.Interval(
                this=exp.Literal.string(str(int(lookback.total_seconds()))), unit=exp.var("SECOND")))
            condition = exp.and_(condition, exp.GTE(this=exp.column(dimension.time, table=dimension.alias),
                                                    expression=oldest))
        join.set("method", None)
        join.set("on", condition)
    for table in tree.find_all(exp.Table):
        if table.name.lower() in parsed.names:
            table.set("this", exp.to_identifier(tables[parsed.names[table.name.lower()]]))
    return tree.sql(dialect=DIALECT)


def with_csv_types(columns: Mapping[str, Columns], definitions: Mapping[str, Any], root: Path
                   ) -> dict[str, Columns]:
    """``columns`` where a CSV source's unknown types are inferred from its first file's first block.

    ``plan`` knows a CSV's header only; joining on its keys needs their types (Spark infers them too).
    """
    from pyarrow import csv

    out = dict(columns)
    for name, known in columns.items():
        d = definitions.get(name)
        if not (isinstance(d, BatchSource) and d.format == "csv" and d.path and any(t is None for t in known.values())):
            continue
        location = Path(d.path) if Path(d.path).is_absolute() else root / d.path
        files = data_files(location)
        try:
            with csv.open_csv(files[0]) as reader:
                schema = reader.schema
        except Exception:  # unreadable here: the run names the file
            continue
        inferred = {f.name: arrow_to_feature_type(f.type) for f in schema}
        out[name] = {c: t if t is not None else inferred.get(c) for c, t in known.items()}
    return out


def snapshot_digest(source: BatchSource, root: Path) -> list[list[Any]] | None:
    """What a snapshot's data fingerprint covers: each file's path (relative), size and modification time.

    None for a catalog table (only its definition is fingerprinted) or a path that does not exist yet.
    """
    if source.path is None:
        return None
    location = Path(source.path) if Path(source.path).is_absolute() else root / source.path
    files = data_files(location)
    if not files:
        return None
    out = []
    for f in files:
        stat = f.stat()
        name = f.relative_to(location).as_posix() if location.is_dir() else f.name
        out.append([name, stat.st_size, stat.st_mtime_ns])
    return out


def duplicate_keys(source: BatchSource, root: Path, join: DimensionJoin) -> tuple[int, str] | None:
    """How many keys (with the as-of time: key and time) hold more than one row, and an example; None if none.

    Reads only the key (and time) columns of a Parquet or CSV source with pyarrow; other sources, and
    sources larger than ``MAX_CHECKED_ROWS`` / ``MAX_CHECKED_CSV_BYTES``: None (the run still checks).
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    if source.path is None or source.format not in ("parquet", "csv"):
        return None
    location = Path(source.path) if Path(source.path).is_absolute() else root / source.path
    files = [str(f) for f in data_files(location)]
    if not files:
        return None
    by = [*join.keys, *([join.time] if join.time else [])]
    try:
        dataset = ds.dataset(files, format=source.format)
        if source.format == "parquet" and dataset.count_rows() > MAX_CHECKED_ROWS:
            return None  # too big to read at every plan: the run still keeps one row per key (or refuses)
        if source.format == "csv" and sum(Path(f).stat().st_size for f in files) > MAX_CHECKED_CSV_BYTES:
            return None
        table = dataset.to_table(columns=by)
    except Exception:  # unreadable here: the run reports it, naming the file
        return None
    counts = table.group_by(by).aggregate([([], "count_all")])
    dups = counts.filter(pc.greater(counts["count_all"], 1))
    if dups.num_rows == 0:
        return None
    first = dups.slice(0, 1).to_pylist()[0]
    example = ", ".join(f"{c}={first[c]!r}" for c in by)
    return dups.num_rows, example


def dimension_problems(view: Any, plan: JoinPlan, definitions: Mapping[str, Any], root: Path
                       ) -> list[tuple[str, bool]]:
    """``(message, is_error)`` for a view's dimensions: duplicate keys, a snapshot as event source, ``ASOF``
    times that are not the dimension's own time column."""
    out: list[tuple[str, bool]] = [(p, True) for p in plan.problems]
    for name in getattr(view, "read_windows", {}):
        d = definitions.get(name)
        if isinstance(d, BatchSource) and d.is_snapshot:
            out.append((f"reads[{name!r}]: {name!r} is a snapshot (no timestamp_field), read whole: a Lookback "
                        "has no time to count back from", True))
    source = view.source
    if isinstance(source, BatchSource) and source.is_snapshot \
            and not isinstance(getattr(view, "transform", None), SqlTransform):
        out.append((f"source {source.name!r} is a snapshot (no timestamp_field): it has no event time to give "
                    "the view's rows; read it in a SQL view's JOIN instead", True))
    for name, join in plan.dimensions.items():
        d = definitions.get(name)
        own_time = getattr(d, "timestamp_field", None) if not isinstance(d, FeatureView) else d.timestamp_field
        if join.time is not None and own_time is not None and join.time.lower() != own_time.lower() \
                and not (isinstance(d, BatchSource) and d.is_snapshot):
            out.append((f"ASOF JOIN {{{name}}} compares {join.alias}.{join.time}, but {name!r}'s time column is "
                        f"{own_time!r}: compare that one (rows are read by it), or declare {name!r} a snapshot "
                        "(timestamp_field=None) to read it whole", True))
        if not isinstance(d, BatchSource):
            continue
        found = duplicate_keys(d, root, join)
        if found is None:
            continue
        count, example = found
        what = ("key and time" if join.time else "key") + ("s" if count > 1 else "")
        if d.created_timestamp_field:
            out.append((f"dimension {name!r} has more than one row for {count} {what} (e.g. {example}); the row "
                        f"with the latest {d.created_timestamp_field!r} wins", False))
        else:
            out.append((f"dimension {name!r} has more than one row for {count} {what} (e.g. {example}) and no "
                        f"created_timestamp_field to pick one: declare created_timestamp_field= (e.g. "
                        f"'updated_at') on {name!r} to keep the latest row, or remove the duplicates", True))
    return out
