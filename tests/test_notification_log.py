"""Why the harness waits for resolutions between scenarios, shown by a real Alertmanager:
an alert that fires again before its resolution was flushed is not notified again
before repeat_interval, because the notification log still holds it as notified."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import load_manifest
from obsharness.stack.process import ProcessStack
from tests.conftest import STACK

pytestmark = pytest.mark.slow

LABELS = {"alertname": "HighLatency", "service": "node-app", "severity": "warning"}


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def _send(url: str, starts: float, ends: float) -> None:
    """What Prometheus posts: the alert with its start and (future or past) end."""
    alert = {"labels": LABELS, "annotations": {}, "startsAt": _stamp(starts),
             "endsAt": _stamp(ends), "generatorURL": "http://127.0.0.1/graph"}
    requests.post(f"{url}/api/v2/alerts", json=[alert], timeout=5).raise_for_status()


def _firing_count(sink: WebhookSink) -> int:
    return sum(1 for n in sink.notifications() for a in n.alerts if a.get("status") == "firing")


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[tuple[str, WebhookSink]]:
    with WebhookSink() as webhook, SmtpSink() as smtp, ProcessStack(
            load_manifest(STACK / "stack.yaml"), tmp_path / "run", time_scale=60,
            sink_addresses={"alert-webhook": webhook.address, "mail-relay": smtp.address},
            only=["alertmanager"]) as stack:
        yield stack.url("alertmanager"), webhook


@pytest.mark.parametrize("settled", [False, True], ids=["at-once", "after-its-resolution"])
def test_a_refire_is_notified_only_once_the_resolution_was_flushed(
        alertmanager: tuple[str, WebhookSink], settled: bool) -> None:
    url, webhook = alertmanager
    first = time.time()
    _send(url, first, first + 60)
    deadline = time.monotonic() + 10
    while _firing_count(webhook) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _firing_count(webhook) == 1
    _send(url, first, time.time())  # resolved
    if settled:  # what the harness does between scenarios
        assert webhook.wait_resolved(timeout=10) == []
    again = time.time() + 0.01
    _send(url, again, again + 60)  # the same alert fires again
    time.sleep(12)  # two group_intervals (5 s at scale 60) and group_wait
    assert _firing_count(webhook) == (2 if settled else 1)
