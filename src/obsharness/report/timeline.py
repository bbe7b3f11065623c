"""An alert scenario as a timeline: the rule's measured value against its threshold,
with the fault, the alert firing and the notification marked, and, where the
scenario read them, the log lines behind the alert (times of Loki lines).

The value is the alert expression's left-hand side, asked from Prometheus over
the scenario's window; the firing time is the first sample of ALERTS in the
firing state.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ObsharnessError

_COMPARISON = re.compile(
    r"^(?P<lhs>.*\S)\s*(?P<op>>=|<=|==|!=|>|<)\s*(?P<threshold>-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)$",
    re.DOTALL,
)
# Enough points for a readable line, few enough to keep the page light.
POINTS = 200


@dataclass(frozen=True)
class AlertRule:
    name: str
    lhs: str
    op: str
    threshold: float


def split_threshold(name: str, expr: str) -> AlertRule | None:
    """`<measure> > 0.05` -> (measure, >, 0.05); None when the expression is not of that shape."""
    found = _COMPARISON.match(expr.strip())
    if not found:
        return None
    return AlertRule(name, found["lhs"].strip(), found["op"], float(found["threshold"]))


def alert_rules(rule_files: list[Path], name: str) -> list[AlertRule]:
    rules = []
    for path in rule_files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if rule.get("alert") == name:
                    split = split_threshold(name, str(rule.get("expr", "")))
                    if split:
                        rules.append(split)
    return rules


@dataclass
class Timeline:
    alert: str
    service: str
    measure: str
    op: str
    threshold: float
    points: list[tuple[float, float]] = field(default_factory=list)
    fault_at: float | None = None
    firing_at: float | None = None
    notified_at: float | None = None
    log_label: str | None = None
    log_times: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Timeline:
        raw = dict(raw)
        raw["points"] = [tuple(p) for p in raw.get("points", [])]
        return cls(**raw)


def build(prometheus: PrometheusClient, rule_files: list[Path], *, alert: str, service: str,
          start: float, end: float, fault_at: float | None,
          notified_at: float | None, log_marks: dict[str, Any] | None = None) -> Timeline:
    """Ask Prometheus for the alert's measure over [start, end] for one service."""
    rules = alert_rules(rule_files, alert)
    if not rules:
        raise ObsharnessError(f"no rule of the form '<measure> <op> <number>' for alert {alert}")
    step = max((end - start) / POINTS, 0.05)
    chosen, points = rules[0], []
    for rule in rules:  # HighCPU has a process and a host rule: take the one with this service
        series = prometheus.query_range(rule.lhs, start, end, step)
        mine = [values for labels, values in series if labels.get("service") == service]
        if mine:
            chosen, points = rule, mine[0]
            break
    firing = prometheus.query_range(
        f'ALERTS{{alertname="{alert}", alertstate="firing", service="{service}"}}',
        start, end, step)
    firing_at = min((t for _, values in firing for t, _ in values), default=None)
    marks = log_marks or {}
    return Timeline(alert, service, chosen.lhs, chosen.op, chosen.threshold, points,
                    fault_at, firing_at, notified_at, marks.get("label"),
                    [float(t) for t in marks.get("times", [])])
