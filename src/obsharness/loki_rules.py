"""Loki ruler rule files: LogQL alerting and recording rules that Loki evaluates and sends
to the same Alertmanager.

They are named in the manifest (`sources.loki_rules`), never guessed: many LogQL
expressions also parse as PromQL, so a file's content cannot tell whose it is. The
harness checks their shape, lets the routing check see their alerts, and renders them
into the Loki ruler's local storage (`<rules directory>/<tenant>/<file>`), durations
compressed like every other. The real Loki ruler is their judge: the live scenario
reads every group's health and last error from its Prometheus-format rules API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness import rule_sources, yaml_docs
from obsharness.errors import ConfigError
from obsharness.origins import Origin
from obsharness.stack.manifest import Manifest
from obsharness.timing import DURATION_PATTERN, TimeScaler, format_duration, parse_duration

# With auth_enabled: false, Loki files every rule under this tenant.
SINGLE_TENANT = "fake"
RULES_DIR = "obsharness-rules"  # under the rendered Loki config's folder
_LOGQL_RANGE = re.compile(rf"\[\s*({DURATION_PATTERN})\s*\]")


@dataclass(frozen=True)
class LokiRuleFile:
    path: Path
    groups: list[dict[str, Any]]

    @property
    def alerts(self) -> list[str]:
        return [str(r["alert"]) for g in self.groups for r in g.get("rules") or []
                if r.get("alert")]


def files(manifest: Manifest) -> list[Path]:
    found: list[Path] = []
    for source in manifest.sources_of("loki_rules"):
        if source.glob:
            found += [p for p in sorted(manifest.stack_dir.glob(source.glob)) if p.is_file()]
    return found


def read(path: Path) -> LokiRuleFile:
    """One Loki rule file, shape-checked with its own lines: Loki reads Prometheus' rule
    format with LogQL in `expr`."""
    docs = yaml_docs.load_file(path, "loki")
    if len(docs) != 1:
        raise ConfigError(component="loki", path=path, checked_with="Loki rule file shape",
                          detail=f"a Loki rule file is one YAML document, this has {len(docs)}")
    found, _ = rule_sources.documents(docs, path, "loki", lenient=False)
    if not found:
        raise ConfigError(component="loki", path=path, checked_with="Loki rule file shape",
                          detail="not a rule file: Loki's ruler reads `groups:` with rules")
    groups = [g for doc in found for g in doc.groups]
    names: dict[str, int] = {}
    for group, origin in zip(groups, found[0].group_origins, strict=False):
        name = str(group.get("name") or "")
        if not name or name in names:
            raise ConfigError(component="loki", path=path, line=origin.line,
                              checked_with="Loki rule file shape",
                              detail=f"group name {name!r} is empty or repeated (also line "
                              f"{names.get(name)}): Loki refuses the file")
        names[name] = origin.line or 0
        _duration(group, "interval", path, origin, name)
        for rule in group.get("rules") or []:
            if not rule.get("expr") or not (rule.get("alert") or rule.get("record")):
                raise ConfigError(component="loki", path=path, line=origin.line,
                                  checked_with="Loki rule file shape",
                                  detail=f"group {name!r}: every rule needs `expr` and an "
                                  f"`alert` or `record` name, got {sorted(map(str, rule))}")
            for key in ("for", "keep_firing_for"):
                _duration(rule, key, path, origin, name)
    return LokiRuleFile(path, groups)


def _duration(node: dict[str, Any], key: str, path: Path, origin: Origin, group: str) -> None:
    value = node.get(key)
    if value is None:
        return
    try:
        parse_duration(str(value))
    except ValueError as exc:
        raise ConfigError(component="loki", path=path, line=origin.line,
                          checked_with="Loki rule file shape",
                          detail=f"group {group!r}: {key} {value!r} is not a duration: "
                          f"{exc}") from None


def scale_logql(expr: str, scaler: TimeScaler, floor_ms: int, where: str) -> str:
    """LogQL's range windows (`[5m]`) compressed, each spanning one evaluation at least."""
    def one(match: re.Match[str]) -> str:
        return "[" + format_duration(scaler.scale_ms(
            parse_duration(match.group(1)), floor_ms=floor_ms, where=f"{where} range",
            reason="a LogQL range spans at least one evaluation")) + "]"
    return _LOGQL_RANGE.sub(one, expr)


