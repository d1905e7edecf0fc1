"""``aquifer get`` and ``aquifer materialize --clean`` through the real CLI app."""

from __future__ import annotations

import pytest
from online_repo import now_us
from typer.testing import CliRunner

from aquifer.cli import _register, app

pytestmark = pytest.mark.redis


def test_get_prints_values_and_statuses(store, put):
    _register()
    put("user_stats", {"user_id": 1}, [3, 12.5, "FR", True], now_us())
    runner = CliRunner()
    result = runner.invoke(app, ["get", "scoring", "-e", "user_id=1", "-e", "merchant_id=4", "-e", "user_id=2",
                                 "-e", "merchant_id=4", "--repo", str(store.config.root)])
    assert result.exit_code == 0, result.output
    assert "12.5" in result.output and "FR" in result.output and "missing" in result.output
    bad = runner.invoke(app, ["get", "user_stats:nope", "-e", "user_id=1", "--repo", str(store.config.root)])
    assert bad.exit_code == 1 and "nope" in bad.output
    cleaned = runner.invoke(app, ["materialize", "--clean", "user_stats", "--repo", str(store.config.root)])
    assert cleaned.exit_code == 0 and "from 1 entities" in cleaned.output
