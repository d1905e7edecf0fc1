"""Syntax highlighting of a transform's source (SQL or Python) with Pygments (installed with ``rich``).

Pygments escapes the text it wraps in ``<span class="...">``; ``ui.css`` colours the classes. Without Pygments
the text is only escaped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape


@lru_cache(maxsize=4)
def _tools(language: str) -> tuple[Any, Any] | None:
    try:
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer, SqlLexer
    except ImportError:  # pragma: no cover - rich depends on pygments
        return None
    lexer = SqlLexer() if language == "sql" else PythonLexer()
    return lexer, HtmlFormatter(nowrap=True)


@lru_cache(maxsize=256)
def highlight(code: str, language: str) -> Markup:
    """``code`` as HTML spans (``language``: ``sql`` or ``python``), escaped; cached (sources change on apply)."""
    tools = _tools(language)
    if tools is None:
        return Markup(escape(code))
    from pygments import highlight as render

    return Markup(render(code, *tools))


def warm() -> None:
    """Load the lexers now, so the first view page does not pay for importing them."""
    highlight("SELECT 1", "sql")
    highlight("x = 1", "python")
