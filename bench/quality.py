"""Quality overhead: one batch backfill with quality off, with statistics, with statistics + validation; drift time.

Prints one JSON document (progress goes to stderr). Two parts, each with its floor measured in the same run:

- ``backfill``: ``--rows`` events (default 1M) x 20 features (12 Float64, 4 Int64, 3 String of low, middle and
  high cardinality, 1 Bool; a few nulls), written with ``DataFrame.to_parquet``'s defaults to a feature repo's
  ``data/`` folder, one ``FeatureView`` (a SQL transform selecting the columns) over ``--days`` days. The same
  backfill is timed three ways, each on a fresh offline store and registry (a new repo folder whose ``data`` is a
  link to the same file) in the same Spark session (started, and warmed by an untimed backfill, before timing):

  - ``off``: statistics off (``quality: {statistics: false}`` in ``aquifer.yaml``), no expectations: the view
    declares none and the registry holds no suite, so ``QualityListener`` checks nothing.
  - ``statistics``: the default engine (statistics on), the same view without expectations.
  - ``quality``: statistics on, and the view with ``Field(expect=[...])`` on 16 of its 20 features and
    ``Quality(policy="warn")``, plus the suite ``FeatureStore.profile`` (``aquifer profile``) built from the
    warm-up run's statistics, stored in each fresh registry before timing.

  Modes run interleaved (off, statistics, quality, off, ...) ``--repeat`` times; each reports its best run and
  every run, plus where the best run's time went (``phases``: compute, validation check, write with the
  statistics sketched by its tasks, recording), timed by a wrapper around the engine and a listener; ``phases.inside``
  splits them further (the driver's merge of the tasks' sketches; Spark row checks, the sample and GX's aggregate
  expectations) by timed
  wrappers the bench sets on those functions' modules (``INNER_STEPS``) before the first run.
  ``overhead_statistics = statistics / off - 1`` and ``overhead_quality = quality / off - 1`` of the best runs
  (issue #14's target: at most 0.25); ``overhead_*_paired``, the median over rounds of each round's ratio to that
  round's ``off`` run (the modes of a round run back to back, so a slow spell of the machine moves them together).
  Each run also reports ``cpu_s``, the CPU seconds of this process and the Spark JVM;
  ``overhead_*_cpu`` compare the modes' median CPU, which moves far less than wall time on 2 shared cores.
- ``drift``: ``aquifer.quality.drift.compare`` of 1M served against 1M training values of a numeric feature
  (serving shifted) and of a categorical one (30 categories, a few unseen when served), given as lists as
  ``aquifer drift`` passes them (``read_serving_log``, ``read_sample``), the numeric one also as float64
  arrays. Floors: ``numpy.sort`` of both arrays and ``numpy.searchsorted`` of every value into each (what a
  minimal exact KS costs) for the numeric one; ``pandas`` ``value_counts`` of both lists for the categorical one.

Usage::

    .venv/bin/python bench/quality.py                 # 1M rows, best of 2 (about 10 minutes on 2 busy cores)
    .venv/bin/python bench/quality.py --quick         # smoke run: 100k rows, 100k drift values, one run each
    .venv/bin/python bench/quality.py --rows 2000000 --days 14 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from run_timing import InnerTimes, ProcessCpu, RecordedAt, TimedEngine, phases

START = datetime(2026, 1, 1, tzinfo=UTC)
VIEW = "events_view"
MODES = ("off", "statistics", "quality")
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "BR", "IN"]
PLANS = [f"plan_{i:02d}" for i in range(40)]
FLOATS = [f"f{i:02d}" for i in range(12)]
INTS = ["n_items", "n_days", "age", "big_id"]
STRINGS = ["country", "plan", "ref"]
SPARK_CONF = {"spark.driver.memory": "4g", "spark.sql.shuffle.partitions": "8"}

HEADER = '''
from aquifer import BatchSource, Entity, FeatureView, Field, InRange, InSet, Matches, MeanBetween, NotNull, Quality, sql
from aquifer.types import Bool, Float64, Int64, String

user = Entity("user", join_keys=["user_id"], key_types=[Int64])
events = BatchSource("events", path="data/events.parquet", timestamp_field="event_ts",
                     created_timestamp_field="ingested_at")
'''

# Declared expectations (quality mode only): all hold on the generated data, so a ``warn`` run writes everything.
EXPECT = {
    "f00": "[NotNull(mostly=0.95), InRange(-20, 20), MeanBetween(-1, 1)]",
    "f01": "[NotNull(mostly=0.95), InRange(-20, 30)]",
    "f02": "[NotNull(mostly=0.95), InRange(-20, 40)]",
    "f03": "[NotNull(), InRange(0, None)]",
    "f04": "[NotNull(), InRange(0, 1)]",
    "f05": "[NotNull(), InRange(-100, 100)]",
    "f06": "[NotNull(), InRange(-100, 100)]",
    "f07": "[NotNull(), InRange(-100, 100)]",
    "n_items": "[NotNull(mostly=0.99), InRange(0, 100)]",
    "n_days": "[NotNull(), InRange(0, 3650)]",
    "age": "[NotNull(), InRange(18, 120)]",
    "big_id": "[NotNull(), InRange(0, None)]",
    "country": '[NotNull(), InSet(["US", "GB", "DE", "FR", "BR", "IN"]), Matches("^[A-Z]{2}$")]',
    "plan": '[NotNull(mostly=0.95), Matches("^plan_[0-9]{2}$")]',
    "ref": '[NotNull(), Matches("^r[0-9]{7}$")]',
    "flag": "[NotNull(), InSet([True, False])]",
}


def log(message: str) -> None:
    """Progress, to stderr (stdout is the JSON document)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def features_py(checked: bool) -> str:
    """The repo's one module: the view, with declared expectations and ``Quality(policy="warn")`` if ``checked``."""
    types = {**dict.fromkeys(FLOATS, "Float64"), **dict.fromkeys(INTS, "Int64"), **dict.fromkeys(STRINGS, "String"),
             "flag": "Bool"}
    fields = []
    for name, dtype in types.items():
        expect = f", expect={EXPECT[name]}" if checked and name in EXPECT else ""
        fields.append(f'    Field("{name}", {dtype}{expect}),')
    columns = ", ".join(types)
    quality = '\n    quality=Quality(policy="warn"),' if checked else ""
    return (HEADER + f'{VIEW} = FeatureView("{VIEW}", entities=[user], source=events,\n'
            f'    transform=sql("SELECT user_id, event_ts, ingested_at, {columns} FROM {{events}}"),\n'
            f"    schema=[\n" + "\n".join(fields) + f"\n    ],{quality}\n)\n")


