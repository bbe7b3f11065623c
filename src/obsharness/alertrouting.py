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
from pathlib import Path
from typing import Any

import yaml

from obsharness import am_matchers
from obsharness.errors import ConfigError, RouteForOtherSourcesWarning
from obsharness.report import evidence


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


def parse_matchers(text: str) -> list[Matcher]:
    """One string of a `matchers:` list: one matcher or several, as Alertmanager reads it."""
    try:
        return [Matcher(*found) for found in am_matchers.parse(text)]
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

    def receivers_for(self, labels: Mapping[str, str]) -> list[str]:
        return [route.receiver for route in self.root.match(labels)]

    def first_notification_waits(self, labels: Mapping[str, str]) -> dict[str, str]:
        """Receiver -> the group_wait before a new alert's first notification to it."""
        return {route.receiver: route.group_wait for route in self.root.match(labels)}

    def inhibited(self, firing: list[Mapping[str, str]]) -> list[bool]:
        """For each firing alert, whether another firing alert inhibits it."""
        result = []
        for target in firing:
            muted = False
            for rule in self.inhibit_rules:
                if not all(m.matches(target) for m in rule.target):
                    continue
                target_is_source = all(m.matches(target) for m in rule.source)
                for source in firing:
                    if not all(m.matches(source) for m in rule.source):
                        continue
                    # Alertmanager: an alert matching both sides cannot inhibit one that does too.
                    if target_is_source and all(m.matches(source) for m in rule.target):
                        continue
                    if all(source.get(n, "") == target.get(n, "") for n in rule.equal):
                        muted = True
                        break
                if muted:
                    break
            result.append(muted)
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


def _matchers(raw: dict[str, Any], key_prefix: str = "", path: Path | None = None
              ) -> list[Matcher]:
    found = []
    for text in raw.get(f"{key_prefix}matchers") or []:
        try:
            found += parse_matchers(str(text))
        except ValueError as exc:
            line = raw.get("__lines__", {}).get(f"{key_prefix}matchers", raw.get("__line__"))
            raise ConfigError(component="alertmanager", path=path or Path("?"), line=line,
                              detail=str(exc), checked_with="obsharness matcher parser"
                              ) from None
    found += [Matcher(k, "=", str(v)) for k, v in (raw.get(f"{key_prefix}match") or {}).items()
              if not k.startswith("__")]
    found += [Matcher(k, "=~", str(v))
              for k, v in (raw.get(f"{key_prefix}match_re") or {}).items()
              if not k.startswith("__")]
    return found


def _route(raw: dict[str, Any], parent_receiver: str | None,
           parent_wait: str = "30s", path: Path | None = None) -> Route:
    receiver = raw.get("receiver") or parent_receiver or ""
    wait = str(raw.get("group_wait") or parent_wait)
    return Route(
        receiver=receiver,
        matchers=_matchers(raw, path=path),
        continue_=bool(raw.get("continue", False)),
        routes=[_route(child, receiver, wait, path) for child in raw.get("routes") or []],
        line=raw.get("__line__"),
        receiver_line=raw.get("__lines__", {}).get("receiver"),
        group_wait=wait,
    )


def load(path: Path) -> AlertmanagerConfig:
    raw = yaml.load(path.read_text(), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    receivers = {r["name"]: r.get("__line__") for r in raw.get("receivers") or []}
    rules = [
        InhibitRule(_matchers(r, "source_", path), _matchers(r, "target_", path),
                    tuple(r.get("equal") or ()))
        for r in raw.get("inhibit_rules") or []
    ]
    return AlertmanagerConfig(path, _route(raw.get("route") or {}, None, path=path), receivers,
                              rules)


def possible_alerts(rule_files: Iterable[Path]) -> list[dict[str, str]]:
    """alertname plus the static labels of every alerting rule."""
    alerts = []
    for path in rule_files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    alerts.append({"alertname": rule["alert"],
                                   **{k: str(v) for k, v in (rule.get("labels") or {}).items()}})
    return alerts


def _could_match(matchers: list[Matcher], alert: Mapping[str, str]) -> bool:
    # Labels the rule does not set come from its expression (service, job...):
    # any value is possible there, so only statically known labels can rule a route out.
    return all(m.matches(alert) for m in matchers if m.name in alert)


def check(config_path: Path, rule_files: Iterable[Path]) -> AlertmanagerConfig:
    """Every receiver a route names exists (an error naming file:line). A route no rule
    here can reach is said, as advice: an Alertmanager commonly receives alerts from
    several sources (kube-prometheus routes Watchdog and InfoInhibitor, which its own
    rules raise), so it is not a mistake in the config by itself. The routing tables
    judge a typo by the receivers they expect."""
    config = load(config_path)
    for route in config.root.walk():
        if route.receiver not in config.receivers:
            raise ConfigError(
                component="alertmanager", path=config_path,
                line=route.receiver_line or route.line,
                detail=f'route sends to receiver "{route.receiver}", which is not defined; '
                f"defined receivers: {', '.join(sorted(config.receivers))}",
                checked_with="obsharness routing check",
            )
    config.unreached = unreached_routes(config, possible_alerts(rule_files))
    for advice in config.unreached:
        warnings.warn(advice, RouteForOtherSourcesWarning, stacklevel=2)
    if config.unreached:
        evidence.record("check", f"{len(config.unreached)} route(s) no rule of this stack "
                        "reaches (for alerts of other sources, or a typo)", config.unreached)
    return config


def unreached_routes(config: AlertmanagerConfig, alerts: list[dict[str, str]]) -> list[str]:
    """`file:line: the route {...} ...` for each route no alert of `alerts` can match."""
    found: list[tuple[int, str]] = []
    names = ", ".join(sorted({a["alertname"] for a in alerts}))
    chains: list[tuple[Route, list[Matcher]]] = [(config.root, [])]
    while chains:
        route, inherited = chains.pop()
        needed = inherited + route.matchers
        if route is not config.root and not any(_could_match(needed, a) for a in alerts):
            found.append((route.line or 0, (
                f"{config.path}:{route.line}: the route {{{', '.join(map(str, route.matchers))}}}"
                f" (receiver {route.receiver}) matches no alert the rules here produce "
                f"(alerts: {names}): fine for alerts of other sources, else a typo")))
        chains.extend((child, needed) for child in route.routes)
    return [text for _, text in sorted(found)]


# Alertmanager's default of `send_resolved` per integration (its configuration docs).
SEND_RESOLVED_DEFAULT = {
    "webhook_configs": True, "email_configs": False, "slack_configs": False,
    "pagerduty_configs": True, "opsgenie_configs": True, "victorops_configs": True,
    "pushover_configs": True, "wechat_configs": False, "telegram_configs": True,
    "sns_configs": True, "webex_configs": True, "msteams_configs": True,
    "msteamsv2_configs": True, "discord_configs": True, "jira_configs": True,
    "rocketchat_configs": True,
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
