"""``Problem``: one thing wrong with a feature repo, located at the definition's ``file:line``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """A definition error (or warning) with the definition's name and ``file:line``.

    ``severity`` is ``"error"`` (``plan``/``apply`` refuse the repo) or ``"warning"`` (shown, not fatal).
    """

    name: str
    location: str | None
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        who = f"{self.name}: " if self.name else ""
        tag = "warning: " if self.severity == WARNING else ""
        return f"{self.location}: {tag}{who}{self.message}" if self.location else f"{tag}{who}{self.message}"

    @property
    def is_error(self) -> bool:
        """True unless this is only a warning."""
        return self.severity != WARNING


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'amount'?)`` for the closest candidates, else an empty string."""
    pool = list(dict.fromkeys(candidates))
    close = difflib.get_close_matches(word, pool, n=3, cutoff=0.7)
    if not close:
        lowered = {c.lower(): c for c in pool}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def sort_key(problem: Problem) -> tuple[str, int]:
    """Order problems by file, then line (problems without a location last)."""
    if not problem.location:
        return ("\uffff", 0)
    path, _, line = problem.location.rpartition(":")
    return (path, int(line)) if line.isdigit() else (problem.location, 0)
