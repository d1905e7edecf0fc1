"""The import rules of ARCHITECTURE.md, checked on every import statement of the package (lazy ones too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "aquifer"

# Each room and the rooms it may import (besides itself). ARCHITECTURE.md draws the same table.
ALLOWED: dict[str, set[str]] = {
    "times": set(),
    "definitions": set(),
    "types": {"definitions"},
    "config": {"definitions", "times"},
    "repo": {"config", "definitions"},
    "analysis": {"definitions", "repo", "config", "times"},
    "planning": {"definitions", "times"},
    "registry": {"definitions", "planning", "times"},
    "aggregations": {"definitions", "times"},
    "alerts": set(),
    "stream_broker": set(),  # the Tansu test/demo broker: no aquifer room, confluent-kafka lazily
    "stores": {"definitions", "times"},
    "quality": {"definitions", "times", "config", "alerts", "aggregations"},
    "engines": {"definitions", "times", "config", "analysis", "planning", "aggregations", "stores", "quality"},
    "runs": {"definitions", "times", "config", "planning", "alerts", "stores", "engines", "quality"},
    "training": {"definitions", "times", "config", "repo", "planning", "stores", "engines", "quality"},
    "serving": {"definitions", "times", "config", "repo", "alerts", "stores", "quality"},
    "catalog": {"definitions", "times", "config", "analysis"},  # hooks: OpenLineage, DataHub, webhook
    "api": {"definitions", "times", "config", "repo", "alerts", "stores", "serving", "runs", "quality"},
    "ui": {"definitions", "times", "config", "repo", "alerts", "stores", "serving", "runs", "quality", "api"},
    "sdk": {"definitions", "times", "config", "repo", "analysis", "registry", "planning", "stores", "runs",
            "training", "serving", "quality", "catalog"},
    "cli": {"definitions", "times", "config", "repo", "analysis", "registry", "planning", "stores", "runs",
            "training", "serving", "api", "sdk", "templates", "engines", "stream_broker", "quality", "ui", "catalog"},
    "aquifer": {"definitions", "types", "sdk"},  # the package's own __init__: the public names
}

HEAVY = {"pyspark", "pandas", "numpy", "pyarrow", "duckdb", "redis", "hiredis", "sqlalchemy", "psycopg", "sqlglot",
         "fastapi", "starlette", "uvicorn", "httpx", "datasketches", "torch", "sklearn", "great_expectations"}
HTTP = {"fastapi", "starlette", "uvicorn", "httpx", "requests", "urllib.request", "http.client", "http.server"}
# third-party imports a room must never make, anywhere in it (even lazily)
FORBIDDEN: dict[str, set[str]] = {
    "definitions": HEAVY,  # a feature repo loads in milliseconds, with no JVM
    "aggregations": {"pyspark", "duckdb", "redis"},  # one model for every engine: it imports none
    "serving": {"pyspark", "duckdb"},  # serving starts no JVM
    "stores": HTTP,  # stores know no HTTP
    "planning": HEAVY,
    "quality": {"pyspark", "duckdb", "redis"},  # engines run quality's rules; quality runs no engine
    "catalog": {"pyspark", "duckdb", "redis"},  # hooks describe; they compute nothing
    "ui": {"pyspark", "duckdb"},  # pages render what the registry and the online store hold
}


def room(module: str) -> str:
    """``aquifer.engines.spark.job`` -> ``engines``; ``aquifer`` -> ``aquifer``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "aquifer"


def imports(source: str, module: str) -> list[tuple[str, int]]:
    """Every imported module name (absolute; relative ones resolved) with its line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            found.append((base, node.lineno))
    return found


def violations(source: str, module: str) -> list[str]:
    """What ``module`` (its ``source``) imports against the rules above, one line each."""
    mine = room(module)
    out = []
    for name, line in imports(source, module):
        if name == "aquifer" or name.startswith("aquifer."):
            target = room(name)
            if target != mine and target not in ALLOWED.get(mine, set()):
                out.append(f"{module}:{line} imports {name} ({mine} may not import {target})")
        elif any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN.get(mine, ())):
            out.append(f"{module}:{line} imports {name} ({mine} must not)")
    return out


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "templates" in parts:  # user feature repos shipped as data, not part of the package's layers
            continue
        out.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return out


def test_every_room_is_in_the_table():
    rooms = {room(m) for m, _ in modules()}
    assert rooms <= set(ALLOWED), f"rooms missing from ALLOWED (and ARCHITECTURE.md): {rooms - set(ALLOWED)}"


def test_imports_follow_the_architecture():
    found = [v for module, path in modules() for v in violations(path.read_text(), module)]
    assert not found, "imports against ARCHITECTURE.md:\n" + "\n".join(found)


def test_architecture_md_names_every_room():
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text()
    missing = [r for r in ALLOWED if r != "aquifer" and f"`{r}" not in text]
    assert not missing, f"ARCHITECTURE.md does not describe: {missing}"


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("aquifer.serving.plan", "import pyspark.sql", "serving must not"),
    ("aquifer.definitions.views", "def f():\n    import pandas as pd", "definitions must not"),
    ("aquifer.aggregations.windows", "from aquifer.engines.spark import job", "aggregations may not import engines"),
    ("aquifer.stores.online.codec", "import httpx", "stores must not"),
    ("aquifer.engines.spark.job", "from aquifer.runs import events", "engines may not import runs"),
    ("aquifer.engines.spark.job", "from ...runs import events", "engines may not import runs"),
])
def test_the_checker_catches_a_broken_rule(module, source, expected):
    (found,) = violations(source, module)
    assert expected in found
