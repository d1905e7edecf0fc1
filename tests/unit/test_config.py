"""aquifer.yaml: every key optional; malformed files name the key or line."""

from pathlib import Path

import pytest

from aquifer.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "aquifer.yaml").write_text(text)
    return tmp_path


def test_missing_file_means_embedded_defaults(tmp_path):
    cfg = load_config(tmp_path)
    assert cfg.project == tmp_path.name
    assert cfg.registry_url == f"sqlite:///{tmp_path.resolve()}/.aquifer/registry.db"
    assert cfg.offline_path == (tmp_path / ".aquifer/offline").resolve()
    assert cfg.online_store["url"] == "redis://127.0.0.1:6379/0"
    assert cfg.spark["master"] == "local[*]"
    assert cfg.offline_engine == "auto"


def test_given_keys_override_and_nested_defaults_survive(tmp_path):
    cfg = load_config(write(tmp_path, "project: fraud\nspark: {conf: {spark.sql.shuffle.partitions: 4}}\n"))
    assert cfg.project == "fraud"
    assert cfg.spark["master"] == "local[*]"
    assert cfg.spark["conf"] == {"spark.driver.memory": "4g", "spark.sql.shuffle.partitions": 4}


def test_postgres_registry_is_kept(tmp_path):
    cfg = load_config(write(tmp_path, "registry: postgresql://postgres@127.0.0.1/test\n"))
    assert cfg.registry_url == "postgresql://postgres@127.0.0.1/test"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("projct: x\n", "unknown key 'projct'"),
        ("online_store: {urll: redis://x}\n", "unknown key 'online_store.urll'"),
        ("online_store: redis://x\n", "'online_store' must be a mapping"),
        ("offline_engine: pandas\n", "'offline_engine' must be one of"),
        ("registry: mysql://x\n", "'registry' must be"),
        ("api: {port: high}\n", "'api.port' must be a number"),
        ("api: {require_key_for_reads: 1}\n", "must be true or false"),
        ("batch: {default_lateness: soon}\n", "batch.default_lateness"),
        ("project: ok\nregistry: a: b\n", "aquifer.yaml:2: not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
    ],
)
def test_malformed_config_names_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(write(tmp_path, text))
