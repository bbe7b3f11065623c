"""One finding of a static check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Check:
    id: str
    severity: Severity  # its default: an allowlist entry may silence it
    summary: str
    tool: str  # who decides: the real tool where one can answer

    @property
    def family(self) -> str:
        return self.id.split("/", 1)[0]


@dataclass(frozen=True)
class Finding:
    check: str  # a catalog id, such as rules/invalid
    severity: Severity
    message: str  # the underlying tool's own words
    path: Path | None = None
    line: int | None = None
    subject: str = ""  # the rule, route or panel it is about, where known
    allowed_because: str = ""  # set when the allowlist silences it

    def where(self, root: Path | None = None) -> str:
        if self.path is None:
            return ""
        shown = relative(self.path, root)
        return f"{shown}:{self.line}" if self.line else shown

    def describe(self, root: Path | None = None) -> str:
        """check: file:line: message [subject], paths as the repository names them."""
        where = self.where(root)
        about = f" [{self.subject}]" if self.subject else ""
        return f"{self.check}: {where + ': ' if where else ''}{self.message}{about}"

    def __str__(self) -> str:
        return f"{self.severity} {self.describe()}"


def relative(path: Path, root: Path | None) -> str:
    """A path as a repository names it: relative to root where it is inside it."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()
