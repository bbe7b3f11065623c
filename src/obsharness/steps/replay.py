"""Steps of series replay: promtool-style rows served as real scrape targets, and the
notifications the real pipeline sends for them, with any labels and any receiver."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yaml
from pytest_bdd import given, parsers, then, when

from obsharness import alert_story, quiet, rule_health, ruletests
from obsharness.alertrouting import raw_config
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.pytest_plugin import ScenarioContext
from obsharness.replay.command import per_second_counters
from obsharness.replay.notation import Series, parse_series
from obsharness.replay.session import Replay
from obsharness.replay.targets import ReplayServer
from obsharness.report import evidence
from obsharness.sinks.webhook import AlertMatch, WebhookSink
from obsharness.stack import secret_configs
from obsharness.stack.handle import StackHandle
from obsharness.timing import TimeScaler, parse_duration
from obsharness.waiting import eventually

if TYPE_CHECKING:
    from obsharness.sinks.smtp import SmtpSink


@dataclass
class Rows:
    interval_ms: int
    series: list[Series]
    delay_s: float = 0.0


def _rows(interval: str, datatable: list[list[str]], delay_s: float = 0.0) -> Rows:
    return Rows(parse_duration(interval),
                [parse_series(row[0].strip(), row[1].strip()) for row in datatable[1:]], delay_s)


@given(parsers.parse("these series, one sample every {interval}:"), target_fixture="replay_rows")
def series_rows(interval: str, datatable: list[list[str]]) -> Rows:
    return _rows(interval, datatable)


@given(parsers.parse("these series from an exporter that takes {delay:g} s to answer, one "
                     "sample every {interval}:"), target_fixture="replay_rows")
def slow_series_rows(delay: float, interval: str, datatable: list[list[str]]) -> Rows:
    return _rows(interval, datatable, delay)


@when("the series are replayed through the stack", target_fixture="replay")
def replayed(replay_rows: Rows, replay_server: ReplayServer, replays: list[Replay],
             stack: StackHandle, scenario_ctx: ScenarioContext,
             prometheus: PrometheusClient) -> Replay:
    replay = Replay(replay_server, replay_rows.series, replay_rows.interval_ms,
                    TimeScaler(stack.time_scale), delay_s=replay_rows.delay_s,
                    name="the scenario's series", per_second=per_second_counters(prometheus))
    replays.append(replay)
    scenario_ctx.facts["fault_at"] = replay.start()
    return replay


def _receiver_emails(stack: StackHandle, receiver: str) -> list[str]:
    config = raw_config(secret_configs.config_path(
        stack.manifest, stack.manifest.component("alertmanager")))
    for entry in config.get("receivers") or []:
        if entry.get("name") == receiver:
            return [str(e["to"]) for e in entry.get("email_configs") or [] if e.get("to")]
    raise AssertionError(f"the Alertmanager config defines no receiver {receiver!r}")


NOTIFIED = parsers.re(
    r"a (?P<status>firing|resolved) (?P<alertname>\w+) notification with (?P<labels>.+?) "
    r"reaches receiver (?P<receiver>[\w.-]+)(?: within (?P<within>\w+))?$")


@then(NOTIFIED, target_fixture="notification")
def notified(status: str, alertname: str, labels: str, receiver: str, within: str | None,
             webhook_sink: WebhookSink, stack: StackHandle, scenario_ctx: ScenarioContext,
             prometheus: PrometheusClient, alertmanager: AlertmanagerClient) -> AlertMatch:
    """Any labels, any receiver; `within` a production duration from the fault (the
    replay's first scrape), scaled like every other duration."""
    wanted = ruletests.parse_labels(labels) or {}
    since = scenario_ctx.facts.get("fault_at", scenario_ctx.started_at)
    timing = stack.rendered.timing
    if within is not None:
        slack_ms = 2 * timing.evaluation_interval_ms + timing.scrape_interval_ms + 500
        bound = TimeScaler(stack.time_scale).scale_ms(parse_duration(within)) + slack_ms
        timeout = max(0.0, since + bound / 1000 - time.time())
    elif status == "firing":
        timeout = timing.fire_deadline_s(alertname)
    else:
        timeout = timing.resolve_deadline_s(alertname)
    with alert_story.told_on_timeout(prometheus, alertmanager, alertname, wanted, since):
        match = webhook_sink.wait_for(alertname, status=status, labels=wanted,
                                      not_before=since, timeout=timeout, receiver=receiver)
    scenario_ctx.facts["receiver"] = receiver
    scenario_ctx.facts["time_to_alert_s"] = match.notification.received_at - since
    return match


@then(parsers.re(r'its (?P<annotation>\w+) annotation reads "(?P<text>.*)"$'))
def annotation_reads(annotation: str, text: str, notification: AlertMatch) -> None:
    said = notification.alert.get("annotations", {}).get(annotation)
    assert said == text, (f"the webhook payload's {annotation} annotation is {said!r}, not "
                          f"{text!r} (annotations: {notification.alert.get('annotations')})")


@then(parsers.re(r"its labels are exactly (?P<labels>.+)$"))
def labels_exactly(labels: str, notification: AlertMatch, stack: StackHandle) -> None:
    """As promtool's exp_labels: the series' and the rule's labels, without the
    external labels Prometheus adds to every alert it sends."""
    wanted = ruletests.parse_labels(labels) or {}
    external = _external_labels(stack)
    got = {k: v for k, v in notification.alert.get("labels", {}).items()
           if k != "alertname" and external.get(k) != v}
    assert got == wanted, f"the notified alert's labels are {got}, not {wanted}"


def _external_labels(stack: StackHandle) -> dict[str, str]:
    prometheus = next(c.name for c in stack.manifest.components.values()
                      if c.binary == "prometheus")
    config = yaml.safe_load(stack.rendered.configs[prometheus].read_text()) or {}
    return {str(k): str(v) for k, v in
            ((config.get("global") or {}).get("external_labels") or {}).items()}


@then(parsers.re(r'its email to (?P<address>\S+) has the subject "(?P<subject>.*)"$'),
      target_fixture="email")
def email_subject(address: str, subject: str, notification: AlertMatch, smtp_sink: SmtpSink,
                  stack: StackHandle, scenario_ctx: ScenarioContext) -> object:
    receiver = scenario_ctx.facts["receiver"]
    emails = _receiver_emails(stack, receiver)
    assert address in emails, f"receiver {receiver} mails {emails}, not {address}"
    alertname = notification.alert["labels"]["alertname"]
    mail = smtp_sink.wait_for(to=address, subject_contains=(alertname,),
                              since=scenario_ctx.facts.get("fault_at", 0.0),
                              timeout=stack.rendered.timing.group_wait_ms / 1000 + 5)
    assert mail.subject.strip() == subject, (
        f"Alertmanager rendered the subject {mail.subject!r}, not {subject!r}")
    return mail


@then(parsers.re(r'its email body says "(?P<text>.*)"$'))
def email_body(text: str, email: object) -> None:
    body = getattr(email, "text", "")
    assert text in body, f"the email body lacks {text!r}:\n{body}"


@then("every rule group evaluates cleanly: health ok and no lastError")
def rules_evaluate_cleanly(prometheus: PrometheusClient, stack: StackHandle) -> None:
    """A many-to-many join or a duplicate series that only real data reveals is named
    with its file, group and rule, in Prometheus' own words."""
    timing = stack.rendered.timing
    eventually(lambda: rule_health.evaluated(prometheus), bool,
               what="every rule group evaluated once",
               timeout=5 * max(timing.evaluation_interval_ms, timing.slowest_evaluation_ms)
               / 1000 + 5, interval=0.1)
    found = rule_health.unhealthy(prometheus, stack.run_dir, stack.manifest.stack_dir)
    evidence.record("check", "rule evaluation health", found or ["every rule ok"])
    assert not found, "rules that fail on this data:\n  " + "\n  ".join(found)


@then(parsers.parse("for {duration} no alert fires or stays pending past its `for`, but "
                    "those the quiet allowlist exempts"))
def stays_silent(duration: str, prometheus: PrometheusClient, alertmanager: AlertmanagerClient,
                 stack: StackHandle) -> None:
    timing = stack.rendered.timing
    seconds = TimeScaler(stack.time_scale).scale_ms(parse_duration(duration)) / 1000
    quiet.assert_silent(prometheus, alertmanager,
                        quiet.load_exemptions(stack.manifest.stack_dir), duration_s=seconds,
                        grace_s=(timing.evaluation_interval_ms + timing.scrape_interval_ms) / 1000,
                        production_timeout_ms=timing.production_timeout_ms)
