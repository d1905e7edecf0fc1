"""Redis key layout of the online store: one hash per entity key.

``aq:<project>:<entity group>:<encoded key>``

- *entity group*: the view's entity names, sorted and joined by ``+`` (``user``, ``merchant+user``).
  Views over the same entities share one hash, one field per view, so a lookup reads them together.
- *encoded key*: the join-key values in the group's join-key order (entities sorted by name, each
  entity's ``join_keys`` in declaration order), each rendered as text and joined by ``|``. A ``\\`` or
  ``|`` inside a value is escaped with ``\\``, so a composite key splits back unambiguously
  (``("a|b", "c")`` → ``a\\|b|c``, ``("a", "b|c")`` → ``a|b\\|c``).
- rendering: a key declared Int64/Int32 (the default when an entity declares no ``key_types``) is
  coerced to ``int`` and written in decimal, so ``1``, ``numpy.int64(1)`` and ``"1"`` name one entity;
  a String key is written as is; Bool as ``true``/``false``; Bytes as lowercase hex.

No ``{}`` hash tag: keys spread over every Redis Cluster slot; each write script call touches one key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aquifer.definitions import AggregationView, FeatureView

KEY_PREFIX = "aq"
SEPARATOR = "|"


class EntityKeyError(ValueError):
    """An entity row lacks a join key, or a key value does not fit the key's declared type."""


@dataclass(frozen=True)
class EntityGroup:
    """The entities a view is keyed by; names its Redis hashes."""

    name: str
    join_keys: tuple[str, ...]
    key_types: tuple[str, ...]  # type names (Int64, String, ...) per join key

    def prefix(self, project: str) -> str:
        """``aq:<project>:<group>:``, the part every key of this group starts with."""
        return f"{KEY_PREFIX}:{project}:{self.name}:"

    def encode(self, values: Sequence[Any]) -> str:
        """The encoded key of one entity, given its join-key values in ``join_keys`` order."""
        if len(values) == 1:
            return _escape(render(values[0], self.key_types[0], self.join_keys[0]))
        return SEPARATOR.join(
            _escape(render(v, t, k)) for v, t, k in zip(values, self.key_types, self.join_keys, strict=True)
        )

    def key_of(self, project: str, row: Mapping[str, Any]) -> str:
        """The Redis key of the entity described by ``row`` (a mapping holding every join key)."""
        try:
            values = [row[k] for k in self.join_keys]
        except KeyError as exc:
            raise EntityKeyError(f"entity row {dict(row)!r} is missing join key {exc.args[0]!r}") from None
        return self.prefix(project) + self.encode(values)


def entity_group(view: FeatureView | AggregationView) -> EntityGroup:
    """The entity group of a view (entities sorted by name so declaration order does not matter)."""
    entities = sorted(view.entities, key=lambda e: e.name)
    keys: list[str] = []
    types: list[str] = []
    for entity in entities:
        declared = [t.name for t in entity.key_types] or ["Int64"] * len(entity.join_keys)
        for key, type_name in zip(entity.join_keys, declared, strict=True):
            if key not in keys:
                keys.append(key)
                types.append(type_name)
    return EntityGroup("+".join(e.name for e in entities), tuple(keys), tuple(types))


def render(value: Any, type_name: str, key: str = "key") -> str:
    """One join-key value as text, coerced to its declared type; ``EntityKeyError`` when it does not fit."""
    if value is None:
        raise EntityKeyError(f"join key {key!r} is null")
    try:
        if type_name in ("Int64", "Int32"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return str(int(value))
        if type_name == "String":
            return value if isinstance(value, str) else str(value)
        if type_name == "Bool":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower()
            return "true" if bool(value) else "false"
        if type_name == "Bytes":
            return bytes(value).hex()
    except (TypeError, ValueError):
        raise EntityKeyError(f"join key {key!r} must be {type_name}, got {value!r}") from None
    return str(value)


def _escape(text: str) -> str:
    if "\\" in text or SEPARATOR in text:
        return text.replace("\\", "\\\\").replace(SEPARATOR, "\\" + SEPARATOR)
    return text


def split_key(encoded: str) -> list[str]:
    """Inverse of the composite encoding: ``a\\|b|c`` → ``["a|b", "c"]`` (values stay text)."""
    parts, current, escaped = [], [], False
    for ch in encoded:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == SEPARATOR:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
