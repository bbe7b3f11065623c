"""Where an extracted file came from. Rules kept in a PrometheusRule, a Mimir namespace
file, a Helm chart or a jsonnet mixin are handed to promtool and Prometheus as plain
rule files the harness writes; every finding about such a file names the team's own
file, document and line instead."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Origin:
    file: Path  # the team's file, or the command or mixin a source renders
    line: int | None = None
    document: int | None = None  # 1-based, in a multi-document file
    shape: str = ""  # "PrometheusRule", "Mimir namespace", "ConfigMap", ...
    resource: str = ""  # "monitoring/node-rules", a ConfigMap key, a mixin field

    @property
    def where(self) -> str:
        """The part after the file: document, shape and resource."""
        parts = [f"document {self.document}"] if self.document else []
        if self.shape or self.resource:
            parts.append(" ".join(p for p in (self.shape, self.resource) if p))
        return ", ".join(parts)

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{at} ({self.where})" if self.where else at


# Extracted file -> the origin of each of its groups, in order, with the group's line in
# the extracted file (a promtool line is mapped to the group it falls in).
_EXTRACTED: dict[Path, list[tuple[int, Origin]]] = {}


def register(extracted: Path, groups: list[tuple[int, Origin]]) -> None:
    _EXTRACTED[extracted.resolve()] = sorted(groups, key=lambda pair: pair[0])


def forget(folder: Path) -> None:
    """Drop the registrations of files under a folder that is being removed."""
    folder = folder.resolve()
    for path in [p for p in _EXTRACTED if p.is_relative_to(folder)]:
        del _EXTRACTED[path]


def lookup(path: Path, line: int | None = None) -> Origin | None:
    """The origin of an extracted file, of the group `line` falls in where given."""
    try:
        groups = _EXTRACTED.get(path.resolve())
    except OSError:
        return None
    if not groups:
        return None
    chosen = groups[0][1]
    for start, origin in groups:
        if line is not None and start <= line:
            chosen = origin
    return chosen


def display(path: Path) -> str:
    """How findings name a rule file: its origin when the harness extracted it."""
    origin = lookup(path)
    return str(origin) if origin else str(path)
