"""A healthy stack is silent: no alert of any label set fires, or stays pending past
its `for`, unless an entry of the quiet allowlist says why it may.

The allowlist (stack/prometheus/quiet-exempt.yml) names always-on alerts (Watchdog,
InfoInhibitor) and alerts about the machine the harness runs on, each with a reason:

    exempt:
      - alert: Watchdog
        reason: always firing by design, proves the alerting pipeline is alive
      - alert: HighCPU
        labels: {scope: host}
        reason: node_exporter reads the machine running the tests
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import ActiveAlert, PrometheusAPIError, PrometheusClient
from obsharness.errors import CompressedTimeoutWarning, ConfigError
from obsharness.rule_reach import Selector, selectors_of
from obsharness.timing import parse_duration
from obsharness.waiting import ConditionBroken

if TYPE_CHECKING:
    from obsharness.stack.render import Timing

ALLOWLIST = "prometheus/quiet-exempt.yml"
# A failed scrape that lasted this share of its timeout or more was cut off by it
# (Prometheus stamps scrape_duration_seconds on failed scrapes too); a refused
# connection or an error answer fails in milliseconds.
TIMED_OUT_SHARE = 0.9


@dataclass(frozen=True)
class Exemption:
    alert: str
    labels: tuple[tuple[str, str], ...]
    reason: str

    def covers(self, labels: Mapping[str, str]) -> bool:
        return labels.get("alertname") == self.alert and all(
            labels.get(k) == v for k, v in self.labels)


def load_exemptions(stack_dir: Path) -> list[Exemption]:
    path = stack_dir / ALLOWLIST
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(component="obsharness", path=path, detail=str(exc),
                          checked_with="obsharness") from None
    found = []
    for index, entry in enumerate((data.get("exempt") or []) if isinstance(data, dict) else []):
        if not isinstance(entry, dict) or not entry.get("alert") or not entry.get("reason"):
            raise ConfigError(component="obsharness", path=path, checked_with="obsharness",
                              detail=f"exempt[{index}] needs `alert` and a `reason`")
        labels = entry.get("labels") or {}
        if not isinstance(labels, dict):
            raise ConfigError(component="obsharness", path=path, checked_with="obsharness",
                              detail=f"exempt[{index}].labels must map label names to values")
        found.append(Exemption(str(entry["alert"]),
                               tuple(sorted((str(k), str(v)) for k, v in labels.items())),
                               str(entry["reason"])))
    return found


def exempt(labels: Mapping[str, str], exemptions: list[Exemption]) -> bool:
    return any(e.covers(labels) for e in exemptions)


def _pending_for_s(alert: ActiveAlert, now: float) -> float:
    from obsharness.sinks.webhook import parse_time

    return now - parse_time(alert.active_at) if alert.active_at else 0.0


def _rules_by_alert(prometheus: PrometheusClient) -> dict[str, list[dict[str, Any]]]:
    rules: dict[str, list[dict[str, Any]]] = {}
    for group in prometheus.rules():
        for rule in group.get("rules", []):
            if rule.get("type") == "alerting":
                rules.setdefault(str(rule["name"]), []).append(rule)
    return rules


def _reads_up(rules: list[dict[str, Any]]) -> bool:
    return any(s.metric == "up" for r in rules for s in selectors_of(str(r.get("query", ""))))


def _targets_of(prometheus: PrometheusClient,
                alert: ActiveAlert) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """The active targets whose labels the alert carries (an alert on `up` keeps them)."""
    found = []
    for target in prometheus.targets():
        labels = {str(k): str(v) for k, v in (target.get("labels") or {}).items()}
        if labels and all(alert.labels.get(k, v) == v for k, v in labels.items()):
            found.append((target, labels))
    return found


def _samples(prometheus: PrometheusClient, metric: str, labels: Mapping[str, str],
             window: str) -> dict[float, float]:
    """A target's stored samples of `metric` over `window`, by scrape timestamp."""
    selector = Selector(metric, tuple((k, "=", v) for k, v in sorted(labels.items())))
    return {t: v for _, values in prometheus.raw_samples(selector.promql() + window)
            for t, v in values}


def compressed_timeouts(prometheus: PrometheusClient, alert: ActiveAlert,
                        rules: list[dict[str, Any]], timing: Timing) -> str | None:
    """Why an alert reading `up` fired, where every failed scrape of its targets in the
    rule's window was cut off by a timeout compressed below its job's production one: a
    busy test machine (a 250 ms timeout is 10 s in production), not the stack. None
    where any failure was something else (a refused connection, an error answer), where
    nothing failed, or where the timeout was the team's own. The rule's window and the
    jobs' production timeouts are the render's (`timing`)."""
    if not _reads_up(rules):
        return None
    window_s = timing.alert_window_ms.get(alert.labels.get("alertname", ""), 0) / 1000
    found: list[str] = []
    for target, labels in _targets_of(prometheus, alert):
        job = labels.get("job", "")
        timeout_s = parse_duration(str(target.get("scrapeTimeout") or "0s")) / 1000
        production_ms = timing.production_timeout_ms.get(job)
        if not timeout_s or production_ms is None or timeout_s * 1000 >= production_ms:
            continue
        window = f"[{max(window_s, 4 * timeout_s):g}s]"
        ups = _samples(prometheus, "up", labels, window)
        took = _samples(prometheus, "scrape_duration_seconds", labels, window)
        failed = [t for t, v in ups.items() if v == 0]
        if any(took.get(t, 0.0) < TIMED_OUT_SHARE * timeout_s for t in failed):
            return None
        if failed:
            found.append(f"{len(failed)} of {len(ups)} scrapes of {job} {labels.get('instance')}"
                         f" timed out at {timeout_s * 1000:g} ms (its production timeout is "
                         f"{production_ms / 1000:g} s)")
    return "; ".join(found) or None


