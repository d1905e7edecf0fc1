"""A quickstart repo (definitions only, no data) for the SDK's unit tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def quickstart_definitions(tmp_path_factory) -> Path:
    """The quickstart template copied as it ships, without generated data."""
    from aquifer.cli.repo_commands import _TEMPLATE_SKIP, TEMPLATE

    root = tmp_path_factory.mktemp("sdk_unit") / "quickstart"
    shutil.copytree(TEMPLATE, root, ignore=_TEMPLATE_SKIP)
    return root
