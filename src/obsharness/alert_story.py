"""Why an awaited notification did not come: the alert's path told from the components.

A wait that times out knows only that nothing arrived. Prometheus and Alertmanager
know where the alert stopped: never pending, pending but never firing, firing but
inhibited by another alert (a ServiceDown of the same service), silenced, or
resolved again before a notification went out. A failure that says which is one a
team can act on, and tells a loaded machine from a broken rule.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.http import APIError
from obsharness.clients.prometheus import PrometheusClient
from obsharness.waiting import WaitTimeout


def _selector(alertname: str, labels: Mapping[str, str]) -> str:
    pairs = {"alertname": alertname, **labels}
    return "{" + ", ".join(f'{k}="{_quoted(v)}"' for k, v in pairs.items()) + "}"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _spans(points: list[tuple[float, float]], step: float, since: float) -> str:
    """`+1.2 s..+4.0 s` for each stretch of consecutive points, relative to `since`."""
    spans: list[tuple[float, float]] = []
    for at, _ in points:
        if spans and at - spans[-1][1] <= 1.5 * step:
            spans[-1] = (spans[-1][0], at)
        else:
            spans.append((at, at))
    return ", ".join(f"+{a - since:.1f} s..+{b - since:.1f} s" for a, b in spans)


def prometheus_history(prometheus: PrometheusClient, alertname: str,
                       labels: Mapping[str, str], since: float, until: float) -> str:
    """When the alert was pending and firing in Prometheus' own ALERTS series."""
    step = max(0.1, round((until - since) / 600, 2))  # under the API's 11,000 points
    result = prometheus.query_range(f"ALERTS{_selector(alertname, labels)}",
                                    start=since, end=until, step=step)
    if not result:
        return (f"Prometheus: {alertname} {dict(labels)} was never pending or firing "
                f"since the fault (the rule's condition never held)")
    parts = [f"{metric.get('alertstate', '?')} {_spans(points, step, since)}"
             for metric, points in result]
    return f"Prometheus: {alertname} {dict(labels)} was " + "; ".join(sorted(parts))


def alertmanager_state(alertmanager: AlertmanagerClient, alertname: str,
                       labels: Mapping[str, str]) -> str:
    """What Alertmanager holds of the alert now, and what inhibits or silences it."""
    every = alertmanager.alerts(active=True, silenced=True, inhibited=True)
    by_fingerprint = {a.get("fingerprint"): a for a in every}
    mine = [a for a in every if a["labels"].get("alertname") == alertname
            and all(a["labels"].get(k) == v for k, v in labels.items())]
    if not mine:
        return f"Alertmanager: holds no {alertname} {dict(labels)} now"
    lines = []
    for alert in mine:
        status: dict[str, Any] = alert.get("status") or {}
        state = status.get("state", "?")
        why = ""
        if status.get("inhibitedBy"):
            names = [_name(by_fingerprint.get(f), f) for f in status["inhibitedBy"]]
            why = f", inhibited by {', '.join(names)}"
        if status.get("silencedBy"):
            why += f", silenced by {', '.join(status['silencedBy'])}"
        lines.append(f"Alertmanager: {alertname} {dict(labels)} is {state}{why}")
    return "\n".join(lines)


def _name(alert: dict[str, Any] | None, fingerprint: str) -> str:
    if alert is None:
        return fingerprint
    labels = alert["labels"]
    rest = {k: v for k, v in labels.items() if k != "alertname"}
    return f"{labels.get('alertname')} {rest}"


def story(prometheus: PrometheusClient, alertmanager: AlertmanagerClient, alertname: str,
          labels: Mapping[str, str], since: float) -> str:
    """Both components' account, each kept short; one that cannot answer says so."""
    lines = []
    tellers: list[Callable[[], str]] = [
        lambda: prometheus_history(prometheus, alertname, labels, since, time.time()),
        lambda: alertmanager_state(alertmanager, alertname, labels)]
    for tell in tellers:
        try:
            lines.append(tell())
        except (APIError, OSError, KeyError, ValueError) as exc:
            lines.append(f"(could not ask: {exc})")
    return "\n".join(lines)


@contextlib.contextmanager
def told_on_timeout(prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
                    alertname: str, labels: Mapping[str, str], since: float) -> Iterator[None]:
    """A wait for the alert's notification that times out says where the alert stopped."""
    try:
        yield
    except WaitTimeout as exc:
        told = story(prometheus, alertmanager, alertname, labels, since)
        raise WaitTimeout(f"{exc}\n{told}") from None
