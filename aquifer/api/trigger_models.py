"""Request and response bodies of the write routes: apply over HTTP and triggered batch runs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ApplyRequest(BaseModel):
    """Apply the server's feature repo as it is on disk now (re-read first)."""

    dry_run: bool = Field(default=False, description="Only compute the diff (aquifer plan); write nothing")


class ApplyChange(BaseModel):
    """One definition in the diff; ``old_version`` is None when added, ``new_version`` None when removed."""

    kind: str
    name: str
    old_version: int | None
    new_version: int | None


class ApplyResponse(BaseModel):
    """What the apply changed (or, on a dry run, would change)."""

    project: str
    applied: bool = Field(description="False on a dry run")
    version: int = Field(description="The project's version after the apply (the current one on a dry run)")
    added: list[ApplyChange]
    removed: list[ApplyChange]
    changed_data: list[ApplyChange] = Field(description="Changes that recompute rows")
    changed_meta: list[ApplyChange] = Field(description="Metadata-only changes")
    warnings: list[str]


class RunRequest(BaseModel):
    """An incremental batch run (``aquifer run``) of ``views`` (default: all) up to ``end`` (default: now)."""

    views: list[str] | None = Field(default=None, description="Views to run; null: all")
    end: str | None = Field(default=None, description="Compute up to this time (ISO 8601; UTC without offset)")


class RunResponse(BaseModel):
    """The run started in the background; follow it with ``GET /api/v1/runs``."""

    status: Literal["started"]
    kind: Literal["batch"]
    views: list[str] | None
