"""The batch pipeline runs unchanged against a Spark standalone cluster (``spark.master: spark://...``).

A master and one worker are started from the pyspark install (``bin/spark-class``) on loopback; the
quickstart repo only changes its ``spark.master``. The offline store must be a path every executor can
reach: on one machine a local folder is.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

AQUIFER = str(Path(sys.executable).with_name("aquifer"))
pytestmark = [pytest.mark.spark, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def standalone_master(tmp_path):
    import pyspark

    spark_class = str(Path(pyspark.__file__).parent / "bin" / "spark-class")
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(tmp_path / "logs"),
           "SPARK_WORKER_DIR": str(tmp_path / "work")}
    port, ui = free_port(), free_port()
    master = subprocess.Popen([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(port), "--webui-port", str(ui)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        wait_for_port(port)
        worker = subprocess.Popen([spark_class, "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
                                   "--host", "127.0.0.1", "--cores", "2", "--memory", "2g",
                                   "--webui-port", str(free_port())], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)  # the worker registers with the master
        yield f"spark://127.0.0.1:{port}"
    finally:
        for proc in (worker, master):
            if proc is not None:
                proc.terminate()
                proc.wait(30)


def test_quickstart_runs_on_a_standalone_master(tmp_path, standalone_master):
    repo = tmp_path / "fraud"
    assert subprocess.run([AQUIFER, "init", str(repo)], capture_output=True).returncode == 0
    config = repo / "aquifer.yaml"
    text = re.sub(r'master: "local\[\*\]"', f'master: "{standalone_master}"', config.read_text())
    text = text.replace("spark.driver.memory: 4g", "spark.driver.memory: 1g, spark.executor.memory: 1g")
    config.write_text(text)
    assert standalone_master in config.read_text()
    for args in (["apply"], ["run", "user_spend", "merchant_risk"]):
        result = subprocess.run([AQUIFER, *args, "-r", str(repo)], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
    offline = repo / ".aquifer" / "offline" / "fraud" / "user_spend"
    rows = pd.read_parquet(offline)
    source = pd.read_parquet(repo / "data" / "transactions.parquet")
    assert len(rows) == len(source)
    assert sorted(rows["amount"].round(2)) == sorted(source["amount"].round(2))
