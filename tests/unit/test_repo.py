"""Loading a feature repo: every module imported, definitions collected, every error located."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from aquifer.repo import load_repo

ENTITIES = """
from aquifer import Entity
user = Entity("user", join_keys=["user_id"])
"""

VIEWS = """
from aquifer import BatchSource, FeatureView, Field, sql
from aquifer.types import Float64
from features.entities import user

spend = FeatureView(
    "spend", entities=[user],
    source=BatchSource("txns", path="data/t.parquet"),   # inline source: still collected
    schema=[Field("amount", Float64)],
)
"""


def make_repo(root: Path, files: dict[str, str], config: str = "project: demo\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "aquifer.yaml").write_text(config)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_collects_definitions_across_modules_once(tmp_path):
    repo = load_repo(make_repo(tmp_path, {"features/entities.py": ENTITIES, "features/views.py": VIEWS}))
    assert repo.errors == []
    assert sorted((d.kind, d.name) for d in repo.definitions) == [
        ("batch_source", "txns"), ("entity", "user"), ("feature_view", "spend")]
    assert repo.get("spend").location.endswith("features/views.py:6")


def test_every_broken_module_is_reported_with_file_and_line(tmp_path):
    repo = load_repo(make_repo(tmp_path, {
        "features/entities.py": ENTITIES,
        "features/a_syntax.py": "x = (\n",
        "features/b_import.py": "import not_a_module_anywhere\n",
        "features/c_runtime.py": "from aquifer import Entity\n\nbad = Entity('bad', join_keys=[])\n",
        "features/d_error.py": "\n\nraise RuntimeError('boom')\n",
    }))
    by_file = {Path(e.location.split(":")[0]).name: e for e in repo.errors}
    assert set(by_file) == {"a_syntax.py", "b_import.py", "c_runtime.py", "d_error.py"}
    assert "syntax error" in by_file["a_syntax.py"].message
    assert by_file["b_import.py"].location.endswith("b_import.py:1")
    assert "ModuleNotFoundError" in by_file["b_import.py"].message
    assert by_file["c_runtime.py"].location.endswith("c_runtime.py:3")
    assert "at least one join key" in by_file["c_runtime.py"].message
    assert by_file["d_error.py"].location.endswith("d_error.py:3")
    assert [d.name for d in repo.definitions] == ["user"]  # the good module still loads


def test_two_repos_with_the_same_module_names_do_not_mix(tmp_path):
    one = make_repo(tmp_path / "one", {"features/entities.py": ENTITIES})
    two = make_repo(tmp_path / "two", {"features/entities.py": ENTITIES.replace('"user"', '"customer"')})
    assert [d.name for d in load_repo(one).definitions] == ["user"]
    assert [d.name for d in load_repo(two).definitions] == ["customer"]
    assert [d.name for d in load_repo(one).definitions] == ["user"]


def test_excluded_and_hidden_files_are_not_imported(tmp_path):
    repo = load_repo(make_repo(tmp_path, {
        "features/entities.py": ENTITIES,
        "scripts/gen.py": "raise SystemExit('must not run')\n",
        ".venv/lib/x.py": "raise SystemExit('must not run')\n",
    }, config="exclude: ['scripts/*']\n"))
    assert repo.errors == []


def test_quickstart_loads_without_heavy_imports():
    """Importing a feature repo must not start a JVM or pull in engines, stores or servers."""
    import subprocess
    import sys

    quickstart = Path(__file__).parents[2] / "examples" / "quickstart"
    code = (
        "import sys; from aquifer.repo import load_repo; r = load_repo(sys.argv[1]); "
        "assert not r.errors, r.errors; names = {d.name for d in r.definitions}; "
        "assert {'user_spend', 'user_spend_shape', 'user_txn_windows', 'fraud_model_v1'} <= names, names; "
        "heavy = [m for m in ('pyspark', 'redis', 'sqlalchemy', 'duckdb', 'pandas', 'fastapi') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code, str(quickstart)], check=True)


def test_a_module_calling_exit_is_a_located_error_not_the_end_of_plan(tmp_path):
    repo = load_repo(make_repo(tmp_path, {
        "features/entities.py": ENTITIES,
        "features/quits.py": "import sys\n\nsys.exit(3)\n",
    }))
    [error] = repo.errors
    assert error.location.endswith("features/quits.py:3")
    assert "exit(3)" in error.message
    assert [d.name for d in repo.definitions] == ["user"]


def test_a_folder_without_aquifer_yaml_is_refused_before_anything_is_written(tmp_path):
    from aquifer.config import NoRepoError
    from aquifer.sdk.store import FeatureStore

    (tmp_path / "features.py").write_text(ENTITIES)
    with pytest.raises(NoRepoError, match="is not a feature repo"):
        load_repo(tmp_path)
    with pytest.raises(NoRepoError, match="aquifer init NAME"):
        FeatureStore(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["features.py"]


def test_a_repo_is_loaded_from_any_folder_inside_it(tmp_path):
    make_repo(tmp_path, {"features/entities.py": ENTITIES, "features/views.py": VIEWS})
    repo = load_repo(tmp_path / "features")
    assert repo.config.root == tmp_path.resolve()
    assert sorted(d.name for d in repo.definitions) == ["spend", "txns", "user"]
