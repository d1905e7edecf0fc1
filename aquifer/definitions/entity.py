"""Entities: the things features describe, identified by their join keys."""

from __future__ import annotations

from dataclasses import dataclass

from aquifer.definitions.base import DefinitionError, Metadata, as_names, as_tuple
from aquifer.definitions.fields import type_hint
from aquifer.definitions.types import FeatureType


@dataclass(frozen=True)
class Entity(Metadata):
    """A business object with features (``Entity("user", join_keys=["user_id"])``).

    ``key_types`` optionally declares each join key's type (defaults to Int64 for all) so that
    label frames and lookups with the wrong key type are refused with a clear error.
    """

    name: str
    join_keys: tuple[str, ...] = ()
    key_types: tuple[FeatureType, ...] = ()

    def __post_init__(self) -> None:
        self._init_metadata()
        object.__setattr__(self, "join_keys", as_names(self.join_keys, self.who, "join_keys", self.location))
        object.__setattr__(self, "key_types", as_tuple(
            self.key_types, self.who, "key_types", self.location, FeatureType,
            "aquifer types (Int64, String, ... from aquifer.types)", type_hint))
        if not self.join_keys:
            raise DefinitionError(f"{self.who} needs at least one join key (join_keys=[...])", self.location)
        if len(set(self.join_keys)) != len(self.join_keys):
            raise DefinitionError(f"Entity {self.name!r} join_keys repeat a name: {list(self.join_keys)}",
                                  self.location)
        if self.key_types and len(self.key_types) != len(self.join_keys):
            raise DefinitionError(
                f"Entity {self.name!r} has {len(self.join_keys)} join keys but {len(self.key_types)} key_types",
                self.location,
            )
