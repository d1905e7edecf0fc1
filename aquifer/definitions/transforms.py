"""Transformations: SQL text (``sql(...)``) or a Python function whose parameters name its upstreams."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from aquifer.definitions.base import DefinitionError, caller_location, wrong

_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


@dataclass(frozen=True)
class SqlTransform:
    """A SQL ``SELECT`` whose ``{name}`` placeholders name upstream sources or views."""

    text: str
    location: str | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Upstream names in order of first appearance (a cheap scan; analysis parses the SQL)."""
        seen: dict[str, None] = {}
        for match in _PLACEHOLDER.finditer(self.text):
            seen.setdefault(match.group(1), None)
        return tuple(seen)


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
