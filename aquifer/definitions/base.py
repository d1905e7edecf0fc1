"""What every definition shares: a name, metadata, and the ``file:line`` where it was written.

Also the small checks every constructor uses so that a definition written wrongly (a string where an
object belongs, a number where text belongs, ...) is refused with a ``DefinitionError`` that names the
definition, the argument, what was expected and what was given, never with a ``TypeError``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
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


def describe(value: Any) -> str:
    """How a wrongly typed value is named in a message: ``the string 'x'``, ``the number 3``, ``None``, ..."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return f"the bool {value!r}"
    if isinstance(value, str):
        return f"the string {_short(repr(value))}"
    if isinstance(value, int | float):
        return f"the number {_short(repr(value))}"
    if isinstance(value, type):
        return f"the class {value.__name__}"
    kind = type(value).__name__
    if type(value).__module__.startswith("aquifer."):
        name = getattr(value, "name", None)
        return f"the {kind} {name!r}" if isinstance(name, str) else f"{_a(kind)} {kind} object"
    if callable(value) and hasattr(value, "__name__"):
        return f"the function {value.__name__}"
    return f"{_a(kind)} {kind} {_short(_safe_repr(value))}"


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # a user object whose __repr__ is broken must not hide the real message
        return f"<{type(value).__name__}>"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def wrong(who: str, argument: str, expected: str, value: Any, location: str | None, hint: str = "") -> DefinitionError:
    """``{who} {argument} must be {expected}, got {value}{hint}`` as a located ``DefinitionError``."""
    return DefinitionError(f"{who} {argument} must be {expected}, got {describe(value)}{hint}", location)


def object_hint(argument: str, value: Any, in_list: bool = False) -> str:
    """`` (pass the object: source=transactions)`` when a name was written where its object belongs."""
    if not isinstance(value, str) or not value.isidentifier():
        return ""
    return f" (pass the object: {argument}=[{value}])" if in_list else f" (pass the object: {argument}={value})"


def must_be(
    value: Any, types: type | tuple[type, ...], who: str, argument: str, expected: str, location: str | None,
    *, optional: bool = False, hint: str | None = None,
) -> Any:
    """``value`` when it is one of ``types`` (or None when ``optional``), else a ``DefinitionError``.

    A string where an object is expected gets the ``(pass the object: argument=name)`` hint.
    """
    if (value is None and optional) or (isinstance(value, types) and not _is_bool_for_number(value, types)):
        return value
    if optional:
        expected = f"{expected} (or None)"
    raise wrong(who, argument, expected, value, location, object_hint(argument, value) if hint is None else hint)


def _is_bool_for_number(value: Any, types: type | tuple[type, ...]) -> bool:
    wanted = types if isinstance(types, tuple) else (types,)
    return isinstance(value, bool) and bool not in wanted


def must_be_text(
    value: Any, who: str, argument: str, location: str | None, *, optional: bool = False, empty: bool = False,
) -> str | None:
    """A string argument (a column name, a path, a description): refused when not text, or empty unless allowed."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not empty and not value.strip()):
        expected = "text" if empty else "a non-empty string"
        raise wrong(who, argument, f"{expected}{' (or None)' if optional else ''}", value, location)
    return value


def must_be_bool(value: Any, who: str, argument: str, location: str | None) -> bool:
    """``True`` or ``False``; ``1``, ``"yes"`` and ``None`` are refused (they are usually a mistake)."""
    if not isinstance(value, bool):
        raise wrong(who, argument, "True or False", value, location)
    return value


def as_tuple(
    value: Any, who: str, argument: str, location: str | None,
    item_types: type | tuple[type, ...] | None = None, item_expected: str = "",
    item_hint: Callable[[Any], str] | None = None,
) -> tuple:
    """Lists, tuples and generators become tuples; None is empty; anything else (a lone string, a number,
    a dict, a set, a lone object where a list of them was meant) is refused, as is any item that is not
    one of ``item_types``.

    ``item_hint(wrong_item)`` adds advice to the message; by default a name written where its object
    belongs gets ``(pass the object: argument=[name])``.
    """
    if item_hint is None:
        item_hint = functools.partial(object_hint, argument, in_list=True)
    if value is None:
        return ()
    if not isinstance(value, list | tuple | Iterator):
        expected = f"a list of {item_expected}" if item_expected else "a list"
        if item_types is not None and isinstance(value, item_types) and not isinstance(value, str):
            hint = f" (write {argument}=[...] around it)"
        elif item_types is not None and not isinstance(value, item_types):
            hint = item_hint(value)
        else:
            hint = f" (write {argument}=[{value!r}])" if isinstance(value, str) else ""
        raise wrong(who, argument, expected, value, location, hint)
    items = tuple(value)
    if item_types is not None:
        for item in items:
            if not isinstance(item, item_types) or _is_bool_for_number(item, item_types):
                raise DefinitionError(f"{who} {argument} must be a list of {item_expected}, got {describe(item)} "
                                      f"in the list{item_hint(item)}", location)
    return items


def as_names(value: Any, who: str, argument: str, location: str | None) -> tuple[str, ...]:
    """A list of non-empty column names (join keys and the like)."""
    names = as_tuple(value, who, argument, location, str, "column names (strings)")
    for name in names:
        if not name.strip():
            raise wrong(who, argument, "a list of non-empty column names", names, location)
    return names


def as_tags(value: Any, who: str, location: str | None) -> FrozenDict:
    """``{"team": "risk"}``: text keys, and text (or number/bool) values, stored as text."""
    if isinstance(value, FrozenDict):
        return value
    if value is None:
        return FrozenDict()
    expected = "a dict of text labels like {'team': 'risk'}"
    if not isinstance(value, Mapping):
        raise wrong(who, "tags", expected, value, location)
    for key, item in value.items():
        if not isinstance(key, str):
            raise wrong(who, "tags", expected, key, location, " as a key")
        if not isinstance(item, str | int | float | bool):
            raise wrong(who, "tags", expected, item, location, f" for {key!r}")
    return FrozenDict(value)


@dataclass(frozen=True, kw_only=True)
class Metadata:
    """Declared metadata carried by every definition; editing it never triggers recomputation."""

    description: str = ""
    owner: str = ""
    tags: Mapping[str, str] = field(default_factory=FrozenDict)
    location: str | None = field(default=None, compare=False, repr=False)

    def _init_metadata(self) -> None:
        """Locate the definition and check its name, description, owner and tags (call first)."""
        if self.location is None:
            object.__setattr__(self, "location", caller_location())
        elif not isinstance(self.location, str):
            raise wrong(type(self).__name__, "location", "a 'file:line' string", self.location, caller_location())
        name = getattr(self, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise DefinitionError(
                f"{type(self).__name__} name must be a Python-style identifier, got {describe(name)}", self.location
            )
        who = self.who
        object.__setattr__(self, "description", must_be_text(self.description, who, "description", self.location,
                                                             empty=True))
        object.__setattr__(self, "owner", must_be_text(self.owner, who, "owner", self.location, empty=True))
        object.__setattr__(self, "tags", as_tags(self.tags, who, self.location))

    @property
    def who(self) -> str:
        """How messages name this definition: ``FeatureView 'user_spend'``."""
        return f"{type(self).__name__} {getattr(self, 'name', None)!r}"

    @property
    def kind(self) -> str:
        """The definition's kind as used in the registry and CLI (``feature_view``, ``entity``, ...)."""
        return _snake(type(self).__name__)


def _snake(name: str) -> str:
    out = [name[0].lower()]
    for ch in name[1:]:
        out.append(f"_{ch.lower()}" if ch.isupper() else ch)
    return "".join(out)
