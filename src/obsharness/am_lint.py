"""Alertmanager mistakes amtool accepts, with file and line (what amlint reports).

Errors are configs that cannot do what they say: a route no alert can ever
reach because an earlier sibling takes everything. Warnings are shapes that
are sometimes meant: an inhibit rule without `equal` (kube-prometheus mutes
InfoInhibitor that way on purpose), a receiver that discards (its name says
so, as kube-prometheus's "null", and it is then only noted).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsharness import alertrouting, am_matchers
from obsharness.errors import AlertmanagerLintWarning, ConfigError
from obsharness.timing import DurationError, parse_duration

# Names that say a receiver discards on purpose.
DISCARDING = re.compile(r"^(null|nil|none|blackhole|black-hole|devnull|dev-null|discard|void|"
                        r"drop|ignore|silence|deadletter|noop)$", re.IGNORECASE)
# Alertmanager's route defaults.
DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line or '?'}: {self.severity}: {self.message}"


def _matcher_key(raw: Mapping[str, Any], mode: str) -> frozenset[tuple[str, str, str]]:
    found = [m for text in raw.get("matchers") or [] for m in
             alertrouting.parse_matchers(str(text), mode)]
    found += [alertrouting.Matcher(k, "=", str(v)) for k, v in (raw.get("match") or {}).items()
              if not k.startswith("__")]
    found += [alertrouting.Matcher(k, "=~", str(v))
              for k, v in (raw.get("match_re") or {}).items() if not k.startswith("__")]
    return frozenset((m.name, m.op, m.value) for m in found)


def _catches_all(key: frozenset[tuple[str, str, str]]) -> bool:
    return all(op == "=~" and value in (".*", "(.*)") for _, op, value in key)


def _shown(key: frozenset[tuple[str, str, str]]) -> str:
    return "{" + ", ".join(f"{n}{o}{am_matchers.quote(v)}"
                           for n, o, v in sorted(key)) + "}"


def _walk(route: Mapping[str, Any], timings: dict[str, str]
          ) -> Iterator[tuple[Mapping[str, Any], dict[str, str]]]:
    own = {k: str(route.get(k) or timings[k]) for k in DEFAULTS}
    yield route, own
    for child in route.get("routes") or []:
        if isinstance(child, Mapping):
            yield from _walk(child, own)


def _timing_findings(path: Path, route: Mapping[str, Any], timings: dict[str, str]
                     ) -> Iterator[Finding]:
    if not any(key in route for key in DEFAULTS):
        return  # inherited: said once, where they are set
    line = route.get("__line__")
    try:
        wait, interval, repeat = (parse_duration(timings[k]) for k in DEFAULTS)
    except DurationError:
        return  # amtool's to judge, and it has

    if repeat < interval:
        yield Finding("warning", path, line, f"repeat_interval {timings['repeat_interval']} is "
                      f"shorter than group_interval {timings['group_interval']}: a firing "
                      "alert is repeated only at group_interval")
    if wait > interval:
        yield Finding("warning", path, line, f"group_wait {timings['group_wait']} is longer "
                      f"than group_interval {timings['group_interval']}: a new alert of an "
                      "existing group goes out before a new group's first notification")


def _sibling_findings(path: Path, route: Mapping[str, Any], mode: str) -> Iterator[Finding]:
    earlier: list[tuple[frozenset[tuple[str, str, str]], bool, int | None]] = []
    for child in route.get("routes") or []:
        if not isinstance(child, Mapping):
            continue
        key, line = _matcher_key(child, mode), child.get("__line__")
        for seen, continues, seen_line in earlier:
            if continues:
                if seen == key:
                    yield Finding("warning", path, line, f"the route {_shown(key)} repeats the "
                                  f"matchers of its sibling at line {seen_line}")
                continue
            if _catches_all(seen):
                yield Finding("error", path, line, f"the route {_shown(key)} is never reached: "
                              f"its sibling at line {seen_line} matches every alert and has no "
                              "`continue: true`")
                break
            if seen == key:
                yield Finding("error", path, line, f"the route {_shown(key)} is never reached: "
                              f"its sibling at line {seen_line} has the same matchers and no "
                              "`continue: true`")
                break
        earlier.append((key, bool(child.get("continue")), line))


def _integrations(receiver: Mapping[str, Any]) -> list[str]:
    return [k for k, v in receiver.items() if k.endswith("_configs") and v]


def enforce(path: Path, mode: str = "fallback") -> list[Finding]:
    """Lint, raise a ConfigError for the errors (all of them, the first one's line),
    warn for the rest; the findings, for the report."""
    findings = lint(path, mode)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise ConfigError(component="alertmanager", path=path, line=errors[0].line,
                          detail="; ".join(f"line {f.line}: {f.message}" for f in errors),
                          checked_with="obsharness Alertmanager lint")
    for finding in findings:
        warnings.warn(str(finding), AlertmanagerLintWarning, stacklevel=2)
    return findings


def lint(path: Path, mode: str = "fallback") -> list[Finding]:
    """Every finding of the config at `path` (read with alertrouting's line-keeping
    loader; a file it cannot read fails there, with amtool's message)."""
    raw = alertrouting.raw_config(path)
    config = alertrouting.from_raw(path, raw, mode)  # the shape errors, with file and line
    findings: list[Finding] = []
    for rule in raw.get("inhibit_rules") or []:
        if isinstance(rule, Mapping) and not rule.get("equal"):
            findings.append(Finding("warning", path, rule.get("__line__"), (
                "an inhibit rule without `equal` mutes its targets across every service, "
                "cluster and namespace while any source alert fires")))
    root = raw.get("route") or {}
    for route, timings in _walk(root, DEFAULTS):
        findings += _timing_findings(path, route, timings)
        findings += _sibling_findings(path, route, mode)
    routed = {r.receiver for r in config.root.walk()}
    for receiver in raw.get("receivers") or []:
        if not isinstance(receiver, Mapping) or "name" not in receiver:
            continue
        name, line = str(receiver["name"]), receiver.get("__line__")
        if name not in routed:
            findings.append(Finding("warning", path, line, f'receiver "{name}" is defined but '
                                    "no route sends to it"))
        elif not _integrations(receiver) and not DISCARDING.match(name):
            findings.append(Finding("warning", path, line, f'receiver "{name}" has no '
                                    "integration: the alerts routed to it reach nobody (name "
                                    'it "null" if that is meant)'))
    return sorted(findings, key=lambda f: (f.line or 0, f.message))
