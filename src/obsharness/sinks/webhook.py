"""A real HTTP webhook receiver that captures Alertmanager notifications.

It listens on 127.0.0.1 in the test process; Alertmanager's rendered config
points its webhook at it. Steps wait for a notification that matches an
alert name, labels and status; a failure lists what did arrive.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from obsharness.ports import LOOPBACK
from obsharness.report import evidence
from obsharness.sinks.base import RecordingSink
from obsharness.waiting import eventually, holds_for


@dataclass(frozen=True)
class Notification:
    """One POST from Alertmanager, as received."""

    received_at: float  # wall clock, seconds since the epoch
    path: str
    payload: dict[str, Any]

    @property
    def alerts(self) -> list[dict[str, Any]]:
        return list(self.payload.get("alerts", []))

    def summary(self) -> str:
        parts = [
            f"{a.get('status')} {a.get('labels', {}).get('alertname')} "
            f"{ {k: v for k, v in a.get('labels', {}).items() if k != 'alertname'} }"
            for a in self.alerts
        ]
        stamp = time.strftime("%H:%M:%S", time.localtime(self.received_at))
        return f"[{stamp}] to {self.payload.get('receiver')}: " + "; ".join(parts)


@dataclass(frozen=True)
class AlertMatch:
    notification: Notification
    alert: dict[str, Any]


def parse_time(text: str) -> float:
    """Alertmanager's RFC 3339 timestamps (nanoseconds allowed) to epoch seconds."""
    if text.startswith("0001-01-01"):
        return 0.0
    head, _, frac = text.rstrip("Z").partition(".")
    base = datetime.fromisoformat(head + "+00:00").timestamp()
    digits = "".join(ch for ch in frac if ch.isdigit())
    return base + (float(f"0.{digits}") if digits else 0.0)


class WebhookSink(RecordingSink[Notification]):
    """Session-scoped receiver with a cheap per-scenario reset (clear())."""

    def __init__(self, *, port: int = 0, path: str = "/alerts", host: str = LOOPBACK) -> None:
        """host: loopback, except for the docker backend (its run network's gateway)."""
        super().__init__()
        self.path = path
        self.rejected: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path.split("?", 1)[0] != sink.path:
                    # The real receiver answers 404 too: a notification sent to the
                    # wrong path is lost, and a scenario must see it lost.
                    sink.rejected.append(f"POST {self.path}: not the receiver's path "
                                         f"{sink.path} (answered 404)")
                    self.send_response(404)
                    self.end_headers()
                    return
                try:
                    payload = json.loads(body)
                    if not isinstance(payload, dict):
                        raise ValueError("not a JSON object")
                except ValueError as exc:
                    sink.rejected.append(f"{self.path}: {exc}: {body[:200]!r}")
                    self.send_response(400)
                    self.end_headers()
                    return
                sink._record(Notification(time.time(), self.path, payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return  # keep pytest output clean; notifications are the record

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        # A short poll: shutdown() waits up to one poll interval (0.5 s by default).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="webhook-sink", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}{self.path}"

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- inspection --------------------------------------------------------
    def notifications(self) -> list[Notification]:
        return self.received()

    def clear(self) -> None:
        super().clear()
        self.rejected.clear()

    def matches(
        self,
        alertname: str,
        *,
        status: str,
        labels: Mapping[str, str] | None = None,
        not_before: float = 0.0,
        receiver: str | None = None,
    ) -> list[AlertMatch]:
        """Alerts with this name, status and labels (and receiver, if given) whose start
        (firing) or end (resolved) is not before `not_before`: older alerts are history."""
        wanted = {"alertname": alertname, **(labels or {})}
        found: list[AlertMatch] = []
        for note in self.notifications():
            if receiver is not None and note.payload.get("receiver") != receiver:
                continue
            for alert in note.alerts:
                alert_labels = alert.get("labels", {})
                if alert.get("status") != status:
                    continue
                if any(alert_labels.get(k) != v for k, v in wanted.items()):
                    continue
                stamp = alert.get("startsAt" if status == "firing" else "endsAt", "")
                if parse_time(stamp) + 1.0 < not_before:  # 1 s for clock rounding
                    continue
                found.append(AlertMatch(note, alert))
        return found

    def unresolved(self) -> list[str]:
        """Alerts whose last notification here said firing: Alertmanager's notification
        log still holds them as notified, so the same alert firing again before that
        log records its resolution is not notified again until repeat_interval."""
        last: dict[tuple[str, frozenset[tuple[str, str]]], str] = {}
        for note in self.notifications():
            receiver = str(note.payload.get("receiver", ""))
            for alert in note.alerts:
                labels = frozenset((str(k), str(v)) for k, v in alert.get("labels", {}).items())
                last[(receiver, labels)] = str(alert.get("status"))
        return sorted(f"{receiver}: {dict(sorted(labels))}"
                      for (receiver, labels), status in last.items() if status == "firing")

    def wait_resolved(self, timeout: float) -> list[str]:
        """Until every alert notified firing here has been notified resolved; returns
        those still firing at `timeout` (a receiver without send_resolved says nothing)."""
        began = time.monotonic()
        while True:
            left = self.unresolved()
            if not left or time.monotonic() - began >= timeout:
                return left
            time.sleep(0.05)

    def _describe(self, alertname: str, status: str, labels: Mapping[str, str] | None,
                  receiver: str | None = None) -> str:
        """Read when a wait fails: what arrived during the wait, not before it."""
        received = [n.summary() for n in self.notifications()]
        seen = "; ".join(received[-8:]) if received else "no notification at all"
        refused = f"; refused: {'; '.join(self.rejected[-3:])}" if self.rejected else ""
        to = f" for receiver {receiver}" if receiver else ""
        return (f"{status} {alertname} {dict(labels or {})}{to} at {self.url} "
                f"(received so far: {seen}{refused})")

    def wait_for(
        self,
        alertname: str,
        *,
        status: str = "firing",
        labels: Mapping[str, str] | None = None,
        not_before: float = 0.0,
        timeout: float,
        receiver: str | None = None,
    ) -> AlertMatch:
        outcome = eventually(
            lambda: self.matches(alertname, status=status, labels=labels, not_before=not_before,
                                 receiver=receiver),
            bool,
            what=lambda: self._describe(alertname, status, labels, receiver),
            timeout=timeout,
            interval=0.05,
        )
        match: AlertMatch = outcome.value[0]
        evidence.record("notification", f"{status} {alertname} {dict(labels or {})} "
                        f"after {outcome.elapsed_s:.1f} s",
                        {"received_at": match.notification.received_at,
                         "payload": match.notification.payload})
        return match

    def assert_none_for(
        self,
        alertname: str,
        *,
        status: str = "firing",
        labels: Mapping[str, str] | None = None,
        not_before: float = 0.0,
        duration: float,
    ) -> None:
        holds_for(
            lambda: self.matches(alertname, status=status, labels=labels, not_before=not_before),
            lambda found: not found,
            what=f"absence of a {status} {alertname} {dict(labels or {})} notification",
            duration=duration,
            interval=0.1,
        )
        evidence.record("check", f"no {status} {alertname} {dict(labels or {})} notification "
                        f"for {duration:.1f} s", [n.summary() for n in self.notifications()])
