"""Which replayed counters are read per second, and so run faster on a compressed clock.

A replayed sample stands for one production interval but is scraped every compressed
interval, so `rate()` of a replayed counter is `scale` times its production value,
while `increase()`, ratios of rates and `*_over_time` are not changed. A rule that
compares a rate with a constant (HighCPU: `rate(process_cpu_seconds_total[2m]) > 0.8`)
would fire on every replay. The replay therefore serves a counter that the loaded
rules read only through rate/irate with its values divided by the time scale: rates
are then production rates, and ratios and quantiles of them are unchanged. A counter
read both per second and per window (rate and increase) cannot be right for both; it
is served as given and named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import promql_parser

from obsharness.promql_ast import walk

PER_SECOND = frozenset({"rate", "irate"})
PER_WINDOW = frozenset({"increase", "delta", "idelta", "resets", "changes"})


@dataclass
class Readings:
    per_second: set[str] = field(default_factory=set)
    per_window: set[str] = field(default_factory=set)
    rules_of: dict[str, set[str]] = field(default_factory=dict)

    @property
    def scaled(self) -> set[str]:
        """Counters served divided by the time scale."""
        return self.per_second - self.per_window

    @property
    def conflicting(self) -> dict[str, set[str]]:
        return {m: self.rules_of.get(m, set()) for m in self.per_second & self.per_window}


def _metric(node: object) -> str | None:
    selector = getattr(node, "vector_selector", node)
    name = getattr(selector, "name", None)
    if name:
        return str(name)
    matchers = getattr(getattr(selector, "matchers", None), "matchers", None) or []
    for matcher in matchers:
        if matcher.name == "__name__" and str(matcher.op) == "MatchOp.Equal":
            return str(matcher.value)
    return None


def readings(rules: Iterable[tuple[str, str]]) -> Readings:
    """(rule name, expression) pairs -> which metrics each reads per second or window."""
    found = Readings()
    for name, expr in rules:
        try:
            tree = promql_parser.parse(expr)
        except ValueError:
            continue  # the loaded rules parsed in Prometheus; a dialect gap is not ours
        for node in walk(tree):
            func = getattr(getattr(node, "func", None), "name", None)
            if func not in PER_SECOND | PER_WINDOW:
                continue
            for arg in getattr(node, "args", None) or []:
                metric = _metric(arg)
                if metric is None:
                    continue
                (found.per_second if func in PER_SECOND else found.per_window).add(metric)
                found.rules_of.setdefault(metric, set()).add(name)
    return found


def loaded_rules(groups: Iterable[dict[str, object]]) -> list[tuple[str, str]]:
    """(name, query) of every rule Prometheus' /api/v1/rules lists."""
    return [(str(rule.get("name")), str(rule.get("query")))
            for group in groups for rule in group.get("rules", []) or []  # type: ignore[attr-defined]
            if isinstance(rule, dict)]
