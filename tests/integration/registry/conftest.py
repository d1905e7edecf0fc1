"""Every registry test runs twice: on a fresh SQLite file and in a fresh PostgreSQL schema (dropped after)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from aquifer.registry import Registry

OpenRegistry = Callable[[], Registry]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_registry(request, tmp_path) -> Iterator[OpenRegistry]:
    """A factory of ``Registry`` handles on one fresh database (each call opens another handle)."""
    opened: list[Registry] = []
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'registry.db'}", None
    else:
        url = request.getfixturevalue("postgres_url")
        schema = f"aqt_{uuid.uuid4().hex[:12]}"

    def open_one() -> Registry:
        registry = Registry(url, schema=schema)
        opened.append(registry)
        return registry

    yield open_one
    for registry in opened:
        registry.close()
    if schema is not None:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def registry(open_registry: OpenRegistry) -> Registry:
    """A registry on a fresh database (SQLite file or PostgreSQL schema)."""
    return open_registry()
