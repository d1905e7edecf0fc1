"""Fingerprints: short sha256 hashes of canonical JSON, split into a data part and a metadata part.

The data part covers ``data_spec`` (with transforms normalized) plus the data fingerprints of everything
upstream, so editing an upstream transform changes every downstream data fingerprint. The meta part
covers ``meta_spec`` only: description, owner, tags, TTL, freshness and lateness never force a recompute.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from aquifer.analysis.result import Fingerprint
from aquifer.analysis.sql import DIALECT
from aquifer.definitions import Definition, FeatureView, PythonTransform, SqlTransform
from aquifer.definitions.spec import data_spec, meta_spec

HASH_CHARS = 16


def digest(value: Any) -> str:
    """Short hex sha256 of ``value`` as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_CHARS]


def normalize_python(source: str) -> str:
    """A function's body as ``ast.unparse`` prints it: no decorators, docstring, comments or layout.

    Decorator arguments (schema, TTL, ...) are already in the data/meta specs, and the docstring is the
    view's description (metadata), so neither may change the data fingerprint.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source.strip()
    fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)), None)
    if fn is None:
        return source.strip()
    fn.decorator_list = []
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        fn.body = body[1:] or [ast.Pass()]
    return ast.unparse(fn)


def normalize_sql(text: str) -> str:
    """The SQL's tokens joined by single spaces: comments, layout and keyword case do not count.

    Tokens rather than sqlglot's pretty-printer, so that upgrading sqlglot does not change every
    fingerprint (and so force a full recompute).
    """
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
    except SqlglotError:
        return text.strip()
    parts = []
    for token in tokens:
        if token.token_type == TokenType.STRING:
            parts.append(repr(token.text))
        elif token.token_type == TokenType.IDENTIFIER:
            parts.append(f"`{token.text}`")
        elif token.token_type in (TokenType.VAR, TokenType.NUMBER):
            parts.append(token.text)
        else:
            parts.append(token.text.upper())
    return " ".join(parts)


def hashed_data_spec(d: Definition) -> dict[str, Any]:
    """``data_spec(d)`` with its transform normalized (module paths dropped: moving a file changes no rows)."""
    spec = data_spec(d)
    if isinstance(d, FeatureView) and isinstance(d.transform, PythonTransform):
        spec["transform"] = {"kind": "python", "params": list(d.transform.params),
                             "source": normalize_python(d.transform.source)}
    elif isinstance(d, FeatureView) and isinstance(d.transform, SqlTransform):
        spec["transform"] = {"kind": "sql", "text": normalize_sql(d.transform.text)}
    return spec


def fingerprint_all(
    nodes: Mapping[tuple[str, str], Definition],
    depends_on: Callable[[Definition], list[tuple[str, str]]],
    content: Mapping[tuple[str, str], Any] | None = None,
) -> dict[tuple[str, str], Fingerprint]:
    """Fingerprints of every ``(kind, name)`` node; ``depends_on`` lists a node's upstream keys.

    An upstream that does not exist contributes ``null``; one on a cycle contributes ``"cycle"``.
    ``content`` adds what a node's data is beyond its definition (a snapshot's file set) to its data part.
    """
    data: dict[tuple[str, str], str] = {}
    busy: set[tuple[str, str]] = set()

    def data_fp(key: tuple[str, str]) -> str | None:
        if key in data:
            return data[key]
        if key not in nodes:
            return None
        if key in busy:
            return "cycle"
        busy.add(key)
        d = nodes[key]
        upstream = {f"{k}:{n}": data_fp((k, n)) for k, n in depends_on(d)}
        busy.discard(key)
        payload = {"kind": d.kind, "spec": hashed_data_spec(d), "upstream": upstream}
        if content and key in content:
            payload["content"] = content[key]
        data[key] = digest(payload)
        return data[key]

    out = {}
    for key, d in nodes.items():
        out[key] = Fingerprint(data=data_fp(key) or "", meta=digest({"kind": d.kind, "meta": meta_spec(d)}))
    return out
