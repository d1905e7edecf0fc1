"""Entities: the things features describe, identified by their join keys."""

from __future__ import annotations

from dataclasses import dataclass

from aquifer.definitions.base import DefinitionError, Metadata, as_tuple
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
        object.__setattr__(self, "join_keys", as_tuple(self.join_keys, f"Entity {self.name!r} join_keys"))
        object.__setattr__(self, "key_types", as_tuple(self.key_types, f"Entity {self.name!r} key_types"))
        self._init_metadata()
        if not self.join_keys:
            raise DefinitionError(f"Entity {self.name!r} needs at least one join key", self.location)
        if self.key_types and len(self.key_types) != len(self.join_keys):
            raise DefinitionError(
                f"Entity {self.name!r} has {len(self.join_keys)} join keys but {len(self.key_types)} key_types",
                self.location,
            )
