"""Alertmanager's routing tree and inhibition rules, evaluated in Python.

amtool answers for one label set at a time and knows nothing of inhibition.
This module evaluates routes for a whole table of label sets and inhibition
for a set of firing alerts, following Alertmanager's semantics (first
matching child wins unless `continue`; no match -> the parent's receiver;
an alert matching both sides of an inhibit rule is not inhibited by another
such alert). tests/ cross-checks the routes against `amtool config routes
test`. It also finds mistakes before any stack starts, with file and line:
a receiver that does not exist, a route no alert rule can reach.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from obsharness import am_matchers, time_intervals, toolchecks
from obsharness.config_files import load_yaml
from obsharness.errors import ConfigError, RouteForOtherSourcesWarning
from obsharness.report import evidence
from obsharness.rule_files import groups as read_rule_groups


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        hit = re.fullmatch(self.value, actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        name = self.name if am_matchers.is_classic_name(self.name) else \
            am_matchers.quote(self.name)
        return f"{name}{self.op}{am_matchers.quote(self.value)}"


def parse_matchers(text: str, mode: str = "fallback") -> list[Matcher]:
    """One string of a `matchers:` list: one matcher or several, as Alertmanager reads
    it in `mode` (am_matchers.mode_for its feature flags)."""
    try:
        return [Matcher(*found) for found in am_matchers.parse(text, mode)]
    except am_matchers.MatcherSyntaxError as exc:
        raise ValueError(f"not a matcher: {text!r}: {exc} (expected e.g. "
                         f'severity="critical")') from None


def parse_matcher(text: str) -> Matcher:
    found = parse_matchers(text)
    if len(found) != 1:
        raise ValueError(f"not a matcher: {text!r}: expected 1 matcher, found {len(found)}")
    return found[0]


@dataclass
class Route:
    receiver: str
    matchers: list[Matcher]
    continue_: bool
    routes: list[Route]
    line: int | None
    receiver_line: int | None
    group_wait: str = "30s"  # Alertmanager's default; children inherit their parent's
    # Not inherited: Alertmanager gives each route only its own.
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        if not all(m.matches(labels) for m in self.matchers):
            return []
        found: list[Route] = []
        for child in self.routes:
            matches = child.match(labels)
            found.extend(matches)
            if matches and not child.continue_:
                break
        return found or [self]

    def walk(self) -> Iterable[Route]:
        yield self
        for child in self.routes:
            yield from child.walk()


@dataclass(frozen=True)
class InhibitRule:
    source: list[Matcher]
    target: list[Matcher]
    equal: tuple[str, ...]


@dataclass
class AlertmanagerConfig:
    path: Path
    root: Route
    receivers: dict[str, int | None]  # name -> line
    inhibit_rules: list[InhibitRule] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)  # set by check(): advice
    time_intervals: dict[str, time_intervals.NamedInterval] = field(default_factory=dict)

    def receivers_for(self, labels: Mapping[str, str]) -> list[str]:
        return [route.receiver for route in self.root.match(labels)]

    def first_notification_waits(self, labels: Mapping[str, str]) -> dict[str, str]:
        """Receiver -> the group_wait before a new alert's first notification to it."""
        return {route.receiver: route.group_wait for route in self.root.match(labels)}

    def muted_by(self, labels: Mapping[str, str], moment: datetime) -> dict[str, list[str]]:
        """Receiver -> the time intervals that mute the alert's route at `moment`."""
        return {route.receiver: time_intervals.muted_by(
                    route.mute_time_intervals, route.active_time_intervals,
                    self.time_intervals, moment)
                for route in self.root.match(labels)}

    def inhibited(self, firing: list[Mapping[str, str]]) -> list[bool]:
        """For each firing alert (in the order they were posted), whether another inhibits it.

        As Alertmanager 0.33 decides: per rule it keeps one source alert for each
        value of the `equal` labels, the last one to arrive among those that end
        last (all of a table end together). A target that matches both sides is
        not inhibited by a kept source that does too, even where another source
        would inhibit it (Alertmanager's differential test found this).
        """
        result = [False] * len(firing)
        for rule in self.inhibit_rules:
            kept: dict[tuple[str, ...], Mapping[str, str]] = {}
            for alert in firing:
                if all(m.matches(alert) for m in rule.source):
                    kept[tuple(alert.get(n, "") for n in rule.equal)] = alert
            for i, target in enumerate(firing):
                if not all(m.matches(target) for m in rule.target):
                    continue
                source = kept.get(tuple(target.get(n, "") for n in rule.equal))
                if source is None:
                    continue
                if all(m.matches(target) for m in rule.source) and \
                        all(m.matches(source) for m in rule.target):
                    continue  # both sides, held by a source of both sides
                result[i] = True
        evidence.record("check", "inhibition evaluated with the config's inhibit_rules",
                        [f"{dict(alert)}: {'inhibited' if muted else 'notified'}"
                         for alert, muted in zip(firing, result, strict=True)])
        return result


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping (as __line__) and of every key (as __lines__)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    constructed = loader.construct_mapping(node, deep=True)
    mapping: dict[str, Any] = {str(k): v for k, v in constructed.items()}
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = {str(key.value): key.start_mark.line + 1 for key, _ in node.value}
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _matchers(raw: dict[str, Any], key_prefix: str = "", path: Path | None = None,
              mode: str = "fallback") -> list[Matcher]:
    found = []
    texts = raw.get(f"{key_prefix}matchers") or []
    if not isinstance(texts, list) or not all(isinstance(
            raw.get(f"{key_prefix}{k}") or {}, dict) for k in ("match", "match_re")):
        raise TypeError(f"{key_prefix}matchers is no list, or {key_prefix}match no mapping")
    for text in texts:
        try:
            found += parse_matchers(str(text), mode)
        except ValueError as exc:
            line = raw.get("__lines__", {}).get(f"{key_prefix}matchers", raw.get("__line__"))
            raise ConfigError(component="alertmanager", path=path or Path("?"), line=line,
                              detail=str(exc), checked_with=f"obsharness matcher parser, "
                              f"{mode} mode") from None
    found += [Matcher(k, "=", str(v)) for k, v in (raw.get(f"{key_prefix}match") or {}).items()
              if not k.startswith("__")]
    found += [Matcher(k, "=~", str(v))
              for k, v in (raw.get(f"{key_prefix}match_re") or {}).items()
              if not k.startswith("__")]
    return found


