"""Rules that can never fire in this stack: their selectors match no series it has.

The check pint calls `promql/series`, run against the live Prometheus of the
stack under test. Every vector selector of every alerting and recording rule
(found in the PromQL AST, so `{__name__=~...}`, `offset` and subqueries are
read as Prometheus reads them) is asked for: first the metric, then each label
matcher, so a problem says which part selects nothing. A selector of a
recorded metric is asked like any other once Prometheus has evaluated it;
before that it is reachable exactly when its recording rule is
(recording-rule chains are followed). Selectors inside `absent()` and
`absent_over_time()` are meant to find nothing and are not checked.

Rules meant for other environments (a Kubernetes pack in a VM stack, say) are
listed in an allowlist in stack/ with a reason; they are reported apart, never
silently dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from obsharness import origins, rule_files
from obsharness.clients.prometheus import PrometheusAPIError, PrometheusClient
from obsharness.errors import ConfigError
from obsharness.promql_ast import children

ABSENCE_FUNCTIONS = {"absent", "absent_over_time"}
ALLOWLIST = "prometheus/rules_elsewhere.yml"
_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


@dataclass(frozen=True)
class Rule:
    file: str
    group: str
    name: str
    kind: str  # "alert" or "record"
    expr: str
    # For a rule the harness extracted (a PrometheusRule, a mixin): the team's file.
    origin_file: str = ""

    def __str__(self) -> str:
        return f"{self.file} group {self.group} {self.kind} {self.name}"


@dataclass(frozen=True)
class Selector:
    metric: str | None
    matchers: tuple[tuple[str, str, str], ...]  # (label, op, value), __name__ excluded

    def promql(self, only: tuple[tuple[str, str, str], ...] | None = None) -> str:
        chosen = self.matchers if only is None else only
        inner = ", ".join(f'{label}{op}"{_escape(value)}"' for label, op, value in chosen)
        if self.metric is None:
            return "{" + inner + "}"
        return f"{self.metric}{{{inner}}}" if inner else self.metric


@dataclass(frozen=True)
class Unreachable:
    rule: Rule
    selector: str
    reason: str
    allowed_because: str | None = None

    def __str__(self) -> str:
        allowed = f" (allowed: {self.allowed_because})" if self.allowed_because else ""
        return f"{self.rule}: {self.selector}: {self.reason}{allowed}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def load_rules(files: Iterable[Path], root: Path) -> list[Rule]:
    rules = []
    for path in files:
        # A file the harness extracted (a PrometheusRule, a mixin) is named by its origin.
        origin = origins.lookup(path)
        shown = str(origin) if origin else \
            str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for group in rule_files.groups(path):
            for raw in group.get("rules") or []:
                kind = "alert" if "alert" in raw else "record"
                rules.append(Rule(shown, str(group.get("name")), str(raw.get(kind)), kind,
                                  str(raw.get("expr", "")),
                                  str(origin.file) if origin else ""))
    return rules


def _matchers(node: Any) -> tuple[str | None, tuple[tuple[str, str, str], ...]]:
    """Metric name and label matchers of a VectorSelector, read from its AST."""
    metric = node.name or None
    found: list[tuple[str, str, str]] = []
    for matcher in node.matchers.matchers:
        op = _MATCH_OPS.get(str(matcher.op).rsplit(".", 1)[-1], str(matcher.op))
        if matcher.name == "__name__" and op == "=":
            metric = matcher.value
        else:
            found.append((matcher.name, op, matcher.value))
    return metric, tuple(found)


def _selectors(node: Any, under_absence: bool = False) -> Iterator[Selector]:
    if isinstance(node, promql_parser.VectorSelector):
        if not under_absence:
            yield Selector(*_matchers(node))
        return
    absence = under_absence or (isinstance(node, promql_parser.Call)
                                and node.func.name in ABSENCE_FUNCTIONS)
    for child in children(node):
        yield from _selectors(child, absence)


def selectors_of(expr: str) -> list[Selector]:
    """Every selector of an expression that must match series; [] if it does not parse
    (promtool is the judge of that and reports it elsewhere)."""
    try:
        return list(dict.fromkeys(_selectors(promql_parser.parse(expr))))
    except ValueError:
        return []


def load_allowlist(stack_dir: Path) -> dict[str, str]:
    """Rule names and rule files (paths under stack/) -> the reason they do not fire here."""
    path = stack_dir / ALLOWLIST
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(component="prometheus", path=path, detail=str(exc),
                          checked_with="obsharness") from None
    if not isinstance(data, dict) or not isinstance(data.get("allow") or [], list):
        raise ConfigError(component="prometheus", path=path, checked_with="obsharness",
                          detail="expected `allow:` with a list of entries, each a `rule` or "
                          "a `file` with a `reason`")
    allowed: dict[str, str] = {}
    for index, entry in enumerate(data.get("allow") or []):
        key = entry.get("rule") or entry.get("file") if isinstance(entry, dict) else None
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if not key or not reason:
            raise ConfigError(component="prometheus", path=path,
                              detail=f"allow[{index}] needs `rule` or `file`, and a `reason`",
                              checked_with="obsharness")
        allowed[str(key)] = str(reason)
    return allowed


def _allowed_origin(rule: Rule, allowlist: Mapping[str, str]) -> str | None:
    """An allowlisted file (a path under stack/) that an extracted rule came from."""
    if not rule.origin_file:
        return None
    return next((reason for key, reason in allowlist.items()
                 if Path(rule.origin_file).as_posix().endswith("/" + key.removeprefix("stack/"))),
                None)


# Where a missing metric comes from, where that is known: (name prefix, producer).
COLLECTORS: tuple[tuple[str, str], ...] = (
    ("node_filesystem_", "node_exporter's filesystem collector"),
    ("node_memory_", "node_exporter's meminfo collector"),
    ("node_cpu_", "node_exporter's cpu collector"),
    ("node_network_", "node_exporter's netdev collector"),
    ("node_disk_", "node_exporter's diskstats collector"),
    ("node_systemd_", "node_exporter's systemd collector (off by default)"),
    ("node_textfile_", "node_exporter's textfile collector"),
    ("pg_replication_", "postgres_exporter's replication collector (on a replica)"),
    ("pg_stat_replication_", "postgres_exporter's stat_replication collector"),
    ("pg_stat_activity_", "postgres_exporter's stat_activity collector"),
    ("pg_stat_database_", "postgres_exporter's stat_database collector"),
    ("pg_", "postgres_exporter"),
    ("kube_", "kube-state-metrics"),
    ("container_", "cAdvisor (the kubelet)"),
    ("kubelet_", "the kubelet"),
    ("apiserver_", "the Kubernetes API server"),
    ("loki_", "Loki"),
    ("promtail_", "Promtail"),
    ("prometheus_", "Prometheus itself"),
    ("alertmanager_", "Alertmanager itself"),
)


# What "this stack has it" means: a series scraped within this window of wall time (an
# hour of production time at the default time scale), not at the very instant asked.
RECENT = "1m"


class ReachCheck:
    """Asks Prometheus once per distinct selector; follows recording-rule chains."""

    def __init__(self, prometheus: PrometheusClient, rules: list[Rule]) -> None:
        self.prometheus = prometheus
        self.recorded: dict[str, list[Rule]] = {}
        for rule in rules:
            if rule.kind == "record":
                self.recorded.setdefault(rule.name, []).append(rule)
        self._asked: dict[str, bool] = {}
        self._names: list[str] | None = None
        self._rule_reach: dict[Rule, list[tuple[str, str]]] = {}

    def _has_series(self, promql: str) -> bool:
        """Whether the selector matched series within the last RECENT: one failed scrape
        marks a target's series stale at once, and a slow exporter's (postgres_exporter
        under a loaded CI machine) made a rule it feeds look unreachable."""
        if promql not in self._asked:
            self._asked[promql] = bool(self.prometheus.query(
                f"count(last_over_time({promql}[{RECENT}]))"))
        return self._asked[promql]

    def _why_not(self, selector: Selector) -> str | None:
        """None when the selector matches series; else which part selects nothing."""
        if self._has_series(selector.promql()):
            return None
        if selector.metric in self.recorded and not self._has_series(selector.metric):
            # Not evaluated (yet, or not loaded): reachable exactly when its rule is.
            broken = [r for r in self.recorded[selector.metric] if self.problems(r)]
            if len(broken) == len(self.recorded[selector.metric]):
                first = broken[0]
                return (f"{selector.metric} is written by recording rule {first.name}, "
                        f"which selects nothing here ({self.problems(first)[0][1]})")
            return None
        if selector.metric and not self._has_series(selector.metric):
            return (f"no series of metric {selector.metric} (no target here exposes it"
                    f"{self._hint(selector.metric)})")
        for matcher in selector.matchers:
            if not self._has_series(selector.promql((matcher,))):
                label, op, value = matcher
                return f"series exist, but none with {label}{op}\"{value}\""
        return "no series match all of its label matchers together"

    def _hint(self, metric: str) -> str:
        """The closest names Prometheus really has, and the collector that would
        produce the metric where that is known."""
        if self._names is None:
            try:
                self._names = self.prometheus.label_values("__name__")
            except (PrometheusAPIError, OSError):
                self._names = []
        close = difflib.get_close_matches(metric, [n for n in self._names if n != metric],
                                          n=3, cutoff=0.75)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        source = next((what for prefix, what in COLLECTORS if metric.startswith(prefix)), None)
        return hint + (f"; it comes from {source}" if source else "")

    def missing_metrics(self, rule: Rule) -> list[str]:
        """The metrics of the rule's selectors of which Prometheus has no series at all."""
        return sorted({s.metric for s in selectors_of(rule.expr)
                       if s.metric and s.metric not in self.recorded
                       and not self._has_series(s.metric)})

    def problems(self, rule: Rule) -> list[tuple[str, str]]:
        """(selector, why) for each selector of the rule that selects nothing."""
        if rule not in self._rule_reach:
            self._rule_reach[rule] = []  # a recording cycle ends here instead of recursing
            self._rule_reach[rule] = [
                (s.promql(), why) for s in selectors_of(rule.expr)
                if (why := self._why_not(s)) is not None]
        return self._rule_reach[rule]


def unreachable_rules(prometheus: PrometheusClient, rules: list[Rule],
                      allowlist: Mapping[str, str]) -> list[Unreachable]:
    """Every rule selector that matches nothing here, with the allowlist's reason if any."""
    check = ReachCheck(prometheus, rules)
    found = []
    for rule in rules:
        allowed = allowlist.get(rule.name) or allowlist.get(rule.file.removeprefix("stack/")) \
            or _allowed_origin(rule, allowlist)
        for selector, why in check.problems(rule):
            found.append(Unreachable(rule, selector, why, allowed))
    return found
