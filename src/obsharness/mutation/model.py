"""What a mutant is: one plausible mistake in one of the team's files."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

# The flows a mutant can belong to (`obsharness mutate --only`), and the scenario
# tags (pytest markers) of the features that can see a mistake there. Static
# checks (@static) come first: a mutant they catch is caught by validation.
FLOW_TAGS: dict[str, tuple[str, ...]] = {
    # A replay (@replay) drives a team's own rules and routes with no app at all.
    "rules": ("static", "alerting", "metrics", "visualisation", "replay"),
    "alertmanager": ("static", "alerting", "replay"),
    "prometheus": ("static", "metrics", "alerting", "visualisation"),
    "logs": ("static", "logs"),
    "grafana": ("static", "visualisation"),
    # The practical case (@browser) is where one request id crosses node-app to
    # fastapi-app, read in both apps' own logs: without Loki, the only witness.
    "apps": ("metrics", "logs", "alerting", "visualisation", "browser"),
    "infra": ("infrastructure",),
}
FLOWS = tuple(FLOW_TAGS)


@dataclass(frozen=True)
class Mutant:
    flow: str
    operator: str
    path: str  # relative to the project root, e.g. stack/prometheus/rules/alerts.yml
    description: str
    original: str = field(repr=False)
    mutated: str = field(repr=False)
    # Names the mistake touches (alert, metric, job, receiver...): scenarios that
    # mention one are tried first.
    subjects: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Stable across runs while the file and the mistake are the same."""
        digest = hashlib.sha256(
            f"{self.path}\0{self.operator}\0{self.mutated}".encode()).hexdigest()
        return f"{self.flow}-{digest[:10]}"

    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.original.splitlines(keepends=True), self.mutated.splitlines(keepends=True),
            fromfile=f"a/{self.path}", tofile=f"b/{self.path}", n=1))

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "flow": self.flow, "operator": self.operator, "path": self.path,
                "description": self.description, "subjects": list(self.subjects),
                "diff": self.diff()}


def make(flow: str, operator: str, path: str, description: str, original: str, mutated: str,
         subjects: tuple[str, ...] | list[str] = ()) -> Mutant | None:
    """A mutant, or None when the edit changed nothing (the pattern did not apply)."""
    if mutated == original:
        return None
    return Mutant(flow, operator, path, description, original, mutated,
                  tuple(dict.fromkeys(s for s in subjects if s)))


# An operator module's local `m(operator, description, mutated, *subjects)`.
Maker = Callable[..., "Mutant | None"]
