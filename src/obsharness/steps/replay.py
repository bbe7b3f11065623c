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
    from obsharness.sinks.smtp import Mail, SmtpSink


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


def _receiver(stack: StackHandle, receiver: str) -> dict[str, object]:
    config = raw_config(secret_configs.config_path(
        stack.manifest, stack.manifest.component("alertmanager")))
    for entry in config.get("receivers") or []:
        if entry.get("name") == receiver:
            return dict(entry)
    raise AssertionError(f"the Alertmanager config defines no receiver {receiver!r}")


def _receiver_emails(stack: StackHandle, receiver: str) -> list[str]:
    configs = _receiver(stack, receiver).get("email_configs")
    return [str(e["to"]) for e in (configs if isinstance(configs, list) else [])
            if isinstance(e, dict) and e.get("to")]


def _email_only(stack: StackHandle, receiver: str) -> bool:
    """A receiver whose only integrations are emails: the mail sink gets its
    notifications, the webhook sink none (every other integration is redirected there)."""
    entry = _receiver(stack, receiver)
    kinds = {k for k, v in entry.items() if k.endswith("_configs") and v}
    return kinds == {"email_configs"}


@dataclass(frozen=True)
class EmailNotification:
    """What an email-only receiver was sent: Alertmanager's rendering, no JSON payload."""
    receiver: str
    alertname: str
    mail: Mail


NOTIFIED = parsers.re(
    r"a (?P<status>firing|resolved) (?P<alertname>\w+) notification with (?P<labels>.+?) "
    r"reaches receiver (?P<receiver>[\w.-]+)(?: within (?P<within>\w+))?$")


@then(NOTIFIED, target_fixture="notification")
def notified(status: str, alertname: str, labels: str, receiver: str, within: str | None,
             webhook_sink: WebhookSink, smtp_sink: SmtpSink, stack: StackHandle,
             scenario_ctx: ScenarioContext, prometheus: PrometheusClient,
             alertmanager: AlertmanagerClient) -> AlertMatch | EmailNotification:
    """Any labels, any receiver; `within` a production duration from the fault (the
    replay's first scrape), scaled like every other duration. A receiver that only sends
    email is proven by the mail sink (its email names the alert and the labels' values)."""
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
    scenario_ctx.facts["receiver"] = receiver
    if _email_only(stack, receiver):
        with alert_story.told_on_timeout(prometheus, alertmanager, alertname, wanted, since):
            mail = _wait_for_email(smtp_sink, _receiver_emails(stack, receiver), status,
                                   alertname, wanted, since, timeout)
        scenario_ctx.facts["time_to_alert_s"] = mail.received_at - since
        return EmailNotification(receiver, alertname, mail)
    with alert_story.told_on_timeout(prometheus, alertmanager, alertname, wanted, since):
        match = webhook_sink.wait_for(alertname, status=status, labels=wanted,
                                      not_before=since, timeout=timeout, receiver=receiver)
    scenario_ctx.facts["time_to_alert_s"] = match.notification.received_at - since
    return match


def _wait_for_email(smtp_sink: SmtpSink, addresses: list[str], status: str, alertname: str,
                    wanted: dict[str, str], since: float, timeout: float) -> Mail:
    """An email to one of the receiver's addresses naming the alert and every wanted
    label value (in Alertmanager's default templates, the subject and the body do)."""
    def status_of(mail: Mail) -> bool:
        # The subject says it where the template puts it there ("[FIRING:1] ..."); a
        # body may name both (a digest of firing and resolved alerts).
        subject = mail.subject.upper()
        if "FIRING" in subject or "RESOLVED" in subject:
            return status.upper() in subject
        return status.upper() in mail.text.upper()

    def found() -> list[Mail]:
        return [m for m in smtp_sink.matching(since=since)
                if set(m.recipients) & set(addresses) and alertname in m.subject + m.text
                and status_of(m) and all(v in m.subject + m.text for v in wanted.values())]

    def said() -> str:
        seen = [m.summary() for m in smtp_sink.received()] or ["no mail at all"]
        return (f"an email to {', '.join(addresses)} about {status} {alertname} {wanted} "
                f"(received so far: {'; '.join(seen[-8:])})")

    mail: Mail = eventually(found, bool, what=said, timeout=timeout, interval=0.05).value[0]
    evidence.record("email", f"to {', '.join(mail.recipients)}: {mail.subject}",
                    {"received_at": mail.received_at, "subject": mail.subject,
                     "text": mail.text})
    return mail


def _payload(notification: AlertMatch | EmailNotification) -> AlertMatch:
    if isinstance(notification, EmailNotification):
        raise AssertionError(
            f"receiver {notification.receiver} only sends email: its notification has no "
            "labels or annotations to read; assert Alertmanager's rendering with `its email "
            "to <address> has the subject \"...\"` and `its email body says \"...\"`")
    return notification


@then(parsers.re(r'its (?P<annotation>\w+) annotation reads "(?P<text>.*)"$'))
def annotation_reads(annotation: str, text: str,
                     notification: AlertMatch | EmailNotification) -> None:
    alert = _payload(notification).alert
    said = alert.get("annotations", {}).get(annotation)
    assert said == text, (f"the webhook payload's {annotation} annotation is {said!r}, not "
                          f"{text!r} (annotations: {alert.get('annotations')})")


@then(parsers.re(r"its labels are exactly (?P<labels>.+)$"))
def labels_exactly(labels: str, notification: AlertMatch | EmailNotification,
                   stack: StackHandle) -> None:
    """As promtool's exp_labels: the series' and the rule's labels, without the
    external labels Prometheus adds to every alert it sends."""
    wanted = ruletests.parse_labels(labels) or {}
    external = _external_labels(stack)
    got = {k: v for k, v in _payload(notification).alert.get("labels", {}).items()
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
def email_subject(address: str, subject: str, notification: AlertMatch | EmailNotification,
                  smtp_sink: SmtpSink,
                  stack: StackHandle, scenario_ctx: ScenarioContext) -> object:
    receiver = scenario_ctx.facts["receiver"]
    emails = _receiver_emails(stack, receiver)
    assert address in emails, f"receiver {receiver} mails {emails}, not {address}"
    alertname = notification.alertname if isinstance(notification, EmailNotification) \
        else notification.alert["labels"]["alertname"]
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
                        timing=timing)
