"""One run's scenarios, their steps and evidence, as reports/results.json.

The pytest plugin fills it while scenarios run; `obsharness report` rebuilds
the HTML from the file alone, so a report can be rebuilt without a stack.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"
# How a skip for a broken config starts, so the report and the summary tell it from a
# component that is missing.
NOT_RUN = "not run: "


@dataclass
class StepResult:
    keyword: str
    text: str
    status: str = "not run"  # passed, failed, skipped, not run
    evidence: list[dict[str, Any]] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)  # the step's data table, rendered


@dataclass
class ScenarioResult:
    nodeid: str
    feature: str
    feature_file: str
    name: str
    feature_description: str = ""
    tags: list[str] = field(default_factory=list)
    outcome: str = "unknown"  # passed, failed, skipped
    duration_s: float = 0.0
    reason: str = ""  # why skipped, or the failure's own message
    steps: list[StepResult] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # outside any step
    timeline: dict[str, Any] | None = None
    properties: dict[str, str] = field(default_factory=dict)  # e.g. log_agent
    # A failure's pytest traceback, kept behind a fold: the message leads.
    traceback: str = ""
    # What parametrizes the scenario beyond its Examples row (the log agent), in words.
    variant: str = ""

    @property
    def title(self) -> str:
        """The scenario's words, Examples values filled in (pytest-bdd renders them), and
        the variant it ran in; never a pytest id."""
        return f"{self.name} (with {self.variant})" if self.variant else self.name

    @property
    def not_run(self) -> bool:
        """Skipped because something else is broken (a config the static stage refused),
        not because a component is missing."""
        return self.outcome == "skipped" and self.reason.startswith(NOT_RUN)


@dataclass
class RunResults:
    started_at: float = field(default_factory=time.time)
    finished_at: float = 0.0
    backend: str = ""
    time_scale: float = 0.0
    scenarios: list[ScenarioResult] = field(default_factory=list)
    configs: dict[str, str] = field(default_factory=dict)  # rendered config -> path
    # What time compression changed in meaning: rules not equivalent to production,
    # horizons it scaled, floors it applied; each line names file and rule.
    time_compression: dict[str, list[str]] = field(default_factory=dict)
    # Every alerting rule of the stack, where it is kept and which promtool unit tests
    # expect it: the report's proof table joins them with the scenarios.
    alerts: list[dict[str, Any]] = field(default_factory=list)
    # The team's receiver endpoints the harness's sinks stood in for, one line each.
    stand_ins: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for scenario in self.scenarios:
            out[scenario.outcome] = out.get(scenario.outcome, 0) + 1
        return out

    def save(self, reports_dir: Path) -> Path:
        reports_dir.mkdir(parents=True, exist_ok=True)
        path = reports_dir / RESULTS_FILE
        path.write_text(json.dumps(asdict(self), indent=1, default=str))
        return path

    @classmethod
    def load(cls, reports_dir: Path) -> RunResults:
        raw = json.loads((reports_dir / RESULTS_FILE).read_text())
        scenarios = []
        for item in raw.pop("scenarios", []):
            item["steps"] = [StepResult(**s) for s in item.get("steps", [])]
            scenarios.append(ScenarioResult(**item))
        return cls(**raw, scenarios=scenarios)


# Which of two results of one scenario a merge keeps: the one that ran wins over a
# skip, a skip over one that was only collected (another worker or runner ran it).
_WEIGHT = {"unknown": 0, "skipped": 1}


def merge(parts: list[RunResults]) -> RunResults:
    """One run out of several (CI runners or parallel workers that each ran part of the
    scenarios): scenarios in the order the parts list them; where a scenario appears
    twice, the outcome of the part that ran it wins."""
    merged = RunResults(
        started_at=min(p.started_at for p in parts),
        finished_at=max(p.finished_at for p in parts),
        backend=", ".join(dict.fromkeys(p.backend for p in parts if p.backend)),
        time_scale=parts[0].time_scale,
        time_compression=next((p.time_compression for p in parts if p.time_compression), {}),
        alerts=next((p.alerts for p in parts if p.alerts), []),
        stand_ins=next((p.stand_ins for p in parts if p.stand_ins), []))
    by_nodeid: dict[str, ScenarioResult] = {}
    for part in parts:
        merged.configs.update(part.configs)
        for scenario in part.scenarios:
            known = by_nodeid.get(scenario.nodeid)
            if known is None or _WEIGHT.get(known.outcome, 2) < _WEIGHT.get(scenario.outcome, 2):
                by_nodeid[scenario.nodeid] = scenario
    merged.scenarios = list(by_nodeid.values())
    return merged
