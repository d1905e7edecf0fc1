"""Connections: URL rules, SQLite WAL + busy timeout, the schema_version row, schema isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text, update

from aquifer.registry import Registry, RegistryError, normalize_url
from aquifer.registry import schema as t


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u:pw@h:5432/db", "postgresql+psycopg://u:pw@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///rel/reg.db", "sqlite:///rel/reg.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_sqlite_is_wal_with_busy_timeout(tmp_path) -> None:
    reg = Registry(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'r.db'}")  # parent folders are created
    with reg, reg.db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    assert (tmp_path / "sub" / "dir" / "r.db").exists()


def test_a_new_registry_opens_while_another_process_holds_its_lock(tmp_path) -> None:
    """Two workers opening a new registry together: SQLite refuses the switch to WAL at once (no busy
    handler) while the other holds a lock; the open must wait for it, not fail with "database is locked"."""
    import sqlite3
    import threading

    path = tmp_path / "r.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE held (x)")
    release = threading.Timer(0.5, other.execute, args=("COMMIT",))
    release.start()
    try:
        with Registry(f"sqlite:///{path}") as reg, reg.db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        release.join()
        other.close()


def test_sqlite_in_memory_works_across_threads() -> None:
    import threading

    with Registry("sqlite://") as reg:
        th = threading.Thread(target=reg.add_alert, args=("p", "k", "s", "info", "from a thread"))
        th.start()
        th.join()
        assert [a.message for a in reg.alerts("p")] == ["from a thread"]


def test_unsupported_urls_are_refused(tmp_path) -> None:
    with pytest.raises(RegistryError, match="unsupported registry database 'mysql'"):
        Registry("mysql://u@h/db")
    with pytest.raises(RegistryError, match="only supported on PostgreSQL"):
        Registry(f"sqlite:///{tmp_path / 'r.db'}", schema="x")
    with pytest.raises(RegistryError, match="not a database URL"):
        Registry("not a url")


def test_schema_version_row(registry: Registry) -> None:
    with registry.db.read() as conn:
        assert conn.execute(select(t.schema_version.c.version)).scalar() == t.LAYOUT_VERSION


def test_newer_schema_version_is_refused(open_registry) -> None:
    reg = open_registry()
    with reg.db.write() as conn:
        conn.execute(update(t.schema_version).values(version=t.LAYOUT_VERSION + 1))
    reg.close()  # the last handle disposes the engine, so the next one checks the layout again
    with pytest.raises(RegistryError, match="newer than this aquifer understands"):
        open_registry()


@pytest.mark.postgres
def test_postgres_schemas_isolate_registries(postgres_url: str) -> None:
    import uuid

    names = [f"aqt_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    regs = [Registry(postgres_url.replace("postgresql+psycopg://", "postgres://"), schema=n) for n in names]
    try:
        regs[0].add_alert("p", "k", "s", "info", "only in the first")
        assert [a.message for a in regs[0].alerts("p")] == ["only in the first"]
        assert regs[1].alerts("p") == []
        assert regs[0].url.startswith("postgresql+psycopg://")
    finally:
        for reg in regs:
            reg.close()
        engine = create_engine(postgres_url)
        with engine.begin() as conn:
            for n in names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{n}" CASCADE'))
        engine.dispose()