def _route(raw: dict[str, Any], parent_receiver: str | None,
           parent_wait: str = "30s", path: Path | None = None, mode: str = "fallback") -> Route:
    if not isinstance(raw, dict):
        raise TypeError(f"a route is a {type(raw).__name__}, not a mapping")
    receiver = raw.get("receiver") or parent_receiver or ""
    children = raw.get("routes") or []
    if not isinstance(receiver, str) or not isinstance(children, list):
        raise TypeError("a route's receiver is no string, or its routes no list")
    wait = str(raw.get("group_wait") or parent_wait)
    return Route(
        receiver=receiver,
        matchers=_matchers(raw, path=path, mode=mode),
        continue_=bool(raw.get("continue", False)),
        routes=[_route(child, receiver, wait, path, mode) for child in children],
        line=raw.get("__line__"),
        receiver_line=raw.get("__lines__", {}).get("receiver"),
        group_wait=wait,
        mute_time_intervals=tuple(str(n) for n in raw.get("mute_time_intervals") or ()),
        active_time_intervals=tuple(str(n) for n in raw.get("active_time_intervals") or ()),
    )


def raw_config(path: Path) -> dict[str, Any]:
    """The config as a mapping, each mapping with its `__line__`; a ConfigError naming
    the file and line where it is no YAML mapping."""
    raw = load_yaml(path, "alertmanager", _LineLoader)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        toolchecks.check_alertmanager_config(path)
        raise ConfigError(component="alertmanager", path=path,
                          detail=f"the top level is a {type(raw).__name__}, not a mapping")
    return raw


def load(path: Path, *, mode: str = "fallback") -> AlertmanagerConfig:
    """The routing tree, inhibit rules and time intervals of an Alertmanager config,
    its matchers read in `mode`. A file that is no such config is a ConfigError
    with amtool's own message where amtool refuses it too."""
    return from_raw(path, raw_config(path), mode)


def from_raw(path: Path, raw: dict[str, Any], mode: str = "fallback") -> AlertmanagerConfig:
    """load() of a config already read by raw_config()."""
    try:
        return _config(path, raw, mode)
    except ConfigError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
        _shape_error(path, exc)
        raise  # not reached: _shape_error raises


