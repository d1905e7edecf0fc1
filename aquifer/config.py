"""``aquifer.yaml``: where things live. Every key is optional; defaults run everything embedded.

The file also marks a folder as a feature repo: ``load_config`` looks for it in the given folder and then
in each folder above (like git looks for ``.git``), and refuses a folder with none (``NoRepoError``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aquifer.definitions.durations import DurationError, parse_duration

CONFIG_FILE = "aquifer.yaml"


class ConfigError(ValueError):
    """``aquifer.yaml`` is malformed; the message names the file and the key."""


class NoRepoError(ConfigError):
    """``folder`` is not a feature repo: no ``aquifer.yaml`` in it or in any folder above it.

    ``nearby`` lists repos found just below it (the usual mistake: running one folder too high).
    """

    def __init__(self, folder: Path, reason: str, nearby: tuple[Path, ...] = ()):
        self.folder, self.reason, self.nearby = folder, reason, nearby
        super().__init__(f"{self.problem()}. Create a repo with `aquifer init NAME`, or give FeatureStore the "
                         f"folder that holds {CONFIG_FILE}{self.nearby_hint()}")

    def problem(self) -> str:
        """``/x is not a feature repo: ...`` without the advice."""
        return f"{self.folder} is not a feature repo: {self.reason}"

    def nearby_hint(self) -> str:
        """`` (there is one in fraud/)`` when repos sit just below the folder."""
        if not self.nearby:
            return ""
        names = ", ".join(f"{p.name}/" for p in self.nearby[:3])
        return f" (there {'is one' if len(self.nearby) == 1 else 'are some'} in {names})"


# section -> {key: default}; a key not listed here is refused with the list of known keys.
DEFAULTS: dict[str, Any] = {
    "project": None,  # defaults to the repo folder's name
    "registry": "sqlite:///.aquifer/registry.db",
    "offline_store": {"path": ".aquifer/offline"},
    "online_store": {
        "url": "redis://127.0.0.1:6379/0", "timeout_ms": 200, "max_entities": 1000,
        # serving: freshness monitor period, alert targets, how often to look for a new apply
        "freshness_check_s": 60, "alert_webhooks": [], "definitions_refresh_s": 10,
        "alert_slack_webhooks": [],  # Slack-compatible incoming webhooks ({"text", "blocks"} payloads)
    },
    # serving log: the share of online lookups whose answers are written to <offline>/_serving_log (drift)
    "serving": {"log_sample_rate": 0.0, "log_flush_rows": 10_000, "log_flush_s": 30.0},
    # train/serve drift (aquifer drift): when a feature counts as drifted (docs/quality.md)
    "drift": {"psi": 0.2, "ks_pvalue": 0.01, "ks_statistic": 0.1, "chi2_pvalue": 0.01, "chi2_effect": 0.1,
              "bins": 10, "min_count": 100},
    # per-feature statistics of what batch runs, backfills and materializations write (docs/quality.md)
    "quality": {"statistics": True},
    "spark": {"master": "local[*]", "conf": {"spark.driver.memory": "4g"}},
    "offline_engine": "auto",
    "kafka": {"bootstrap_servers": "127.0.0.1:9092", "conf": {}},
    # api_keys: sha256 hashes (admin) or {name, role: reader|writer|admin, key_env | sha256} (aquifer/api/auth.py)
    "api": {"host": "127.0.0.1", "port": 8666, "api_keys": [], "require_key_for_reads": False},
    # catalog hooks told of apply and of every run (docs/catalog.md): [{type: openlineage|datahub|webhook, ...}]
    "catalog": {"hooks": []},
    # runs start at the later of `start` and the first source event; sessions re-read `session_lookback`;
    # sliding windows merge per-hop tiles (`tiles`) or explode each event into its windows (`explode`)
    "batch": {"default_lateness": "1h", "start": "2020-01-01T00:00:00+00:00", "session_lookback": "7d",
              "sliding_windows": "tiles"},
    "exclude": [],
}
OFFLINE_ENGINES = ("auto", "spark", "duckdb")
SLIDING_PLANS = ("tiles", "explode")
_URL = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*://")  # any scheme://


@dataclass(frozen=True)
class Config:
    """The parsed ``aquifer.yaml``; relative paths are resolved against the repo ``root``."""

    root: Path
    project: str
    registry: str
    offline_store: dict[str, Any]
    online_store: dict[str, Any]
    spark: dict[str, Any]
    offline_engine: str
    kafka: dict[str, Any]
    api: dict[str, Any]
    batch: dict[str, Any]
    exclude: tuple[str, ...] = ()
    serving: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS["serving"]))
    drift: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS["drift"]))
    quality: dict[str, Any] = field(default_factory=lambda: dict(DEFAULTS["quality"]))
    catalog: dict[str, Any] = field(default_factory=lambda: {"hooks": []})
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def offline_path(self) -> Path:
        """Absolute root of the Parquet offline store."""
        return (self.root / self.offline_store["path"]).resolve()

    @property
    def registry_url(self) -> str:
        """SQLAlchemy URL; a relative SQLite path is taken relative to the repo root."""
        prefix = "sqlite:///"
        if self.registry.startswith(prefix) and not self.registry.startswith(prefix + "/"):
            rest = self.registry[len(prefix):]
            if rest and rest != ":memory:":
                return prefix + str((self.root / rest).resolve())
        return self.registry

    @property
    def default_lateness(self) -> timedelta:
        """How far back batch runs re-read for late rows when a view sets no ``allowed_lateness``."""
        return parse_duration(self.batch["default_lateness"])


def find_config(path: str | Path) -> Path:
    """The ``aquifer.yaml`` of the repo holding ``path``: in it or the nearest folder above it.

    ``path`` may also be the file itself. Raises ``NoRepoError`` when there is none.
    """
    path = Path(path)
    if path.is_file():
        return path
    folder = path.resolve()
    if not folder.is_dir():
        raise NoRepoError(folder, "the folder does not exist")
    for candidate in (folder, *folder.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate / CONFIG_FILE
    raise NoRepoError(folder, f"there is no {CONFIG_FILE} in it or in any folder above it", _repos_below(folder))


def _repos_below(folder: Path) -> tuple[Path, ...]:
    try:
        return tuple(sorted(p for p in folder.iterdir() if (p / CONFIG_FILE).is_file()))
    except OSError:  # an unreadable folder: no hint, the main message still stands
        return ()


def load_config(path: str | Path) -> Config:
    """Read the ``aquifer.yaml`` of the repo holding ``path`` (see ``find_config``); every key is optional.

    Raises ``NoRepoError`` when ``path`` is in no feature repo, ``ConfigError`` when the file is malformed.
    """
    import yaml

    file = find_config(path)
    root = file.parent.resolve()
    try:
        data: Any = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else str(file)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of keys (project:, registry:, ...), got {type(data).__name__}")
    merged = _merge(DEFAULTS, data, file, "")
    if merged["project"] is None:
        merged["project"] = root.name
    _check(merged, file)
    return Config(
        root=root,
        project=str(merged["project"]),
        registry=str(merged["registry"]),
        offline_store=merged["offline_store"],
        online_store=merged["online_store"],
        spark=merged["spark"],
        offline_engine=merged["offline_engine"],
        kafka=merged["kafka"],
        api=merged["api"],
        batch=merged["batch"],
        exclude=tuple(merged["exclude"]),
        serving=merged["serving"],
        drift=merged["drift"],
        quality=merged["quality"],
        catalog=merged["catalog"],
        raw=data,
    )


def _merge(defaults: dict[str, Any], given: dict[str, Any], file: Path, prefix: str) -> dict[str, Any]:
    out = dict(defaults)
    for key, value in given.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            known = ", ".join(f"{prefix}{k}" for k in defaults)
            raise ConfigError(f"{file}: unknown key {dotted!r} (known: {known})")
        default = defaults[key]
        if key == "conf":  # free-form engine settings (Spark conf, librdkafka conf)
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: key {dotted!r} must be a mapping, got {value!r}")
            out[key] = {**default, **{str(k): v for k, v in value.items()}}
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{file}: key {dotted!r} must be a mapping, got {value!r}")
            out[key] = _merge(default, value, file, f"{dotted}.")
        elif isinstance(default, list):
            if not isinstance(value, list):
                raise ConfigError(f"{file}: key {dotted!r} must be a list, got {value!r}")
            out[key] = value
        elif default is not None and not _same_kind(default, value):
            raise ConfigError(f"{file}: key {dotted!r} must be {_kind_name(default)}, got {value!r}")
        else:
            out[key] = value
    return out


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    if isinstance(default, str):  # "1h", 8666 and 4 are all fine where text is expected
        return isinstance(value, str | int | float)
    return isinstance(value, type(default))


def _kind_name(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    return "a number" if isinstance(default, int | float) else f"a {type(default).__name__}"


def _check(cfg: dict[str, Any], file: Path) -> None:
    if cfg["offline_engine"] not in OFFLINE_ENGINES:
        raise ConfigError(
            f"{file}: key 'offline_engine' must be one of {', '.join(OFFLINE_ENGINES)}, got {cfg['offline_engine']!r}"
        )
    registry = str(cfg["registry"])
    if not registry.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
        raise ConfigError(f"{file}: key 'registry' must be a sqlite:/// or postgresql:// URL, got {registry!r}")
    if not isinstance(cfg["project"], str) or not str(cfg["project"]).replace("-", "_").isidentifier():
        raise ConfigError(f"{file}: key 'project' must be a simple name, got {cfg['project']!r}")
    _check_offline_path(cfg["offline_store"]["path"], file)
    rate = cfg["serving"]["log_sample_rate"]
    if not 0.0 <= float(rate) <= 1.0:
        raise ConfigError(f"{file}: key 'serving.log_sample_rate' must be between 0 and 1, got {rate!r}")
    if int(cfg["drift"]["bins"]) < 2:
        raise ConfigError(f"{file}: key 'drift.bins' must be 2 or more, got {cfg['drift']['bins']!r}")
    for key in ("log_flush_rows", "log_flush_s"):
        if float(cfg["serving"][key]) <= 0:
            raise ConfigError(f"{file}: key 'serving.{key}' must be above 0, got {cfg['serving'][key]!r}")
    _check_api_keys(cfg["api"]["api_keys"], file)
    _check_hooks(cfg["catalog"]["hooks"], file)
    for key in ("default_lateness", "session_lookback"):
        try:
            parse_duration(cfg["batch"][key])
        except DurationError as exc:
            raise ConfigError(f"{file}: key 'batch.{key}': {exc}") from None
    if cfg["batch"]["sliding_windows"] not in SLIDING_PLANS:
        raise ConfigError(f"{file}: key 'batch.sliding_windows' must be one of {', '.join(SLIDING_PLANS)}, "
                          f"got {cfg['batch']['sliding_windows']!r}")


def _check_offline_path(path: Any, file: Path) -> None:
    """Refuse a URL: the offline store is written with local file operations (listings, renames for swaps)."""
    if _URL.match(str(path)):
        raise ConfigError(
            f"{file}: key 'offline_store.path' must be a local or shared POSIX path, got the URL {path!r}; "
            "object stores and HDFS (s3a://, gs://, hdfs://, ...) are not supported. On a cluster, use a folder "
            "every Spark executor reaches at the same path, e.g. an NFS mount: {path: /mnt/shared/aquifer}"
        )


API_ROLES = ("reader", "writer", "admin")
_SHA256 = re.compile(r"(sha256:)?[0-9a-fA-F]{64}")


def _check_api_keys(keys: list[Any], file: Path) -> None:
    """Each ``api.api_keys`` entry: a sha256 hash (an admin key) or ``{name, role, key_env | sha256}``."""
    for i, entry in enumerate(keys):
        where = f"{file}: key 'api.api_keys[{i}]'"
        if isinstance(entry, str):
            if not _SHA256.fullmatch(entry.strip()):
                raise ConfigError(f"{where} must be a sha256 hash (python -m aquifer.api.auth KEY prints it) or a "
                                  "mapping {name, role, key_env | sha256}; never the key itself")
            continue
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a sha256 hash or a mapping {{name, role, key_env | sha256}}")
        unknown = sorted(set(entry) - {"name", "role", "key_env", "sha256"})
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: name, role, key_env, sha256)")
        if entry.get("role") not in API_ROLES:
            raise ConfigError(f"{where}.role must be one of {', '.join(API_ROLES)}, got {entry.get('role')!r}")
        if ("key_env" in entry) == ("sha256" in entry):
            raise ConfigError(f"{where} needs exactly one of key_env (an environment variable holding the key) "
                              "or sha256 (its hash)")
        if "sha256" in entry and not _SHA256.fullmatch(str(entry["sha256"]).strip()):
            raise ConfigError(f"{where}.sha256 must be a sha256 hex digest, got {entry['sha256']!r}")


# hook type -> the keys it takes (besides ``type`` and ``name``); docs/catalog.md describes each
HOOK_KEYS: dict[str, tuple[str, ...]] = {
    "openlineage": ("transport", "path", "url", "endpoint", "namespace", "api_key_env", "timeout_s"),
    "datahub": ("path", "url", "token_env", "platform", "env", "timeout_s"),
    "webhook": ("url", "headers", "timeout_s"),
}


def _check_hooks(hooks: list[Any], file: Path) -> None:
    """Each ``catalog.hooks`` entry names a known ``type``, only that type's keys, and where events go."""
    for i, hook in enumerate(hooks):
        where = f"{file}: key 'catalog.hooks[{i}]'"
        if not isinstance(hook, dict):
            raise ConfigError(f"{where} must be a mapping with a type ({', '.join(HOOK_KEYS)}), got {hook!r}")
        kind = hook.get("type")
        if kind not in HOOK_KEYS:
            raise ConfigError(f"{where}.type must be one of {', '.join(HOOK_KEYS)}, got {kind!r}")
        known = ("type", "name", *HOOK_KEYS[kind])
        unknown = [k for k in hook if k not in known]
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} for a {kind} hook (known: {', '.join(known)})")
        if kind == "openlineage":
            transport = hook.get("transport", "file" if "path" in hook else "http")
            if transport not in ("file", "http"):
                raise ConfigError(f"{where}.transport must be file or http, got {transport!r}")
            needed = "path" if transport == "file" else "url"
            if not hook.get(needed):
                raise ConfigError(f"{where}: an openlineage hook with transport {transport} needs {needed!r}")
        elif kind == "datahub" and bool(hook.get("path")) == bool(hook.get("url")):
            raise ConfigError(f"{where}: a datahub hook needs exactly one of 'path' (a JSON-lines file) or 'url' "
                              "(the DataHub GMS REST endpoint)")
        elif kind == "webhook" and not hook.get("url"):
            raise ConfigError(f"{where}: a webhook hook needs 'url'")
        if "headers" in hook and not isinstance(hook["headers"], dict):
            raise ConfigError(f"{where}.headers must be a mapping of header names to values")
        timeout = hook.get("timeout_s", 1)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(f"{where}.timeout_s must be a number above 0, got {hook['timeout_s']!r}")
