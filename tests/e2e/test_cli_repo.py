"""The real ``aquifer`` console script on the quickstart and on broken copies of it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

AQUIFER = str(Path(sys.executable).with_name("aquifer"))


def aquifer(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the console script; output is captured as plain text (no colours: not a terminal)."""
    return subprocess.run([AQUIFER, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "COLUMNS": "200"})


@pytest.fixture
def repo(tmp_path) -> Path:
    """A fresh quickstart repo made by ``aquifer init``."""
    result = aquifer("init", str(tmp_path / "fraud"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "fraud"


def test_init_plan_apply_lineage(repo):
    assert (repo / "data" / "transactions.parquet").exists()
    assert "project: fraud" in (repo / "aquifer.yaml").read_text()

    plan = aquifer("plan", "-r", str(repo))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    for name in ("user_spend", "user_spend_shape", "user_txn_windows", "fraud_model_v1", "transactions"):
        assert re.search(rf"\+ added .* {name}\b", plan.stdout), name

    applied = aquifer("apply", "-r", str(repo))
    assert applied.returncode == 0, applied.stderr
    assert "applied project fraud (version 1)" in applied.stdout
    assert "no changes" in aquifer("plan", "-r", str(repo)).stdout

    lineage = aquifer("lineage", "user_spend", "-r", str(repo))
    assert lineage.returncode == 0, lineage.stderr
    assert "transactions.amount" in lineage.stdout and "user_spend.is_large" in lineage.stdout
    assert "user_spend_shape" in lineage.stdout

    listing = aquifer("list", "-r", str(repo))
    assert listing.returncode == 0 and "user_txn_windows" in listing.stdout


def test_metadata_edit_vs_data_edit(repo):
    assert aquifer("apply", "-r", str(repo)).returncode == 0
    payments = repo / "features" / "payments.py"
    text = payments.read_text()
    payments.write_text(text.replace('description="Per-transaction spend facts"', 'description="Spend facts"'))
    plan = aquifer("plan", "-r", str(repo)).stdout
    assert re.search(r"changed \(metadata only\)\s+feature_view\s+user_spend\b", plan)
    assert "changed (data" not in plan

    payments.write_text(text.replace("amount > 1000 AS is_large", "amount > 2000 AS is_large"))
    plan = aquifer("plan", "-r", str(repo)).stdout
    assert re.search(r"changed \(data: recompute\)\s+feature_view\s+user_spend\b", plan)
    # the Python view reads user_spend: its data version changes too
    assert re.search(r"changed \(data: recompute\)\s+feature_view\s+user_spend_shape\b", plan)


BROKEN = '''
from aquifer import FeatureView, Field, sql
from aquifer.types import Float64
from features.entities import user
from features.sources import transactions

loop_a = FeatureView("loop_a", entities=[user], transform=sql("SELECT user_id, event_ts, x FROM {loop_c}"),
                     schema=[Field("x", Float64)])
loop_b = FeatureView("loop_b", entities=[user], transform=sql("SELECT user_id, event_ts, x FROM {loop_a}"),
                     schema=[Field("x", Float64)])
loop_c = FeatureView("loop_c", entities=[user], transform=sql("SELECT user_id, event_ts, x FROM {loop_b}"),
                     schema=[Field("x", Float64)])
typo = FeatureView("typo", entities=[user], transform=sql("SELECT user_id, event_ts, amount FROM {transactons}"),
                   schema=[Field("amount", Float64)])
bad_column = FeatureView("bad_column", entities=[user], source=transactions,
                         transform=sql("SELECT user_id, event_ts, amout FROM {transactions}"),
                         schema=[Field("amout", Float64)])
'''


def test_plan_reports_every_error_and_apply_writes_nothing(repo):
    assert aquifer("apply", "-r", str(repo)).returncode == 0
    (repo / "features" / "broken.py").write_text(BROKEN)
    (repo / "features" / "syntax.py").write_text("def oops(:\n")
    (repo / "features" / "imports.py").write_text("\nimport definitely_not_installed\n")

    plan = aquifer("plan", "-r", str(repo))
    assert plan.returncode == 1
    out = " ".join(plan.stdout.split())
    assert "features/syntax.py:1" in out and "syntax error" in out
    assert "features/imports.py:2" in out and "definitely_not_installed" in out
    assert re.search(r"loop_\w → loop_\w → loop_\w → loop_\w", out)
    assert "features/broken.py:13: typo" in out and "transactons" in out
    assert "features/broken.py:15: bad_column" in out and "amout" in out
    assert "Traceback" not in plan.stdout + plan.stderr

    applied = aquifer("apply", "-r", str(repo))
    assert applied.returncode == 1
    assert "nothing was applied" in applied.stderr
    from aquifer.registry import Registry

    registry = Registry(f"sqlite:///{repo}/.aquifer/registry.db")
    try:
        assert registry.project_version("fraud") == 1
        assert not [d for d in registry.definitions("fraud") if d.name in ("loop_a", "typo", "bad_column")]
    finally:
        registry.close()


def test_malformed_config_names_the_key(repo):
    (repo / "aquifer.yaml").write_text("project: fraud\nonline_store: {adress: x}\n")
    result = aquifer("plan", "-r", str(repo))
    assert result.returncode == 1
    assert "unknown key 'online_store.adress'" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    result = aquifer("init", str(tmp_path / "taken"))
    assert result.returncode == 2 and "not empty" in result.stderr



# --- outside a feature repo: say so, exit 1, write nothing ------------------------------------------------

REPO_COMMANDS = {
    "plan": [], "apply": [], "list": [], "lineage": ["user_spend"], "run": [],
    "backfill": ["user_spend", "--start", "2024-01-01", "--end", "2024-01-02"], "runs": [], "materialize": [],
    "get": ["fraud_model_v1", "--entity", "user_id=1"], "serve": [],
    "train-frame": ["{labels}", "{out}", "--features", "fraud_model_v1"],
}


@pytest.mark.parametrize("command", sorted(REPO_COMMANDS))
def test_repo_commands_outside_a_repo_say_so_and_write_nothing(tmp_path, command):
    here, elsewhere = tmp_path / "not_a_repo", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    (elsewhere / "labels.parquet").write_bytes(b"")  # train-frame checks that its labels file exists first
    paths = {"labels": elsewhere / "labels.parquet", "out": elsewhere / "out.parquet"}
    args = [a.format(**paths) for a in REPO_COMMANDS[command]]
    result = aquifer(command, *args, cwd=here)
    assert result.returncode == 1, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert f"{here.resolve()} is not a feature repo: there is no aquifer.yaml in it or in any folder above it" \
        in message
    assert "aquifer init NAME" in message
    assert f"aquifer {command} --repo PATH" in message
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert list(here.iterdir()) == []
    assert sorted(p.name for p in elsewhere.iterdir()) == ["labels.parquet"]


def test_plan_above_a_repo_points_into_it_and_writes_nothing(repo):
    above = repo.parent
    before = sorted(p.name for p in above.iterdir())
    result = aquifer("plan", cwd=above)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"{above.resolve()} is not a feature repo" in message
    assert "there is one in fraud/: aquifer plan --repo fraud" in message
    assert sorted(p.name for p in above.iterdir()) == before
    assert not (repo / ".aquifer").exists()


def test_a_missing_repo_folder_is_named(tmp_path):
    result = aquifer("list", "--repo", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert f"{tmp_path / 'nowhere'} is not a feature repo: the folder does not exist" in " ".join(result.stderr.split())
    assert list(tmp_path.iterdir()) == []


def test_commands_find_the_repo_from_a_subfolder(repo):
    result = aquifer("plan", cwd=repo / "features")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\+ added .* user_spend\b", result.stdout)
    assert (repo / ".aquifer" / "registry.db").exists()
    assert not (repo / "features" / ".aquifer").exists()
