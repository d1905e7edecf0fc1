"""``catalog.hooks`` and role-mapped ``api.api_keys`` in aquifer.yaml: a bad entry is refused naming its key."""

from pathlib import Path

import pytest

from aquifer.catalog import build_hooks
from aquifer.config import ConfigError, load_config

HASH = "sha256:" + "ab" * 32


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "aquifer.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize(("text", "message"), [
    ("catalog: {hoks: []}\n", "unknown key 'catalog.hoks'"),
    ("catalog: {hooks: [{type: amundsen}]}\n", "'catalog.hooks[0]'.type must be one of openlineage, datahub, webhook"),
    ("catalog: {hooks: [{type: webhook, url: 'http://x', retries: 3}]}\n", "unknown key 'retries' for a webhook hook"),
    ("catalog: {hooks: [{type: webhook}]}\n", "a webhook hook needs 'url'"),
    ("catalog: {hooks: [{type: openlineage, transport: kafka, url: x}]}\n", "transport must be file or http"),
    ("catalog: {hooks: [{type: openlineage, transport: http}]}\n", "needs 'url'"),
    ("catalog: {hooks: [{type: datahub, path: a.json, url: 'http://gms'}]}\n", "exactly one of 'path'"),
    ("catalog: {hooks: [{type: webhook, url: 'http://x', timeout_s: 0}]}\n", "timeout_s must be a number above 0"),
    ("catalog: {hooks: [webhook]}\n", "'catalog.hooks[0]' must be a mapping"),
    ("api: {api_keys: [hunter2]}\n", "'api.api_keys[0]' must be a sha256 hash"),
    ("api: {api_keys: [{name: ci, role: owner, key_env: K}]}\n", "role must be one of reader, writer, admin"),
    ("api: {api_keys: [{name: ci, role: writer}]}\n", "needs exactly one of key_env"),
    ("api: {api_keys: [{name: ci, role: writer, key: abc}]}\n", "unknown key 'key'"),
])
def test_bad_entries_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=r"aquifer\.yaml") as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)


def test_good_entries_build_hooks(tmp_path):
    cfg = load_config(write(tmp_path, (
        "catalog:\n  hooks:\n"
        "    - {type: openlineage, path: out/ol.jsonl}\n"
        "    - {type: openlineage, transport: http, url: 'http://127.0.0.1:5000', name: marquez}\n"
        "    - {type: datahub, url: 'http://127.0.0.1:8080', token_env: DH_TOKEN}\n"
        "    - {type: webhook, url: 'http://127.0.0.1:9/x', headers: {X-A: b}}\n"
        f"api: {{api_keys: ['{HASH}', {{name: ci, role: writer, key_env: CI_KEY}}, {{name: r, role: reader, "
        f"sha256: '{'cd' * 32}'}}]}}\n")))
    hooks = build_hooks(cfg.catalog, root=cfg.root)
    assert [h.name for h in hooks.hooks] == ["openlineage#0", "marquez", "datahub#2", "webhook#3"]
    assert not build_hooks(load_config(write(tmp_path, "")).catalog)
