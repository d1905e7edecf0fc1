"""aquifer.yaml: every key optional; malformed files name the key or line."""

from pathlib import Path

import pytest

from aquifer.config import ConfigError, NoRepoError, load_config


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "aquifer.yaml").write_text(text)
    return tmp_path


def test_empty_file_means_embedded_defaults(tmp_path):
    cfg = load_config(write(tmp_path, ""))
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
        ("quality: {statistics: sometimes}\n", "'quality.statistics' must be true or false"),
        ("batch: {default_lateness: soon}\n", "batch.default_lateness"),
        ("batch: {sliding_windows: fast}\n", "'batch.sliding_windows' must be one of tiles, explode, got 'fast'"),
        ("project: ok\nregistry: a: b\n", "aquifer.yaml:2: not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
    ],
)
def test_malformed_config_names_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(write(tmp_path, text))


def test_a_folder_without_aquifer_yaml_is_no_repo(tmp_path):
    with pytest.raises(NoRepoError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert f"{tmp_path.resolve()} is not a feature repo: there is no aquifer.yaml in it or in any folder above it" \
        in message
    assert "aquifer init NAME" in message
    assert isinstance(info.value, ConfigError)  # every caller that reports config errors reports this one
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_no_repo(tmp_path):
    with pytest.raises(NoRepoError, match="the folder does not exist"):
        load_config(tmp_path / "nowhere")


def test_the_repo_is_found_upward_from_a_subfolder(tmp_path):
    write(tmp_path, "project: fraud\n")
    inner = tmp_path / "features" / "deep"
    inner.mkdir(parents=True)
    cfg = load_config(inner)
    assert cfg.project == "fraud"
    assert cfg.root == tmp_path.resolve()
    assert cfg.registry_url == f"sqlite:///{tmp_path.resolve()}/.aquifer/registry.db"


def test_the_config_file_itself_may_be_given(tmp_path):
    assert load_config(write(tmp_path, "project: fraud\n") / "aquifer.yaml").project == "fraud"


def test_from_above_a_repo_the_repos_below_are_named(tmp_path):
    (tmp_path / "fraud").mkdir()
    write(tmp_path / "fraud", "project: fraud\n")
    with pytest.raises(NoRepoError) as info:
        load_config(tmp_path)
    assert info.value.nearby == ((tmp_path / "fraud").resolve(),)
    assert str(info.value).endswith("(there is one in fraud/)")


@pytest.mark.parametrize("url", ["s3a://bucket/aquifer", "hdfs://namenode:8020/aquifer", "gs://bucket/x",
                                 "abfss://c@acct.dfs.core.windows.net/x", "file:///mnt/shared/aquifer"])
def test_an_offline_store_url_is_refused_naming_the_key_and_what_works(tmp_path, url):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f'offline_store: {{path: "{url}"}}\n'))
    message = str(info.value)
    assert f"key 'offline_store.path' must be a local or shared POSIX path, got the URL {url!r}" in message
    assert "not supported" in message and "every Spark executor reaches" in message and "NFS" in message


@pytest.mark.parametrize("path", ["/mnt/shared/aquifer", "offline", "../store/s3a:bucket", "data/a://b"])
def test_local_and_shared_offline_paths_are_kept(tmp_path, path):
    cfg = load_config(write(tmp_path, f'offline_store: {{path: "{path}"}}\n'))
    assert cfg.offline_path == (tmp_path / path).resolve()


def test_the_readme_cluster_example_is_accepted_as_written(tmp_path):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Running on a Spark cluster", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    cfg = load_config(write(tmp_path, example))
    assert cfg.spark["master"].startswith("spark://")
    assert cfg.offline_path == Path(cfg.offline_store["path"])
    assert cfg.offline_path.is_absolute()
