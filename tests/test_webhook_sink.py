"""The webhook receiver, fed with Alertmanager's documented webhook payload shape."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests

from obsharness.sinks.webhook import WebhookSink, parse_time
from obsharness.waiting import WaitTimeout


def _payload(status: str, starts: str, ends: str = "0001-01-01T00:00:00Z") -> dict[str, object]:
    alert = {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "service": "flask-app", "severity": "critical"},
        "annotations": {"summary": "High error rate on flask-app"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": "abc",
    }
    return {"version": "4", "status": status, "receiver": "oncall-webhook",
            "groupKey": "{}:{}", "alerts": [alert]}


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def test_parse_time_handles_nanoseconds_and_zero() -> None:
    assert parse_time("0001-01-01T00:00:00Z") == 0.0
    assert parse_time("2026-11-25T19:40:45.123456789Z") == pytest.approx(
        datetime(2026, 11, 25, 19, 40, 45, 123457, tzinfo=UTC).timestamp(), abs=1e-5
    )


def test_receives_and_matches_by_name_labels_status_and_time() -> None:
    with WebhookSink() as sink:
        began = time.time()
        requests.post(sink.url, json=_payload("firing", "2020-01-01T00:00:00Z"), timeout=5)
        requests.post(sink.url, json=_payload("firing", _now_rfc3339()), timeout=5)
        match = sink.wait_for("HighErrorRate", labels={"service": "flask-app"},
                              not_before=began, timeout=2)
        assert match.alert["startsAt"] != "2020-01-01T00:00:00Z"  # old alert is history
        assert sink.matches("HighErrorRate", status="resolved") == []
        assert sink.matches("HighErrorRate", status="firing", labels={"service": "x"}) == []


def test_failure_lists_what_did_arrive() -> None:
    with WebhookSink() as sink:
        requests.post(sink.url, json=_payload("firing", _now_rfc3339()), timeout=5)
        with pytest.raises(WaitTimeout) as caught:
            sink.wait_for("HighLatency", timeout=0.3)
    message = str(caught.value)
    assert "firing HighLatency" in message
    assert "firing HighErrorRate {'service': 'flask-app', 'severity': 'critical'}" in message


def test_bad_body_is_rejected_and_recorded() -> None:
    with WebhookSink() as sink:
        response = requests.post(sink.url, data=b"not json", timeout=5)
        assert response.status_code == 400
        assert sink.notifications() == []
        assert "not json" in sink.rejected[0]


def test_absence_check_fails_when_a_notification_arrives() -> None:
    with WebhookSink() as sink:
        requests.post(sink.url, json=_payload("firing", _now_rfc3339()), timeout=5)
        with pytest.raises(AssertionError, match="absence of a firing HighErrorRate"):
            sink.assert_none_for("HighErrorRate", duration=0.3)


def test_a_notification_to_another_path_is_refused_as_the_real_receiver_would() -> None:
    """A webhook `url` with the wrong path loses the notification in production:
    the sink answers 404 and the wait's failure says where it went."""
    with WebhookSink() as sink:
        wrong = sink.url.replace("/alerts", "/alertsx")
        response = requests.post(wrong, json=_payload("firing", _now_rfc3339()), timeout=5)
        assert response.status_code == 404
        assert sink.notifications() == []
        with pytest.raises(WaitTimeout) as caught:
            sink.wait_for("HighErrorRate", timeout=0.3)
    assert "refused: POST /alertsx: not the receiver's path /alerts (answered 404)" in str(
        caught.value)


def test_an_alert_notified_firing_stays_unresolved_until_its_resolution_arrives() -> None:
    with WebhookSink() as sink:
        assert sink.unresolved() == []
        requests.post(sink.url, json=_payload("firing", _now_rfc3339()), timeout=5)
        [left] = sink.unresolved()
        assert left.startswith("oncall-webhook: {'alertname': 'HighErrorRate'")
        began = time.monotonic()
        assert sink.wait_resolved(timeout=0.3) == [left]  # bounded, and says what is left
        assert time.monotonic() - began >= 0.3
        requests.post(sink.url, json=_payload("resolved", _now_rfc3339(), _now_rfc3339()),
                      timeout=5)
        assert sink.wait_resolved(timeout=5) == []


def test_a_failed_wait_says_what_arrived_during_it_and_for_which_receiver() -> None:
    """Once the message was written when the wait began: "no notification at all",
    while HighErrorRate had reached the webhook during the wait."""
    import threading

    with WebhookSink() as sink:
        threading.Timer(0.2, lambda: requests.post(
            sink.url, json=_payload("firing", _now_rfc3339()), timeout=5)).start()
        with pytest.raises(WaitTimeout) as failed:
            sink.wait_for("PostgresqlDown", labels={"instance": "db-1"}, timeout=0.8,
                          receiver="oncall-critical")
    said = str(failed.value)
    assert "firing PostgresqlDown {'instance': 'db-1'} for receiver oncall-critical" in said
    assert "no notification at all" not in said
    assert "to oncall-webhook: firing HighErrorRate" in said, said
