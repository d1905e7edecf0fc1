"""Connections to the registry database: URL rules, one engine per URL, read and write transactions.

- ``postgres://`` and ``postgresql://`` mean ``postgresql+psycopg://`` (psycopg 3; psycopg2 is not used).
- SQLite runs in WAL mode with a busy timeout so several processes can share one file (the switch to WAL,
  which SQLite does not queue behind the busy handler, is retried); every write
  transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock up front, so two writers queue
  instead of failing with "database is locked" half way through).
- PostgreSQL may keep the tables in a schema of their own (``schema=``); it is created when missing.
- Tables are created on first use; the ``aq_schema_version`` row records the layout version. An older
  layout is migrated on first use (``schema.MIGRATIONS``); a newer one is refused.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from aquifer.registry import schema as t
from aquifer.registry.errors import RegistryError
from aquifer.registry.times import utc_now

BUSY_TIMEOUT_S = 30


def normalize_url(url: str) -> str:
    """The SQLAlchemy URL to connect with: PostgreSQL URLs are pointed at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database or ""
    memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if memory:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event below issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        if not memory:
            _use_wal(cur, database)
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("aquifer_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _use_wal(cur: Any, database: str) -> None:
    """Put the file in WAL mode (it stays so). SQLite answers "database is locked" at once, without its
    busy handler, when another process holds a lock while the mode changes (two processes opening a new
    registry together), so the switch is retried until the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise RegistryError(f"cannot put the registry {database} in WAL mode: {exc}") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _make_engine(url: str, schema: str | None) -> Engine:
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise RegistryError(f"not a database URL: {url!r} ({exc}); use sqlite:///path or postgresql://...") from None
    if backend == "sqlite":
        if schema is not None:
            raise RegistryError("schema= is only supported on PostgreSQL registries")
        return _sqlite_engine(url)
    if backend != "postgresql":
        raise RegistryError(f"unsupported registry database {backend!r} in {url!r}; use sqlite or postgresql")
    engine = create_engine(url, pool_pre_ping=True)
    if schema is not None:
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


class Database:
    """One registry database: an engine plus read / write transaction helpers. Engines are shared per URL."""

    _cache: dict[tuple[str, str | None], list[Any]] = {}  # key -> [engine, refcount]
    _cache_lock = threading.Lock()

    def __init__(self, url: str, schema: str | None = None):
        self.url = normalize_url(url)
        self.schema = schema
        self._key = (self.url, schema)
        self._closed = False
        with self._cache_lock:
            entry = self._cache.get(self._key)
            if entry is None:
                engine = _make_engine(self.url, schema)
                entry = self._cache[self._key] = [engine, 0]
                self.dialect = engine.dialect.name
                try:
                    self._create(engine)
                except Exception:
                    del self._cache[self._key]
                    engine.dispose()
                    raise
            entry[1] += 1
            self.engine: Engine = entry[0]
        self.dialect: str = self.engine.dialect.name

    def _create(self, engine: Engine) -> None:
        if self.schema is not None:
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("aquifer-create-schema")})
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        with self.write_on(engine) as conn:
            self.lock(conn, "aquifer-create-tables")
            t.metadata.create_all(conn)
            found = conn.execute(select(t.schema_version.c.version)).scalar()
            if found is None:
                conn.execute(t.schema_version.insert().values(id=1, version=t.LAYOUT_VERSION, updated_at=utc_now()))
            elif found > t.LAYOUT_VERSION:
                raise RegistryError(
                    f"the registry at {self.url} has layout version {found}, newer than this aquifer "
                    f"understands ({t.LAYOUT_VERSION}); upgrade aquifer"
                )
            elif found < t.LAYOUT_VERSION:
                self._migrate(conn, found)

    def _migrate(self, conn: Connection, found: int) -> None:
        """Bring layout ``found`` up to ``LAYOUT_VERSION`` in the caller's transaction (under its lock)."""
        prefix = "" if self.schema is None else f'"{self.schema}".'
        for version in range(found + 1, t.LAYOUT_VERSION + 1):
            for table, column in t.MIGRATIONS.get(version, []):
                conn.execute(text(f"ALTER TABLE {prefix}{table} ADD COLUMN {column}"))
        conn.execute(update(t.schema_version).values(version=t.LAYOUT_VERSION, updated_at=utc_now()))

    @contextmanager
    def write_on(self, engine: Engine) -> Iterator[Connection]:
        """A write transaction on ``engine`` (``BEGIN IMMEDIATE`` on SQLite); commits on success."""
        with engine.connect() as conn:
            conn.execution_options(aquifer_write=True)
            with conn.begin():
                yield conn

    def write(self) -> Iterator[Connection]:
        """A write transaction; commits when the block ends without an exception, else rolls back."""
        return self.write_on(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (one consistent snapshot on SQLite)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def lock(self, conn: Connection, *parts: str) -> None:
        """Serialize writers on a key until the transaction ends (SQLite writers are serialized already)."""
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(str(self.schema), *parts)})

    def insert_ignore(self, conn: Connection, table: Any, values: dict[str, Any], keys: list[str]) -> None:
        """``INSERT ... ON CONFLICT (keys) DO NOTHING``."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        conn.execute(dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))

    def close(self) -> None:
        """Release this handle; the shared engine is disposed when its last handle closes."""
        if self._closed:
            return
        self._closed = True
        with self._cache_lock:
            entry = self._cache.get(self._key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._cache[self._key]
                entry[0].dispose()


def _after_fork_in_child() -> None:
    """A forked child must not reuse the parent's pooled connections: give it fresh pools."""
    for engine, _ in list(Database._cache.values()):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock``."""
    digest = hashlib.blake2b("\0".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
