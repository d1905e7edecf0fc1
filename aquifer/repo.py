"""Load a feature repo: import every ``*.py`` below its root and collect the definitions it declares.

Loading never stops at the first broken module: every syntax or import error is collected with its
``file:line`` so that ``aquifer plan`` can report all of them at once.
"""

from __future__ import annotations

import fnmatch
import importlib
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from aquifer.config import Config, load_config
from aquifer.definitions import (
    DEFINITION_TYPES,
    AggregationView,
    Definition,
    DefinitionError,
    FeatureService,
    FeatureView,
    KafkaSource,
)

SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".aquifer", "node_modules", "build", "dist", ".tox"}


@dataclass(frozen=True)
class LoadError:
    """A problem found while loading, located at ``file:line`` when known."""

    message: str
    location: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        who = f"{self.name}: " if self.name else ""
        return f"{self.location}: {who}{self.message}" if self.location else f"{who}{self.message}"


@dataclass
class LoadedRepo:
    """Everything one load produced: config, unique definitions (in discovery order) and errors."""

    config: Config
    definitions: list[Definition] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    modules: dict[str, ModuleType] = field(default_factory=dict)

    def by_kind(self, *kinds: type) -> list[Definition]:
        """Definitions of the given classes."""
        return [d for d in self.definitions if isinstance(d, kinds)]

    @property
    def views(self) -> dict[str, FeatureView | AggregationView]:
        """Feature and aggregation views by name."""
        return {d.name: d for d in self.definitions if isinstance(d, FeatureView | AggregationView)}

    @property
    def services(self) -> dict[str, FeatureService]:
        """Feature services by name."""
        return {d.name: d for d in self.definitions if isinstance(d, FeatureService)}

    def get(self, name: str) -> Definition:
        """The definition called ``name`` (views and sources first); ``KeyError`` when unknown."""
        for d in self.definitions:
            if d.name == name:
                return d
        raise KeyError(name)


def repo_files(root: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every ``*.py`` below ``root``, skipping virtualenvs, caches, hidden folders and ``exclude`` globs."""
    files = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        if any(fnmatch.fnmatch(str(rel), pattern) for pattern in exclude):
            continue
        files.append(path)
    return files


def load_repo(path: str | Path) -> LoadedRepo:
    """Import a repo's modules and collect its definitions; errors are collected, not raised."""
    config = load_config(path)
    root = config.root
    repo = LoadedRepo(config)
    files = repo_files(root, config.exclude)
    names = {_module_name(root, f): f for f in files}
    tops = {n.split(".")[0] for n in names} - set(sys.stdlib_module_names) - {"aquifer"}
    # a previous load (another repo, or this one before an edit) may have left these modules behind
    for loaded in [m for m in sys.modules if m.split(".")[0] in tops]:
        del sys.modules[loaded]
    importlib.invalidate_caches()
    sys.path.insert(0, str(root))
    try:
        for name, file in names.items():
            module = _import(name, file, root, repo.errors)
            if module is not None:
                repo.modules[name] = module
    finally:
        sys.path.remove(str(root))
    repo.definitions = collect(value for module in repo.modules.values() for value in list(vars(module).values()))
    return repo


def _module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    safe = [p if p.isidentifier() else "_" + "".join(c if c.isalnum() else "_" for c in p) for p in parts]
    return ".".join(safe) or "__repo_root__"


def _import(name: str, file: Path, root: Path, errors: list[LoadError]) -> ModuleType | None:
    try:
        if all(p.isidentifier() for p in name.split(".")) and name == _plain_name(root, file):
            return importlib.import_module(name)
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    except SyntaxError as exc:
        where = f"{exc.filename or file}:{exc.lineno}" if exc.lineno else str(file)
        errors.append(LoadError(f"syntax error: {exc.msg}", where))
    except DefinitionError as exc:
        errors.append(LoadError(str(exc).removeprefix(f"{exc.location}: "), exc.location or str(file)))
    except SystemExit as exc:  # exit() in a module would otherwise end `aquifer plan` without a word
        errors.append(LoadError(f"the module called exit({exc.code!r}) while being imported",
                                _user_frame(exc, root) or str(file)))
    except Exception as exc:  # any user mistake while importing: report it where it happened
        errors.append(LoadError(f"{type(exc).__name__}: {exc}", _user_frame(exc, root) or str(file)))
    sys.modules.pop(name, None)
    return None


def _plain_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _user_frame(exc: BaseException, root: Path) -> str | None:
    """``file:line`` of the deepest traceback frame inside the repo."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve().is_relative_to(root):
            found = f"{frame.filename}:{frame.lineno}"
    return found


def collect(values: Iterable[object]) -> list[Definition]:
    """Unique definitions (by identity) among ``values`` (a module's globals), plus those they reference inline."""
    seen: dict[int, Definition] = {}

    def visit(obj: object) -> None:
        if not isinstance(obj, DEFINITION_TYPES) or id(obj) in seen:
            return
        for child in _children(obj):
            visit(child)
        seen[id(obj)] = obj

    for value in values:
        visit(value)
    return list(seen.values())


def _children(obj: Definition) -> list[object]:
    if isinstance(obj, FeatureView | AggregationView):
        return [*obj.entities, obj.source]
    if isinstance(obj, KafkaSource):
        return [obj.batch_source]
    if isinstance(obj, FeatureService):
        return [p.view for p in obj.features]
    return []
