"""Why a notification did not come, told by a real Prometheus and Alertmanager."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsharness import alert_story
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.waiting import WaitTimeout, eventually

pytestmark = pytest.mark.slow

RULES = """\
groups:
  - name: story
    rules:
      - alert: StoryDown
        expr: vector(1)
        labels: {service: story, severity: critical}
      - alert: StoryBurst
        expr: vector(1)
        labels: {service: story, severity: warning}
      - alert: StoryNever
        expr: vector(1) < 0
        labels: {service: story, severity: warning}
"""
INHIBIT = """\
  - source_matchers: ['alertname="StoryDown"']
    target_matchers: ['alertname="StoryBurst"']
    equal: [service]
"""


@pytest.fixture
def sinks() -> Iterator[dict[str, str]]:
    with WebhookSink() as webhook, SmtpSink() as smtp:
        yield {"alert-webhook": webhook.address, "mail-relay": smtp.address}


def test_the_story_names_the_inhibiting_alert_and_a_condition_that_never_held(
        stack_copy: Path, tmp_path: Path, sinks: dict[str, str]) -> None:
    (stack_copy / "prometheus" / "rules" / "story.yml").write_text(RULES)
    config = stack_copy / "alertmanager" / "alertmanager.yml"
    config.write_text(config.read_text().replace("inhibit_rules:\n", "inhibit_rules:\n" + INHIBIT))
    since = time.time()
    with ProcessStack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                      time_scale=60, sink_addresses=sinks,
                      only=["prometheus", "alertmanager"]) as stack:
        prometheus = PrometheusClient(stack.url("prometheus"))
        alertmanager = AlertmanagerClient(stack.url("alertmanager"))
        eventually(lambda: alert_story.alertmanager_state(alertmanager, "StoryBurst",
                                                          {"service": "story"}),
                   lambda text: "inhibited by StoryDown" in text, timeout=30,
                   what="StoryBurst held back by StoryDown")
        told = alert_story.story(prometheus, alertmanager, "StoryBurst", {"service": "story"},
                                 since)
        assert "Prometheus: StoryBurst {'service': 'story'} was firing +" in told, told
        assert "is suppressed, inhibited by StoryDown {" in told, told
        # What the steps wrap their waits in: the timeout keeps its text and gains the story.
        with pytest.raises(WaitTimeout, match=r"(?s)waited 1\.0 s.*inhibited by StoryDown"), \
                alert_story.told_on_timeout(prometheus, alertmanager, "StoryBurst",
                                            {"service": "story"}, since):
            raise WaitTimeout("waited 1.0 s for StoryBurst")
        never = alert_story.story(prometheus, alertmanager, "StoryNever", {"service": "story"},
                                  since)
        assert "was never pending or firing since the fault" in never, never
        assert "Alertmanager: holds no StoryNever" in never, never
    # A component that cannot answer any more is said, not raised.
    gone = alert_story.story(prometheus, alertmanager, "StoryBurst", {}, since)
    assert gone.count("(could not ask:") == 2, gone