def _shape_error(path: Path, exc: BaseException) -> None:
    toolchecks.check_alertmanager_config(path)  # amtool's own message, if it refuses it too
    raise ConfigError(component="alertmanager", path=path,
                      detail=f"amtool accepts this file, but obsharness cannot read its shape "
                      f"({type(exc).__name__}: {exc}); please report it") from None


def _config(path: Path, raw: dict[str, Any], mode: str) -> AlertmanagerConfig:
    receivers = {str(r["name"]): r.get("__line__") for r in raw.get("receivers") or []}
    rules = [
        InhibitRule(_matchers(r, "source_", path, mode), _matchers(r, "target_", path, mode),
                    tuple(r.get("equal") or ()))
        for r in raw.get("inhibit_rules") or []
    ]
    try:
        intervals = time_intervals.named_intervals(raw)
    except time_intervals.TimeIntervalError as exc:
        raise ConfigError(component="alertmanager", path=path, detail=str(exc),
                          line=exc.line) from None
    return AlertmanagerConfig(path, _route(raw.get("route") or {}, None, path=path, mode=mode),
                              receivers, rules, time_intervals=intervals)


def possible_alerts(rule_files: Iterable[Path]) -> list[dict[str, str]]:
    """alertname plus the static labels of every alerting rule."""
    alerts = []
    for path in rule_files:
        for group in read_rule_groups(path):
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    alerts.append({"alertname": str(rule["alert"]),
                                   **{k: str(v) for k, v in (rule.get("labels") or {}).items()}})
    return alerts


def _could_match(matchers: list[Matcher], alert: Mapping[str, str]) -> bool:
    # Labels the rule does not set come from its expression (service, job...):
    # any value is possible there, so only statically known labels can rule a route out.
    return all(m.matches(alert) for m in matchers if m.name in alert)


OTHER_SOURCES_FILE = "other-sources.yml"


@dataclass(frozen=True)
class KeptRoute:
    """A route the allowlist beside the config keeps for alerts of other sources."""

    matchers: frozenset[tuple[str, str, str]]
    reason: str
    line: int | None


def kept_routes(config_path: Path) -> list[KeptRoute]:
    """`other-sources.yml` beside the config: routes kept for alerts that other
    sources send (another Prometheus, Loki's ruler, Grafana), each with its reason."""
    path = config_path.with_name(OTHER_SOURCES_FILE)
    if not path.exists():
        return []
    raw = load_yaml(path, "alertmanager", _LineLoader)
    entries = raw.get("routes") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(component="alertmanager", path=path,
                          detail="expected `routes:`, a list of {matchers: [...], reason: ...}")
    kept = []
    for entry in entries:
        line = entry.get("__line__") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not entry.get("matchers") or \
                not str(entry.get("reason") or "").strip():
            raise ConfigError(component="alertmanager", path=path, line=line,
                              detail="each kept route needs `matchers` (as the route writes "
                              "them) and a `reason`")
        try:
            found = [m for text in entry["matchers"] for m in parse_matchers(str(text))]
        except ValueError as exc:
            raise ConfigError(component="alertmanager", path=path, line=line,
                              detail=str(exc)) from None
        kept.append(KeptRoute(frozenset((m.name, m.op, m.value) for m in found),
                              str(entry["reason"]).strip(), line))
    return kept


