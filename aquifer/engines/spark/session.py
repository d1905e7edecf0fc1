"""One Spark session per process, configured from ``aquifer.yaml`` (``spark.master``, ``spark.conf``)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_LOCK = threading.Lock()
_LOG4J = Path(__file__).with_name("log4j2.properties").as_uri()
_SESSION: SparkSession | None = None

# Quiet, small and UTC: sensible for a laptop; every key can be overridden in aquifer.yaml.
BASE_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    # pandas writes nanosecond timestamps, which Spark refuses; read them as epoch numbers (sources.py
    # finds them in the footers and truncates them to microseconds)
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
    # a stage whose generated method is larger than HotSpot compiles (8000 bytes of bytecode) runs without
    # whole-stage codegen instead of interpreted: the row checks' bit masks in a write (docs/quality.md) took
    # the write of bench/quality.py from 5.6 s to 13.7 s interpreted, 10.0 s compiled anyway, 7.0 s split
    "spark.sql.codegen.hugeMethodLimit": "8000",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
    "spark.driver.extraJavaOptions": f"-Duser.timezone=UTC -Dlog4j.configurationFile={_LOG4J}",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}


def get_spark(master: str = "local[*]", conf: dict[str, Any] | None = None, app_name: str = "aquifer") -> SparkSession:
    """The process's Spark session, created on first call; later calls return the same session.

    ``master`` may be ``local[*]`` or any cluster URL (``spark://host:7077``); nothing else changes.
    """
    global _SESSION
    with _LOCK:
        if _SESSION is not None and _SESSION.sparkContext._jsc is not None:
            return _SESSION
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", _python())
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName(app_name).master(master)
        for key, value in {**BASE_CONF, **(conf or {})}.items():
            builder = builder.config(key, str(value))
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        _SESSION = session
        return session


def spark_for(config: Any) -> SparkSession:
    """The session for a repo's ``Config``."""
    return get_spark(config.spark.get("master", "local[*]"), config.spark.get("conf") or {})


def _python() -> str:
    import sys

    return sys.executable