@dataclass
class AlertTiming:
    """Per alert, its rendered `for` and longest LogQL range (ms), for the waits."""

    for_ms: dict[str, int]
    window_ms: dict[str, int]


def scale(rules: LokiRuleFile, scaler: TimeScaler, evaluation_ms: int,
          timing: AlertTiming | None = None) -> dict[str, Any]:
    """A compressed copy: group intervals, `for`, `keep_firing_for` and LogQL ranges."""
    groups = []
    for group in rules.groups:
        copy = dict(group)
        interval = evaluation_ms
        if copy.get("interval"):
            interval = scaler.scale_ms(parse_duration(str(copy["interval"])),
                                       floor_ms=1000, where=f"{rules.path} {copy['name']}")
            copy["interval"] = format_duration(interval)
        scaled_rules = []
        for original in copy.get("rules") or []:
            rule = dict(original)
            where = f"{rules.path} {rule.get('alert') or rule.get('record')}"
            rule["expr"] = scale_logql(str(rule["expr"]), scaler, interval, where)
            for key in ("for", "keep_firing_for"):
                if rule.get(key):
                    rule[key] = format_duration(scaler.scale_ms(
                        parse_duration(str(rule[key])), floor_ms=interval, where=where,
                        reason="`for` keeps at least one evaluation interval"))
            if timing is not None and rule.get("alert"):
                name = str(rule["alert"])
                timing.for_ms[name] = parse_duration(str(rule["for"])) if rule.get("for") else 0
                timing.window_ms[name] = max((parse_duration(m.group(1)) for m in
                                              _LOGQL_RANGE.finditer(rule["expr"])), default=0)
            scaled_rules.append(rule)
        copy["rules"] = scaled_rules
        groups.append(copy)
    return {"groups": groups}


def render(manifest: Manifest, source_dir: Path, target_dir: Path, scaler: TimeScaler,
           evaluation_ms: int, timing: AlertTiming | None = None) -> list[Path]:
    """Every Loki rule file, compressed, where the ruler's local storage reads it: the
    process backend's rules directory (`RULES_DIR/<tenant>/`), and the rendered copy of
    a file kept in the component's own folder, which a container mounts."""
    tenant = target_dir / RULES_DIR / SINGLE_TENANT
    written = []
    for index, path in enumerate(files(manifest)):
        tenant.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(scale(read(path), scaler, evaluation_ms, timing), sort_keys=False,
                              allow_unicode=True)
        target = tenant / f"{index:03d}-{path.stem}.yml"
        target.write_text(text, encoding="utf-8")
        written.append(target)
        if path.resolve().is_relative_to(source_dir.resolve()):
            (target_dir / path.resolve().relative_to(source_dir.resolve())).write_text(
                text, encoding="utf-8")
    return written


def unhealthy(groups: list[dict[str, Any]]) -> list[str]:
    """Rules the ruler reports unhealthy, from /prometheus/api/v1/rules' groups."""
    found = []
    for group in groups:
        for rule in group.get("rules") or []:
            if rule.get("health") not in ("ok", "unknown") or rule.get("lastError"):
                found.append(f"{group.get('file')} group {group.get('name')} rule "
                             f"{rule.get('name')}: health {rule.get('health')}: "
                             f"{rule.get('lastError') or 'no error given'}")
    return found


def blind_selectors(files: list[LokiRuleFile], in_loki: set[str]) -> list[str]:
    """Rules whose stream selectors need a label that no stream in Loki carries."""
    from obsharness.dashboards import required_stream_labels

    found = []
    for rules in files:
        for group in rules.groups:
            for rule in group.get("rules") or []:
                absent = required_stream_labels(str(rule.get("expr", ""))) - in_loki
                if absent:
                    found.append(
                        f"{rules.path}: group {group.get('name')} rule "
                        f"{rule.get('alert') or rule.get('record')} selects on label(s) "
                        f"{', '.join(sorted(absent))} that no stream in Loki carries (labels in "
                        f"Loki: {', '.join(sorted(in_loki))})")
    return found