def write_data(folder: Path, rows: int, days: int) -> int:
    """``rows`` events over ``days`` days as a user writes them (``to_parquet`` defaults); the file's bytes."""
    rng = np.random.default_rng(14)
    seconds = np.sort(rng.uniform(0, days * 86_400, rows))
    event_ts = pd.Timestamp(START) + pd.to_timedelta(seconds, unit="s")
    frame = pd.DataFrame({"user_id": rng.integers(1, max(rows // 20, 2), rows).astype("int64"), "event_ts": event_ts,
                          "ingested_at": event_ts + pd.to_timedelta(rng.exponential(60, rows), unit="s")})
    for i, name in enumerate(FLOATS):
        if i == 3:
            values = np.round(rng.lognormal(3.5, 1.2, rows), 2)
        elif i == 4:
            values = rng.random(rows)
        else:
            values = rng.normal(i, 1 + i / 4, rows)
        if i < 3:  # a few nulls
            values[rng.random(rows) < 0.01] = np.nan
        frame[name] = values
    items = pd.array(rng.poisson(3, rows), dtype="Int64")
    items[rng.random(rows) < 0.005] = pd.NA
    frame["n_items"] = items
    frame["n_days"] = rng.integers(0, 3650, rows)
    frame["age"] = rng.integers(18, 91, rows)
    frame["big_id"] = rng.integers(0, 10**12, rows)
    frame["country"] = np.array(COUNTRIES, dtype=object)[rng.integers(0, len(COUNTRIES), rows)]
    plan = np.array(PLANS, dtype=object)[rng.integers(0, len(PLANS), rows)]
    plan[rng.random(rows) < 0.01] = None
    frame["plan"] = plan
    refs = np.array([f"r{i:07d}" for i in range(max(rows // 4, 1))], dtype=object)
    frame["ref"] = refs[rng.integers(0, refs.size, rows)]
    frame["flag"] = rng.random(rows) < 0.3
    folder.mkdir(parents=True)
    path = folder / "events.parquet"
    frame.to_parquet(path)
    return path.stat().st_size


def make_repo(root: Path, data: Path, master: str, checked: bool, statistics: bool = True) -> None:
    """A fresh repo at ``root`` (its own registry and offline store) whose ``data`` links to ``data``;
    ``statistics=False`` writes ``quality: {statistics: false}``."""
    root.mkdir(parents=True)
    (root / "data").symlink_to(data, target_is_directory=True)
    (root / "features.py").write_text(features_py(checked))
    conf = ", ".join(f"{k}: {v}" for k, v in SPARK_CONF.items())
    quality = "" if statistics else "quality: {statistics: false}\n"
    (root / "aquifer.yaml").write_text(
        f"project: bench\nregistry: sqlite:///{root}/registry.db\noffline_store: {{path: {root}/offline}}\n"
        f'spark: {{master: "{master}", conf: {{{conf}}}}}\n{quality}'
    )


# Functions the run calls through their module, so that a timed wrapper set on the module is what the run calls:
# the driver's merge of the writing tasks' sketches (the sketching itself is inside the write's tasks) and the three
# steps of a check.
INNER_STEPS = {
    "statistics_s": ("aquifer.engines.spark.statistics", "stored_statistics"),
    # under ``warn`` the writing tasks count the row checks and draw the sample: the driver merges what they send
    # back (``merge_written``) and reads the counts (``finish_checks``); when the write cannot (Spark's writer) the
    # checks get a pass of their own (``check_rows``) and the sample a job (``sample_rows``). Under ``quarantine``
    # and ``block`` the engine's compute pass counts them, and ``finish_checks`` fetches a few failing values
    "merge_checks_s": ("aquifer.quality.written_checks", "merge_written"),
    "count_rows_s": ("aquifer.engines.spark.validation", "check_rows"),
    "check_rows_s": ("aquifer.engines.spark.validation", "finish_checks"),
    "sample_rows_s": ("aquifer.engines.spark.validation", "sample_rows"),
    "gx_aggregates_s": ("aquifer.quality.suites", "validate_aggregates"),
}


INNER = InnerTimes(INNER_STEPS)


def engine_factory(statistics: bool) -> tuple[Callable[[Any, datetime], Any], list[TimedEngine]]:
    """An ``engine_for`` building Spark's engine inside a ``TimedEngine``; it checks that the repo's setting
    left statistics on (``statistics``) or off."""
    from aquifer.engines.spark.batch import SparkBatchEngine

    made: list[TimedEngine] = []

    def build(store: Any, now: datetime) -> TimedEngine:
        inner = SparkBatchEngine(store, now)
        if inner.ctx.statistics != statistics:
            raise RuntimeError(f"statistics are {'on' if inner.ctx.statistics else 'off'}, wanted the opposite")
        made.append(TimedEngine(inner))
        return made[-1]

    return build, made


def run_mode(mode: str, root: Path, data: Path, args: argparse.Namespace, suite: dict[str, Any] | None
             ) -> dict[str, Any]:
    """One timed backfill of ``mode`` in a fresh repo at ``root``: seconds, phases and what the run recorded."""
    from aquifer.runs.batch import backfill
    from aquifer.sdk.store import FeatureStore

    make_repo(root, data, args.master, checked=mode == "quality", statistics=mode != "off")
    store = FeatureStore(root)
    try:
        assert not store.repo.errors, store.repo.errors
        _ = store.views, store.analysis
        registry, project = store.registry, store.config.project
        if mode == "quality":
            assert suite is not None
            registry.save_suite(project, VIEW, suite)
        build, made = engine_factory(statistics=mode != "off")
        recorded = RecordedAt()
        INNER.reset()
        end = START + timedelta(days=args.days)
        cpu = ProcessCpu()
        began, cpu_began = time.perf_counter(), cpu()
        summary = backfill(store, VIEW, START, end, listeners=[recorded], engine_for=build)
        seconds, cpu_s = time.perf_counter() - began, cpu() - cpu_began
        result = summary[VIEW]
        if result.status != "succeeded":
            raise RuntimeError(f"{mode}: {result.error}")
        marks = made[0].marks
        out: dict[str, Any] = {
            "seconds": round(seconds, 2), "cpu_s": round(cpu_s, 2), "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "ranges": len(result.ranges),
            "phases": phases(marks, began, recorded.at, INNER),
            "statistics_rows": len(registry.statistics(project, VIEW)),
        }
        validations = registry.validation_results(project, VIEW)
        if validations:
            details = validations[0].results
            out["validation"] = {"success": validations[0].success, "rows": details.get("rows"),
                                 "expectations": len(details.get("expectations", [])),
                                 "failed": len(details.get("failed", [])), "action": details.get("action"),
                                 "suite_version": details.get("suite_version"),
                                 "sampled_rows": details.get("sampled_rows")}
        return out
    finally:
        store.close()


def profiled_suite(root: Path, data: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Warm-up: an untimed backfill of the checked view with statistics, then ``FeatureStore.profile``'s suite."""
    from aquifer.sdk.store import FeatureStore

    make_repo(root, data, args.master, checked=True)
    store = FeatureStore(root)
    try:
        summary = store.backfill(VIEW, START, START + timedelta(days=args.days))
        if summary[VIEW].status != "succeeded":
            raise RuntimeError(f"warm-up: {summary[VIEW].error}")
        profile = store.profile(VIEW)
        log(f"profiled suite v{profile['version']} from {profile['statistics']}: "
            f"{len(profile['suite'].get('expectations', []))} GX expectations")
        return profile["suite"]
    finally:
        store.close()


def bench_backfill(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The three modes, interleaved ``args.repeat`` times; best run of each and the overheads."""
    data = tmp / "data"
    log(f"writing {args.rows:,} rows x 20 features over {args.days} days")
    size = write_data(data, args.rows, args.days)
    log("warm-up backfill and profile")
    suite = profiled_suite(tmp / "warmup", data, args)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    for i in range(args.repeat):
        for mode in MODES:
            root = tmp / f"{mode}-{i}"
            runs[mode].append(run_mode(mode, root, data, args, suite))
            log(f"run {i + 1}/{args.repeat} {mode}: {runs[mode][-1]['seconds']} s, cpu "
                f"{runs[mode][-1]['cpu_s']} s {runs[mode][-1]['phases']}")
            shutil.rmtree(root, ignore_errors=True)
    out: dict[str, Any] = {"rows": args.rows, "features": 20, "days": args.days, "parquet_mb": round(size / 2**20, 1),
                           "repeat": args.repeat}
    for mode in MODES:
        best = min(runs[mode], key=lambda r: r["seconds"])
        out[mode] = {**best, "runs_s": [r["seconds"] for r in runs[mode]]}
    base = out["off"]["seconds"]
    out["overhead_statistics"] = round(out["statistics"]["seconds"] / base - 1, 3)
    out["overhead_quality"] = round(out["quality"]["seconds"] / base - 1, 3)
    out["target_overhead_quality"] = 0.25
    # each round's modes ran back to back: their ratio is what the machine's slow and fast spells move least
    for mode in ("statistics", "quality"):
        paired = [r["seconds"] / o["seconds"] - 1 for r, o in zip(runs[mode], runs["off"], strict=True)]
        out[f"overhead_{mode}_paired"] = round(float(np.median(paired)), 3)
        out[mode]["paired_overheads"] = [round(x, 3) for x in paired]
    # CPU seconds (this process and the JVM): what the statistics and validation cost whether or not they
    # found cores the write left idle; the median of each mode's runs
    cpu = {mode: float(np.median([r["cpu_s"] for r in runs[mode]])) for mode in MODES}
    out["cpu_s"] = {mode: round(value, 2) for mode, value in cpu.items()}
    out["overhead_statistics_cpu"] = round(cpu["statistics"] / cpu["off"] - 1, 3)
    out["overhead_quality_cpu"] = round(cpu["quality"] / cpu["off"] - 1, 3)
    return out


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` calls of ``fn`` (seconds) and its last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return round(min(times), 3), result


def ks_floor(train: np.ndarray, serve: np.ndarray) -> float:
    """A minimal exact two-sample KS: sort both, place every value in each (``searchsorted``)."""
    a, b = np.sort(train), np.sort(serve)
    points = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, points, side="right") / a.size
                               - np.searchsorted(b, points, side="right") / b.size)))


def bench_drift(n: int, repeat: int) -> dict[str, Any]:
    """``compare`` of ``n`` served vs ``n`` training values, numeric and categorical, beside their floors."""
    from aquifer.quality.drift import CATEGORICAL, NUMERIC, compare

    rng = np.random.default_rng(7)
    train = rng.normal(50, 10, n)
    serve = rng.normal(51, 10, n)  # shifted by a tenth of a standard deviation
    train[rng.random(n) < 0.01] = np.nan
    train_list, serve_list = train.tolist(), serve.tolist()
    categories = np.array([f"cat_{i:02d}" for i in range(30)], dtype=object)
    weights = np.linspace(2, 1, 30) / np.linspace(2, 1, 30).sum()
    train_cat = categories[rng.choice(30, n, p=weights)].tolist()
    serve_cat = categories[rng.choice(30, n, p=weights[::-1])].tolist()
    for i in range(0, n, 1000):  # values training never had
        serve_cat[i] = f"new_{i % 3}"
    out: dict[str, Any] = {"values": n, "repeat": repeat}
    log(f"drift: {n:,} vs {n:,} values")
    seconds, result = best_of(lambda: compare("x", train_list, serve_list, kind=NUMERIC), repeat)
    out["numeric"] = {"seconds_lists": seconds, "psi": round(result.psi, 4),
                      "ks_statistic": round(result.ks_statistic, 4), "breached": result.breached}
    out["numeric"]["seconds_arrays"], _ = best_of(lambda: compare("x", train, serve, kind=NUMERIC), repeat)
    clean = train[~np.isnan(train)]
    floor, d = best_of(lambda: ks_floor(clean, serve), repeat)
    assert abs(d - result.ks_statistic) < 1e-12, (d, result.ks_statistic)
    out["numeric"]["floor_sort_searchsorted_s"] = floor
    out["numeric"]["ratio_lists_vs_floor"] = round(out["numeric"]["seconds_lists"] / floor, 1)
    out["numeric"]["ratio_arrays_vs_floor"] = round(out["numeric"]["seconds_arrays"] / floor, 1)
    seconds, result = best_of(lambda: compare("c", train_cat, serve_cat, kind=CATEGORICAL), repeat)
    cat_floor, _ = best_of(lambda: (pd.Series(train_cat).value_counts(), pd.Series(serve_cat).value_counts()),
                           repeat)
    out["categorical"] = {"seconds_lists": seconds, "categories": 30, "psi": round(result.psi, 4),
                          "chi2_pvalue": result.chi2_pvalue, "unseen": result.unseen_count, "breached": result.breached,
                          "floor_value_counts_s": cat_floor, "ratio_vs_floor": round(seconds / cat_floor, 1),
                          "ratio_vs_numeric_floor": round(seconds / floor, 1)}
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``--quick`` sets 100k rows, 100k drift values and one run unless given."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, help="source rows (default 1,000,000; --quick 100,000)")
    parser.add_argument("--days", type=int, default=7, help="days the rows span (one backfill range)")
    parser.add_argument("--repeat", type=int, help="runs per mode, interleaved; the best counts (default 2; --quick 1)")
    parser.add_argument("--drift-values", type=int, help="values per side (default 1,000,000; --quick 100,000)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args(argv)
    small = args.quick
    args.rows = args.rows or (100_000 if small else 1_000_000)
    args.repeat = args.repeat or (1 if small else 2)
    args.drift_values = args.drift_values or (100_000 if small else 1_000_000)
    return args


def main() -> None:
    """Command-line entry point: prints JSON."""
    args = parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    load_start = os.getloadavg()
    began = time.perf_counter()
    from aquifer.engines.spark.session import get_spark

    spark = get_spark(args.master, SPARK_CONF)
    INNER.install()
    tmp = Path(tempfile.mkdtemp(prefix="aquifer-bench-quality-"))
    try:
        backfill = bench_backfill(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    drift = bench_drift(args.drift_values, args.repeat)
    print(json.dumps({
        "benchmark": "quality", "quick": args.quick, "master": args.master, "spark": spark.version,
        "cpus": os.cpu_count(), "spark_cores": spark.sparkContext.defaultParallelism,
        "python": platform.python_version(),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "total_s": round(time.perf_counter() - began, 1),
        "backfill": backfill, "drift": drift,
    }, indent=2))


if __name__ == "__main__":
    main()