def check(config_path: Path, rule_files: Iterable[Path], *,
          only_source: bool = False, mode: str = "fallback") -> AlertmanagerConfig:
    """Every receiver a route names exists (an error naming file:line).

    A route no rule here can reach is advice: an Alertmanager commonly receives
    alerts from several sources (kube-prometheus routes Watchdog and InfoInhibitor,
    which its own rules raise), so it is not a mistake by itself. It is an error
    when the manifest says this stack's Prometheus is the only source
    (`only_alert_source`). Routes listed in other-sources.yml, each with its
    reason, are neither. The routing tables judge a typo by their receivers.
    """
    config = load(config_path, mode=mode)
    for route in config.root.walk():
        if route.receiver not in config.receivers:
            raise ConfigError(
                component="alertmanager", path=config_path,
                line=route.receiver_line or route.line,
                detail=f'route sends to receiver "{route.receiver}", which is not defined; '
                f"defined receivers: {', '.join(sorted(config.receivers))}",
                checked_with="obsharness routing check",
                check="alertmanager/receiver-undefined",
            )
    kept = kept_routes(config_path)
    alerts = possible_alerts(rule_files)
    unreached = _unreached(config, alerts)
    reasons = {k.matchers: k for k in kept}
    used = set()
    config.unreached = []
    for route, text in unreached:
        key = frozenset((m.name, m.op, m.value) for m in route.matchers)
        if key in reasons:
            used.add(key)
            evidence.record("check", f"route kept for other sources: {text.split(': ', 1)[1]}",
                            reasons[key].reason)
            continue
        if only_source:
            raise ConfigError(component="alertmanager", path=config_path, line=route.line,
                              detail=text.split(": ", 1)[1].replace(
                                  "fine for alerts of other sources, else a typo",
                                  "and the manifest says this Prometheus is Alertmanager's only "
                                  f"source (only_alert_source); list it in {OTHER_SOURCES_FILE} "
                                  "with its reason if another source sends it"),
                              checked_with="obsharness routing check",
                              check="alertmanager/route-unreached")
        config.unreached.append(text)
    for stale in (k for k in kept if k.matchers not in used):
        shown = ", ".join(f"{n}{o}{am_matchers.quote(v)}" for n, o, v in sorted(stale.matchers))
        config.unreached.append(
            f"{config_path.with_name(OTHER_SOURCES_FILE)}:{stale.line}: the kept route "
            f"{{{shown}}} is no route of the config that the rules cannot reach: remove it, "
            "or fix it")
    for advice in config.unreached:
        warnings.warn(advice, RouteForOtherSourcesWarning, stacklevel=2)
    if config.unreached:
        evidence.record("check", f"{len(config.unreached)} route(s) no rule of this stack "
                        "reaches (for alerts of other sources, or a typo)", config.unreached)
    return config


def unreached_routes(config: AlertmanagerConfig, alerts: list[dict[str, str]]) -> list[str]:
    """`file:line: the route {...} ...` for each route no alert of `alerts` can match."""
    return [text for _, text in _unreached(config, alerts)]


def _unreached(config: AlertmanagerConfig, alerts: list[dict[str, str]]
               ) -> list[tuple[Route, str]]:
    found: list[tuple[int, Route, str]] = []
    names = ", ".join(sorted({a["alertname"] for a in alerts}))
    chains: list[tuple[Route, list[Matcher]]] = [(config.root, [])]
    while chains:
        route, inherited = chains.pop()
        needed = inherited + route.matchers
        if route is not config.root and not any(_could_match(needed, a) for a in alerts):
            found.append((route.line or 0, route, (
                f"{config.path}:{route.line}: the route {{{', '.join(map(str, route.matchers))}}}"
                f" (receiver {route.receiver}) matches no alert the rules here produce "
                f"(alerts: {names}): fine for alerts of other sources, else a typo")))
        chains.extend((child, needed) for child in route.routes)
    return [(route, text) for _, route, text in sorted(found, key=lambda f: f[0])]


# Alertmanager's default of `send_resolved` per integration (its config/notifiers.go).
SEND_RESOLVED_DEFAULT = {
    "webhook_configs": True, "email_configs": False, "slack_configs": False,
    "pagerduty_configs": True, "opsgenie_configs": True, "victorops_configs": True,
    "pushover_configs": True, "wechat_configs": False, "telegram_configs": True,
    "sns_configs": True, "webex_configs": True, "msteams_configs": True,
    "msteamsv2_configs": True, "discord_configs": True, "jira_configs": True,
    "rocketchat_configs": False, "incidentio_configs": True,
}


def silent_on_resolve(path: Path) -> list[str]:
    """Every integration of every receiver that would not say an alert resolved."""
    raw = yaml.load(path.read_text(), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    found = []
    for receiver in raw.get("receivers") or []:
        for kind, default in SEND_RESOLVED_DEFAULT.items():
            for index, config in enumerate(receiver.get(kind) or []):
                value = config.get("send_resolved", default)
                if value is not True:
                    how = "is false" if "send_resolved" in config else "defaults to false"
                    found.append(f"{path}:{config.get('__line__')}: receiver "
                                 f"{receiver.get('name')} {kind}[{index}]: send_resolved {how}")
    return found
