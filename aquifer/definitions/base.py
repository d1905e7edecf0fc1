"""What every definition shares: a name, metadata, and the ``file:line`` where it was written."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class DefinitionError(ValueError):
    """A definition is malformed in a way that can be told at construction time."""

    def __init__(self, message: str, location: str | None = None):
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class FrozenDict(Mapping[str, str]):
    """An immutable, hashable mapping (used for tags)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()):
        items = data.items() if isinstance(data, Mapping) else data
        self._data = {str(k): str(v) for k, v in items}
        self._hash: int | None = None

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(sorted(self._data.items())))
        return self._hash

    def __repr__(self) -> str:
        return repr(self._data)


def caller_location() -> str | None:
    """``path:line`` of the first stack frame outside the aquifer package (the user's definition)."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        # dataclass-generated __init__ methods run with their defining module's globals
        internal = module == "aquifer" or module.startswith("aquifer.")
        if not internal and not frame.f_code.co_filename.startswith("<frozen"):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def as_tuple(value: Any, what: str) -> tuple:
    """Lists and tuples become tuples; a lone string is refused (``["user_id"]`` was meant)."""
    if value is None:
        return ()
    if isinstance(value, str | bytes):
        raise DefinitionError(f"{what} must be a list, not the string {value!r}", caller_location())
    return tuple(value)


@dataclass(frozen=True, kw_only=True)
class Metadata:
    """Declared metadata carried by every definition; editing it never triggers recomputation."""

    description: str = ""
    owner: str = ""
    tags: Mapping[str, str] = field(default_factory=FrozenDict)
    location: str | None = field(default=None, compare=False, repr=False)

    def _init_metadata(self) -> None:
        if not isinstance(self.tags, FrozenDict):
            object.__setattr__(self, "tags", FrozenDict(self.tags or {}))
        if self.location is None:
            object.__setattr__(self, "location", caller_location())
        name = getattr(self, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise DefinitionError(
                f"{type(self).__name__} name must be a Python-style identifier, got {name!r}", self.location
            )

    @property
    def kind(self) -> str:
        """The definition's kind as used in the registry and CLI (``feature_view``, ``entity``, ...)."""
        return _snake(type(self).__name__)


def _snake(name: str) -> str:
    out = [name[0].lower()]
    for ch in name[1:]:
        out.append(f"_{ch.lower()}" if ch.isupper() else ch)
    return "".join(out)
