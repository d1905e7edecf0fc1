"""Runs, statistics, validation results and alerts round-trip, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aquifer.registry import Registry, RegistryError, RunRecord

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def test_run_lifecycle(registry: Registry) -> None:
    run_id = registry.start_run("p", "v", "batch", T0, T0 + timedelta(days=1))
    [running] = registry.runs("p")
    assert isinstance(running, RunRecord)
    assert (running.id, running.status, running.finished_at, running.duration_s) == (run_id, "running", None, None)
    assert running.start == T0 and running.start.tzinfo is not None

    registry.finish_run(run_id, status="succeeded", rows_in=10, rows_out=7, details={"partitions": ["2024-03-01"]})
    done = registry.run(run_id)
    assert done is not None
    assert (done.status, done.rows_in, done.rows_out, done.error) == ("succeeded", 10, 7, None)
    assert done.details["partitions"] == ["2024-03-01"]
    assert done.details["owner"]["pid"] == __import__("os").getpid()  # who ran it, to spot abandoned runs
    assert done.finished_at is not None and done.finished_at >= done.started_at
    assert done.duration_s is not None and done.duration_s >= 0
    assert done.end == T0 + timedelta(days=1)

    with pytest.raises(RegistryError, match="already finished"):
        registry.finish_run(run_id, status="failed")
    with pytest.raises(RegistryError, match="no run with id"):
        registry.finish_run(987654, status="failed")
    with pytest.raises(ValueError, match="finishes with one of"):
        registry.finish_run(run_id, status="done")


def test_runs_filters_and_order(registry: Registry) -> None:
    a = registry.start_run("p", "v1", "batch", T0, T0 + timedelta(hours=1))
    b = registry.start_run("p", "v2", "materialize", T0, T0 + timedelta(hours=1))
    c = registry.start_run("p", "v1", "stream", None, None)
    registry.start_run("other", "v1", "batch", T0, T0 + timedelta(hours=1))
    registry.finish_run(a, status="failed", error="boom")
    assert [r.id for r in registry.runs("p")] == [c, b, a]  # newest first
    assert [r.id for r in registry.runs("p", view="v1")] == [c, a]
    assert [r.id for r in registry.runs("p", kind="materialize")] == [b]
    assert [r.id for r in registry.runs("p", limit=1)] == [c]
    failed = registry.run(a)
    assert failed is not None and (failed.status, failed.error) == ("failed", "boom")
    with pytest.raises(ValueError, match="run kind"):
        registry.start_run("p", "v", "nightly", None, None)


def test_statistics_latest_per_feature(registry: Registry) -> None:
    registry.add_statistics("p", "v", "amount", {"mean": 1.0}, computed_at=T0)
    registry.add_statistics("p", "v", "amount", {"mean": 2.5, "histogram": [1, 2, 3]}, computed_at=T0 + timedelta(1))
    registry.add_statistics("p", "v", "amount", {"mean": 0.0}, computed_at=T0 - timedelta(1))  # late, older
    registry.add_statistics("p", "v", "merchant", {"distinct": 4})
    registry.add_statistics("p", "w", "amount", {"mean": 99})
    stats = registry.statistics("p", "v")
    assert sorted(stats) == ["amount", "merchant"]
    assert stats["amount"].stats == {"mean": 2.5, "histogram": [1, 2, 3]}
    assert stats["amount"].computed_at == T0 + timedelta(1)
    assert stats["merchant"].stats == {"distinct": 4}
    assert registry.statistics("p", "nothing") == {}


def test_validation_results(registry: Registry) -> None:
    registry.add_validation_result("p", "v", False, {"failed": ["amount >= 0"]})
    second = registry.add_validation_result("p", "v", True, {"failed": []})
    results = registry.validation_results("p", "v", limit=10)
    assert [r.success for r in results] == [True, False]
    assert results[0].id == second and results[1].results == {"failed": ["amount >= 0"]}
    assert len(registry.validation_results("p", "v", limit=1)) == 1


def test_alerts(registry: Registry) -> None:
    first = registry.add_alert("p", "drift", "user_spend:amount", "warning", "PSI 0.3", {"psi": 0.3})
    second = registry.add_alert("p", "validation", "user_spend", "error", "suite failed")
    registry.add_alert("other", "drift", "x", "info", "ignored")
    assert [a.id for a in registry.alerts("p")] == [second, first]
    [drift] = registry.alerts("p", kind="drift")
    assert (drift.subject, drift.severity, drift.message, drift.details) == (
        "user_spend:amount", "warning", "PSI 0.3", {"psi": 0.3})
    assert drift.created_at.tzinfo is not None
    assert [a.id for a in registry.alerts("p", subject="user_spend")] == [second]
    with pytest.raises(ValueError, match="severity"):
        registry.add_alert("p", "drift", "x", "fatal", "no such severity")


def test_runs_of_dead_processes_are_marked_abandoned(registry):
    import subprocess
    import sys

    mine = registry.start_run("p", "v", "batch", None, None)
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)
    orphan = registry.start_run("p", "v", "batch", None, None)
    with registry.db.write() as conn:  # pretend a process that has exited started this one
        from aquifer.registry import schema as t

        conn.execute(t.runs.update().where(t.runs.c.id == orphan).values(
            details={"owner": {"host": __import__("socket").gethostname(), "pid": dead_pid}}))
    assert registry.abandon_dead_runs("p") == [orphan]
    assert registry.run(orphan).status == "failed" and "abandoned" in registry.run(orphan).error
    assert registry.run(mine).status == "running"  # this process is alive: its run is left alone
