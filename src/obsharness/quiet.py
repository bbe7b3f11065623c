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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import ActiveAlert, PrometheusAPIError, PrometheusClient
from obsharness.errors import ConfigError
from obsharness.waiting import ConditionBroken

ALLOWLIST = "prometheus/quiet-exempt.yml"


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


def noisy(prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
          exemptions: list[Exemption], *, grace_s: float) -> list[str]:
    """Every alert not exempt that fires, or is pending longer than its `for` plus
    `grace_s`, in Prometheus; and every one Alertmanager holds active."""
    now = time.time()
    rules = _rules_by_alert(prometheus)
    found = []
    for alert in prometheus.alerts():
        if exempt(alert.labels, exemptions):
            continue
        name = alert.labels.get("alertname", "")
        duration = max((float(r.get("duration", 0)) for r in rules.get(name, [])), default=0.0)
        if alert.state == "firing" or _pending_for_s(alert, now) > duration + grace_s:
            found.append(_said(alert, rules.get(name, []), prometheus))
    for held in alertmanager.alerts(active=True):
        labels = held.get("labels", {})
        if not exempt(labels, exemptions) and not any(
                labels.get("alertname") in text for text in found):
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
    return text


def assert_silent(prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
                  exemptions: list[Exemption], *, duration_s: float, grace_s: float,
                  interval: float = 0.25) -> None:
    """For `duration_s`, nothing but the exempt alerts may fire or stay pending past its
    `for` (plus `grace_s`, one evaluation's worth of slack)."""
    began = time.monotonic()
    while True:
        found = noisy(prometheus, alertmanager, exemptions, grace_s=grace_s)
        if found:
            raise ConditionBroken(
                f"the healthy stack was not silent after {time.monotonic() - began:.1f} s "
                f"of {duration_s:.1f} s:\n  " + "\n  ".join(found)
                + f"\n(an always-on alert is exempt only with a reason, in {ALLOWLIST})")
        if time.monotonic() - began >= duration_s:
            return
        time.sleep(interval)
