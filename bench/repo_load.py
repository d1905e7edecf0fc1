"""How long loading a feature repo and ``aquifer plan`` take on the quickstart. Prints JSON.

``python bench/repo_load.py [REPO]``: each figure is the median of several fresh subprocesses (a cold
interpreter each time, as a user running the CLI sees it), beside the floor of a bare ``python -c pass``.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"
RUNS = 5


def timed(args: list[str], cwd: Path | None = None) -> float:
    """Median wall time of running ``args`` RUNS times."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(args, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Measure and print."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else QUICKSTART
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(source, repo, ignore=shutil.ignore_patterns(".aquifer", "__pycache__"))
        aquifer = str(Path(sys.executable).with_name("aquifer"))
        subprocess.run([aquifer, "apply", "-r", str(repo)], check=True, capture_output=True)
        python_floor = timed([sys.executable, "-c", "pass"])
        load = timed([sys.executable, "-c", f"from aquifer.repo import load_repo; load_repo({str(repo)!r})"])
        analyze = timed([sys.executable, "-c", "from aquifer.repo import load_repo; from aquifer.analysis import "
                         f"analyze; analyze(load_repo({str(repo)!r}))"])
        plan = timed([aquifer, "plan", "-r", str(repo)])
        from aquifer.repo import load_repo

        start = time.perf_counter()
        loaded = load_repo(repo)
        in_process = time.perf_counter() - start
    print(json.dumps({
        "repo": str(source), "definitions": len(loaded.definitions), "runs": RUNS,
        "python_startup_s": round(python_floor, 3),
        "import_repo_in_process_s": round(in_process, 4),
        "import_repo_cold_process_s": round(load, 3),
        "import_and_analyze_cold_process_s": round(analyze, 3),
        "aquifer_plan_cli_s": round(plan, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
