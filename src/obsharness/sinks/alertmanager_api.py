"""Notifications read from Alertmanager's API, for a deployed stack whose
Alertmanager cannot reach the harness's webhook (the external backend).

It polls /api/v2/alerts and turns what it sees into the same Notification
records the webhook sink keeps: an alert that becomes active (not silenced,
not inhibited) is a firing notification, one that disappears a resolved one.
What it proves is weaker than a delivered webhook: Alertmanager decided to
notify; delivery itself is the deployed receivers' business. The report says so.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.errors import ObsharnessError
from obsharness.sinks.webhook import Notification, WebhookSink

POLL_S = 0.5


class AlertmanagerApiSink(WebhookSink):
    """Same matching as WebhookSink; the records come from Alertmanager's API."""

    def __init__(self, alertmanager: AlertmanagerClient, *, poll_s: float = POLL_S) -> None:
        super().__init__()  # an idle loopback server: never started, never contacted
        self.alertmanager = alertmanager
        self.poll_s = poll_s
        self._active: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name="am-api-sink",
                                        daemon=True)
        self.errors: list[str] = []

    @property
    def url(self) -> str:
        return f"{self.alertmanager.base_url}/api/v2/alerts (polled)"

    def start(self) -> AlertmanagerApiSink:
        self._poller.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
        self._server.server_close()

    def _poll_forever(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll_once()
            except ObsharnessError as exc:
                self.errors.append(str(exc))

    def poll_once(self) -> None:
        now = time.time()
        current = {}
        for alert in self.alertmanager.alerts(silenced=False, inhibited=False):
            key = tuple(sorted(alert.get("labels", {}).items()))
            current[key] = alert
        for key, alert in current.items():
            if key not in self._active:
                self._record(Notification(now, "api", {"alerts": [{**alert, "status": "firing"}]}))
        for key, alert in self._active.items():
            if key not in current:
                ended = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + "Z"
                self._record(Notification(now, "api", {"alerts": [
                    {**alert, "status": "resolved", "endsAt": ended}]}))
        self._active = current
