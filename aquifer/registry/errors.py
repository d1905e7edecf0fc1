"""Errors raised by the registry; every message says what to do next."""

from __future__ import annotations


class RegistryError(RuntimeError):
    """The registry refused an operation (bad argument, unknown run, newer schema, ...)."""


class RegistryConflict(RegistryError):
    """Another writer changed the project between ``plan`` and ``apply``; plan again and retry."""

    def __init__(self, project: str, expected: int, actual: int):
        self.project = project
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"project {project!r} was changed by another apply (version {expected} → {actual}); run plan again"
        )
