"""Backtest every alerting rule over a Prometheus' history: `query_range` at the
group's interval, `for` and `keep_firing_for` applied per label set (engine.py), and,
where the server has `ALERTS` history, a comparison with what it really fired.

Read only: it sends range queries and nothing else, so it may point at a staging or
production Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from obsharness import rule_files
from obsharness.backtest.engine import Firing, firings
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ConfigError
from obsharness.timing import DurationError, parse_duration

MAX_POINTS = 10_000  # Prometheus refuses a range query of more than 11,000 points


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_s: float
    keep_firing_for_s: float
    labels: tuple[tuple[str, str], ...]
    interval_s: float
    file: str


@dataclass
class LabelledFiring:
    labels: dict[str, str]
    firing: Firing


@dataclass
class AlertResult:
    rule: AlertRule
    firings: list[LabelledFiring] = field(default_factory=list)
    history: list[LabelledFiring] | None = None  # ALERTS{alertstate="firing"}, if any

    @property
    def agrees(self) -> bool | None:
        """Whether the server's own ALERTS history shows the same firings (starts within
        two evaluation intervals); None where it has none."""
        if not self.history:
            return None
        mine = sorted((tuple(sorted(f.labels.items())), f.firing.start) for f in self.firings)
        theirs = sorted((tuple(sorted(f.labels.items())), f.firing.start) for f in self.history)
        return len(mine) == len(theirs) and all(
            a[0] == b[0] and abs(a[1] - b[1]) <= 2 * self.rule.interval_s
            for a, b in zip(mine, theirs, strict=True))


def _seconds(text: object, where: str, path: Path) -> float:
    try:
        return parse_duration(str(text)) / 1000
    except DurationError as exc:
        raise ConfigError(component="prometheus", path=path, detail=f"{where}: {exc}",
                          checked_with="obsharness backtest") from None


def load_rules(paths: Iterable[Path], default_interval_s: float = 60.0) -> list[AlertRule]:
    found = []
    for path in paths:
        for group in rule_files.groups(path):
            interval = _seconds(group["interval"], f"group {group.get('name')}", path) \
                if group.get("interval") else default_interval_s
            for rule in group.get("rules") or []:
                if not rule.get("alert"):
                    continue
                where = f"rule {rule['alert']}"
                found.append(AlertRule(
                    str(rule["alert"]), str(rule["expr"]),
                    _seconds(rule.get("for") or "0s", where, path),
                    _seconds(rule.get("keep_firing_for") or "0s", where, path),
                    tuple(sorted((str(k), str(v)) for k, v in (rule.get("labels") or {}).items())),
                    interval, str(path)))
    return found


def rule_paths(pattern: str) -> list[Path]:
    """A glob relative to the working directory (absolute ones are read from /)."""
    root = Path(pattern).anchor or "."
    return sorted(Path(root).glob(str(Path(pattern).relative_to(root)) if Path(pattern).anchor
                                  else pattern))


def _windows(start: float, end: float, step: float) -> Iterable[tuple[float, float]]:
    span = step * (MAX_POINTS - 1)
    left = start
    while left <= end:
        right = min(end, left + span)
        yield left, right
        left = right + step


def _evaluations(prometheus: PrometheusClient, expr: str, start: float, end: float,
                 step: float) -> tuple[list[float], dict[tuple[tuple[str, str], ...], set[float]]]:
    """The evaluation times, and for each label set the times it was returned."""
    steps = []
    t = start
    while t <= end + 1e-9:
        steps.append(round(t, 3))
        t += step
    seen: dict[tuple[tuple[str, str], ...], set[float]] = {}
    for left, right in _windows(start, end, step):
        for labels, values in prometheus.query_range(expr, left, right, step):
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))
            seen.setdefault(key, set()).update(round(ts, 3) for ts, _ in values)
    return steps, seen


def backtest_rule(prometheus: PrometheusClient, rule: AlertRule, start: float,
                  end: float) -> AlertResult:
    # Evaluations on the rule manager's grid: multiples of the interval.
    first = (start // rule.interval_s + 1) * rule.interval_s
    steps, seen = _evaluations(prometheus, rule.expr, first, end, rule.interval_s)
    result = AlertResult(rule)
    for key, times in sorted(seen.items()):
        labels = {**dict(key), **dict(rule.labels), "alertname": rule.name}
        for firing in firings(steps, [t in times for t in steps], for_s=rule.for_s,
                              keep_firing_for_s=rule.keep_firing_for_s):
            result.firings.append(LabelledFiring(labels, firing))
    result.history = _history(prometheus, rule, steps, first, end)
    return result


def _history(prometheus: PrometheusClient, rule: AlertRule, steps: list[float], start: float,
             end: float) -> list[LabelledFiring] | None:
    expr = f'ALERTS{{alertname="{rule.name}",alertstate="firing"}}'
    _, seen = _evaluations(prometheus, expr, start, end, rule.interval_s)
    if not seen:
        return None
    found = []
    for key, times in sorted(seen.items()):
        labels = {k: v for k, v in key if k != "alertstate"}
        for firing in firings(steps, [t in times for t in steps], for_s=0):
            found.append(LabelledFiring(labels, firing))
    return found


def backtest(prometheus: PrometheusClient, rules: Sequence[AlertRule], start: float,
             end: float) -> list[AlertResult]:
    return [backtest_rule(prometheus, rule, start, end) for rule in rules]


def stamp(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_json(results: Sequence[AlertResult]) -> dict[str, Any]:
    return {"alerts": [{
        "alert": r.rule.name, "file": r.rule.file,
        "firings": [{"labels": f.labels, "start": stamp(f.firing.start),
                     "end": stamp(f.firing.end)} for f in r.firings],
        **({"agrees_with_alerts_history": r.agrees} if r.agrees is not None else {}),
    } for r in results]}