@dataclass
class Excused:
    """Alerts compressed_timeouts explained, by their labels: said once, at the end."""
    why: dict[tuple[tuple[str, str], ...], tuple[str, str]] = field(default_factory=dict)

    def add(self, alert: ActiveAlert, said: str, why: str) -> None:
        self.why[tuple(sorted(alert.labels.items()))] = (said, why)

    def covers(self, labels: Mapping[str, str]) -> bool:
        return any(all(labels.get(k) == v for k, v in key) for key in self.why)


def noisy(prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
          exemptions: list[Exemption], *, grace_s: float, timing: Timing | None = None,
          excused: Excused | None = None) -> list[str]:
    """Every alert not exempt that fires, or is pending longer than its `for` plus
    `grace_s`, in Prometheus; and every one Alertmanager holds active. Given the render's
    timing, an alert that compressed_timeouts explains goes to `excused`."""
    now = time.time()
    rules = _rules_by_alert(prometheus)
    found = []
    firing: list[dict[str, str]] = []
    for alert in prometheus.alerts():
        if exempt(alert.labels, exemptions):
            continue
        name = alert.labels.get("alertname", "")
        duration = max((float(r.get("duration", 0)) for r in rules.get(name, [])), default=0.0)
        if alert.state == "firing" or _pending_for_s(alert, now) > duration + grace_s:
            said = _said(alert, rules.get(name, []), prometheus)
            why = compressed_timeouts(prometheus, alert, rules.get(name, []), timing) \
                if timing is not None and excused is not None else None
            if why and excused is not None:
                excused.add(alert, said, why)
            else:
                found.append(said)
                firing.append(alert.labels)
    for held in alertmanager.alerts(active=True):
        labels = held.get("labels", {})
        if exempt(labels, exemptions) or (excused is not None and excused.covers(labels)):
            continue
        # Already named from Prometheus' side (Alertmanager adds the external labels).
        if any(all(labels.get(k) == v for k, v in seen.items()) for seen in firing):
            continue
        found.append(f"Alertmanager holds {labels.get('alertname')} {labels} active")
    return found


def _said(alert: ActiveAlert, rules: list[dict[str, Any]], prometheus: PrometheusClient) -> str:
    """The alert, its state and its expression's current value."""
    labels = {k: v for k, v in alert.labels.items() if k != "alertname"}
    text = f"{alert.labels.get('alertname')} {labels} is {alert.state} (value {alert.value})"
    for rule in rules:
        try:
            now = prometheus.query(str(rule["query"]))
        except PrometheusAPIError:
            continue
        values = [s.value for s in now if all(s.labels.get(k) == v for k, v in labels.items()
                                              if k in s.labels)]
        if values:
            text += f"; its expression `{' '.join(str(rule['query']).split())}` is now " \
                    f"{', '.join(f'{v:g}' for v in values[:3])}"
            break
    if _reads_up(rules):
        errors = [f"{labels.get('job')} {labels.get('instance')}: {target['lastError']}"
                  for target, labels in _targets_of(prometheus, alert)
                  if target.get("lastError")]
        if errors:
            text += "; last scrape errors: " + "; ".join(errors)
    return text


def assert_silent(prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
                  exemptions: list[Exemption], *, duration_s: float, grace_s: float,
                  timing: Timing | None = None, interval: float = 0.25) -> None:
    """For `duration_s`, nothing but the exempt alerts may fire or stay pending past its
    `for` (plus `grace_s`, one evaluation's worth of slack). An alert on `up` whose every
    failed scrape timed out below its production timeout is named in a
    CompressedTimeoutWarning instead: the test machine was busy, the stack was not down."""
    began = time.monotonic()
    excused = Excused()
    try:
        _watch(prometheus, alertmanager, exemptions, duration_s=duration_s, grace_s=grace_s,
               timing=timing, excused=excused,
               interval=interval, began=began)
    finally:
        for said, why in excused.why.values():
            warnings.warn(f"{said}: not counted against the healthy stack: {why}. A busy "
                          "test machine missed the compressed timeout; the stack did not "
                          "fail (the next run keeps the job's measured need as the "
                          "timeout's floor)", CompressedTimeoutWarning, stacklevel=2)


def _watch(prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
           exemptions: list[Exemption], *, duration_s: float, grace_s: float,
           timing: Timing | None, excused: Excused,
           interval: float, began: float) -> None:
    while True:
        found = noisy(prometheus, alertmanager, exemptions, grace_s=grace_s,
                      timing=timing, excused=excused)
        if found:
            raise ConditionBroken(
                f"the healthy stack was not silent after {time.monotonic() - began:.1f} s "
                f"of {duration_s:.1f} s:\n  " + "\n  ".join(found)
                + f"\n(an always-on alert is exempt only with a reason, in {ALLOWLIST})")
        if time.monotonic() - began >= duration_s:
            return
        time.sleep(interval)
