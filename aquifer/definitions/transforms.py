"""Transformations: SQL text (``sql(...)``) or a Python function whose parameters name its upstreams.

This module holds the one rule for ``{name}`` placeholders in SQL (``find_placeholders``, ``render_sql``);
analysis and the engines use it rather than their own.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aquifer.definitions.base import DefinitionError, caller_location, wrong

PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
"""One ``{name}`` placeholder (spaces allowed inside the braces); group 1 is the name."""

_NEXT = re.compile(r"--|/\*|['\"`{]")  # what starts a comment, a quoted literal or identifier, or a placeholder
_COMMENT_MARK = re.compile(r"/\*|\*/")
_ESCAPED_END = {q: re.compile(rf"[^{q}\\]*(?:\\.[^{q}\\]*)*{q}", re.S) for q in "'\""}
_WORD = re.compile(r"[A-Za-z0-9_]")


def find_placeholders(text: str) -> list[re.Match[str]]:
    """The ``{name}`` placeholders of SQL ``text``, in order, as ``PLACEHOLDER`` matches against ``text``.

    Spark SQL's lexical rules decide what is code: ``{name}`` inside a ``--`` or ``/* */`` comment (nested
    and hints included), a ``'...'`` or ``"..."`` string literal (backslash escapes; ``r'...'`` raw) or a
    backquoted identifier is text, not a placeholder. An unterminated literal or comment runs to the end.
    """
    found: list[re.Match[str]] = []
    pos = 0
    while (start := _NEXT.search(text, pos)) is not None:
        mark, at = start.group(), start.start()
        if mark == "{":
            match = PLACEHOLDER.match(text, at)
            if match is not None:
                found.append(match)
            pos = match.end() if match is not None else at + 1
        elif mark == "--":
            line_end = text.find("\n", at)
            pos = len(text) if line_end < 0 else line_end + 1
        elif mark == "/*":
            pos = _comment_end(text, at + 2)
        elif mark == "`":
            close = text.find("`", at + 1)  # a doubled `` inside is an end and a new start: same outcome
            pos = len(text) if close < 0 else close + 1
        elif at > 0 and text[at - 1] in "rR" and (at == 1 or not _WORD.match(text[at - 2])):
            close = text.find(mark, at + 1)  # raw string: a backslash escapes nothing
            pos = len(text) if close < 0 else close + 1
        else:
            end = _ESCAPED_END[mark].match(text, at + 1)
            pos = len(text) if end is None else end.end()
    return found


def _comment_end(text: str, pos: int) -> int:
    depth = 1
    while depth:
        mark = _COMMENT_MARK.search(text, pos)
        if mark is None:
            return len(text)
        depth += 1 if mark.group() == "/*" else -1
        pos = mark.end()
    return pos


def render_sql(text: str, tables: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` placeholder (see ``find_placeholders``) replaced by ``tables[name]``.

    Everything else is kept verbatim. Raises ``KeyError`` naming the first placeholder ``tables`` lacks.
    """
    out, pos = [], 0
    for match in find_placeholders(text):
        name = match.group(1)
        if name not in tables:
            raise KeyError(f"no table given for {{{name}}} (given: {', '.join(sorted(tables)) or 'none'})")
        out += [text[pos:match.start()], tables[name]]
        pos = match.end()
    out.append(text[pos:])
    return "".join(out)


@dataclass(frozen=True)
class SqlTransform:
    """A SQL ``SELECT`` whose ``{name}`` placeholders name upstream sources or views."""

    text: str
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Upstream names in order of first appearance (``find_placeholders``; analysis parses the SQL)."""
        return tuple(dict.fromkeys(match.group(1) for match in find_placeholders(self.text)))


def sql(text: str) -> SqlTransform:
    """Declare a SQL transformation: ``sql("SELECT user_id, event_ts, amount FROM {transactions}")``."""
    location = caller_location()
    if not isinstance(text, str) or not text.strip():
        raise wrong("sql()", "text", "a non-empty SELECT statement", text, location)
    return SqlTransform(textwrap.dedent(text).strip(), location=location)


@dataclass(frozen=True)
class PythonTransform:
    """A Python function; each parameter names an upstream view or source and receives its DataFrame.

    The registry stores ``module``, ``qualname`` and ``source`` text, never a pickle.
    """

    module: str
    qualname: str
    params: tuple[str, ...]
    source: str
    function: Callable | None = field(default=None, compare=False, repr=False, hash=False)

    @classmethod
    def from_function(cls, fn: Callable) -> PythonTransform:
        """Capture a function's identity, parameters and source text."""
        signature = inspect.signature(fn)
        params = []
        for p in signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise DefinitionError(
                    f"feature view function {fn.__name__!r} cannot take *args/**kwargs: "
                    "each parameter must name one upstream view or source",
                    _function_location(fn),
                )
            params.append(p.name)
        try:
            source = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError):
            source = ""
        return cls(fn.__module__, fn.__qualname__, tuple(params), source, fn)


def _function_location(fn: Callable) -> str | None:
    code = getattr(fn, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code else caller_location()


Transform = SqlTransform | PythonTransform
