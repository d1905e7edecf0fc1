"""Fixtures of the PIT conformance suite: one seeded dataset written once per session."""

from __future__ import annotations

import pytest
from pit_data import generate, make_store, write_view


@pytest.fixture(scope="session")
def dataset():
    """Seeded feature rows and labels (see ``pit_data.generate``)."""
    return generate()


@pytest.fixture(scope="session")
def pit_store(tmp_path_factory, dataset):
    """A store whose offline data holds the dataset's three views (``not_yet_run`` has no data)."""
    store = make_store(tmp_path_factory.mktemp("pit_repo"))
    for name, rows in dataset.features.items():
        write_view(store, name, rows)
    return store


@pytest.fixture
def stale_listing(tmp_path, dataset, monkeypatch):
    """``(store, calls)``: a store holding ``user_stats`` whose first DuckDB file listing names a file a
    finished swap has since deleted; ``calls`` records every listing."""
    from aquifer.engines.duckdb import pit as duck_pit

    store = make_store(tmp_path)
    write_view(store, "user_stats", dataset.features["user_stats"])
    real, calls = duck_pit.snapshot_files, []

    def stale_once(view_dir, days=None):
        calls.append(view_dir)
        files = real(view_dir, days)
        return [*files, view_dir / "event_date=2024-03-02" / "gone.parquet"] if len(calls) == 1 else files

    monkeypatch.setattr(duck_pit, "snapshot_files", stale_once)
    return store, calls
