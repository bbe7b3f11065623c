"""What a scenario needs before it starts: a quiet stack."""

from __future__ import annotations

from dataclasses import dataclass, field

from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.quiet import ALLOWLIST, Exemption, exempt
from obsharness.stack.render import Timing
from obsharness.waiting import eventually


@dataclass
class Quiescence:
    """Waits until no alert is pending or firing in Prometheus and none is active
    in Alertmanager, so one scenario's alerts never leak into the next."""

    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient
    timing: Timing
    # Alerts of any label set count; only the quiet allowlist's entries (always-on
    # alerts, alerts about the machine running the tests) are left out, each with a
    # reason. An alert without a `service` label firing for ever is a finding.
    exemptions: list[Exemption] = field(default_factory=list)

    def _active(self) -> list[str]:
        names = [f"prometheus:{a.labels.get('alertname')}"
                 f"{ {k: v for k, v in a.labels.items() if k != 'alertname'} }({a.state})"
                 for a in self.prometheus.alerts() if not exempt(a.labels, self.exemptions)]
        names += [f"alertmanager:{a['labels'].get('alertname')}"
                  for a in self.alertmanager.alerts(active=True)
                  if not exempt(a["labels"], self.exemptions)]
        return names

    def wait(self) -> None:
        # As long as the alerts active now can take to resolve: the slowest of all the
        # rules (a pack's 1h predict_linear, which nothing here feeds) would make a
        # scenario on a stack that never quiets wait minutes before saying so.
        active = {a.labels.get("alertname", "") for a in self.prometheus.alerts()
                  if not exempt(a.labels, self.exemptions)}
        active |= {str(a["labels"].get("alertname", ""))
                   for a in self.alertmanager.alerts(active=True)
                   if not exempt(a["labels"], self.exemptions)}
        timeout = max((self.timing.resolve_deadline_s(a) for a in active
                       if a in self.timing.alert_for_ms), default=30.0)
        eventually(
            self._active,
            lambda active: not active,
            what="a quiet stack before the scenario (no pending, firing or active alert but "
                 f"those {ALLOWLIST} exempts)",
            timeout=timeout,
            interval=0.1,
        )


def wait_for_targets(prometheus: PrometheusClient, jobs: set[str], *, timeout: float) -> None:
    """Wait until Prometheus knows every job and each target's last scrape was up.

    Prometheus hands static targets to the scraper on a 5 s tick, so a
    freshly started server may not scrape anything yet.
    """

    def health() -> dict[str, str]:
        return {t["labels"]["job"]: t["health"] for t in prometheus.targets()}

    eventually(
        health,
        lambda seen: set(seen) >= jobs and all(seen[j] == "up" for j in jobs),
        what=f"every scrape target up ({', '.join(sorted(jobs))})",
        timeout=timeout,
        interval=0.2,
    )
