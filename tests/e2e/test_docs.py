"""Every README example runs: the shell tour, command by command, and every Python block."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.spark

README = Path(__file__).parents[2] / "README.md"
AQUIFER = str(Path(sys.executable).with_name("aquifer"))


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks of one language."""
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def use_own_redis_db(repo: Path, redis_url: str) -> None:
    """Point the repo's online store at this test's Redis db instead of db 0."""
    config = repo / "aquifer.yaml"
    text = re.sub(r"online_store: \{url: [^}]*\}", f"online_store: {{url: {redis_url}}}", config.read_text())
    config.write_text(text)


def test_readme_tour_runs(tmp_path, redis_url):
    tour = next(b for b in blocks("bash") if "aquifer init" in b)
    cwd = tmp_path
    for line in tour.splitlines():
        command = line.split("#", 1)[0].strip()
        if not command:
            continue
        args = shlex.split(command)
        if args[0] == "cd":
            cwd = cwd / args[1]
            use_own_redis_db(cwd, redis_url)
            continue
        assert args[0] == "aquifer", f"README tour line is not an aquifer command: {line!r}"
        result = subprocess.run([AQUIFER, *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, command


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_readme_python_blocks_run(tmp_path, index, redis_url):
    subprocess.run([AQUIFER, "init", "fraud"], cwd=tmp_path, check=True, capture_output=True)
    use_own_redis_db(tmp_path / "fraud", redis_url)
    code = blocks("python")[index]
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONPATH": str(tmp_path / "fraud")})
    assert result.returncode == 0, result.stderr
