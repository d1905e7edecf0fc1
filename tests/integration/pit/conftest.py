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
