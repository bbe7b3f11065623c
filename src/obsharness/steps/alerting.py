"""Steps of the alerting flow: cause faults, watch the webhook, the mailbox and Alertmanager."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import requests
from pytest_bdd import given, parsers, then, when

from obsharness import alert_story, load, measures
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.faults import ChaosClient, parse_fault
from obsharness.phrases import described_value, percent
from obsharness.pytest_plugin import ScenarioContext
from obsharness.sinks.webhook import AlertMatch, WebhookSink, parse_time
from obsharness.stack.handle import StackHandle
from obsharness.waiting import eventually

if TYPE_CHECKING:  # aiosmtpd loads only where the mail receiver starts
    from obsharness.sinks.smtp import SmtpSink

TYPES = {"Percent": percent}
HIGH_CPU_THRESHOLD = 0.8  # stack/prometheus/rules/alerts.yml, HighCPU (scope process)


def _inject(component: str, settings: dict[str, object], stack: StackHandle,
            chaos_clients: dict[str, ChaosClient], scenario_ctx: ScenarioContext) -> None:
    if settings.get("crash"):
        stack.kill(component)  # a real crash: SIGKILL, no goodbye
        scenario_ctx.facts["fault_at"] = time.time()
    else:
        if float(str(settings.get("cpu_burn", 0))) >= HIGH_CPU_THRESHOLD:
            # HighCPU fires above 0.8 of a core: a starved machine cannot get there
            # (in a parallel run, the scenario is tagged @exclusive to get the machine).
            load.require_core_share(HIGH_CPU_THRESHOLD + 0.05, purpose="crossing HighCPU's "
                                    "threshold with one process")
        scenario_ctx.facts["fault_at"] = chaos_clients[component].inject(**settings).at


@given(parsers.parse("errors are injected into {component} at {rate:Percent}", extra_types=TYPES))
@when(parsers.parse("errors are injected into {component} at {rate:Percent}", extra_types=TYPES))
def inject_errors(component: str, rate: float, stack: StackHandle,
                  chaos_clients: dict[str, ChaosClient], scenario_ctx: ScenarioContext) -> None:
    _inject(component, {"error_rate": rate}, stack, chaos_clients, scenario_ctx)


FAULT_HITS = parsers.re(r"(?P<fault>.+?) hits? (?P<component>[\w-]+)$")


@given(FAULT_HITS)
@when(FAULT_HITS)
def fault_hits(fault: str, component: str, stack: StackHandle,
               chaos_clients: dict[str, ChaosClient], scenario_ctx: ScenarioContext) -> None:
    _inject(component, parse_fault(fault), stack, chaos_clients, scenario_ctx)


@when(parsers.parse("someone fails to log in to {component} {count:d} times"))
def failed_logins(component: str, count: int, stack: StackHandle,
                  scenario_ctx: ScenarioContext) -> None:
    scenario_ctx.facts["fault_at"] = time.time()
    with requests.Session() as session:
        for attempt in range(count):
            response = session.post(stack.url(component) + "/login", timeout=5,
                                    json={"username": "demo", "password": f"guess-{attempt}"})
            assert response.status_code == 401, response.text


@when(parsers.parse("the errors in {component} stop"))
def errors_stop(
    component: str, chaos_clients: dict[str, ChaosClient], scenario_ctx: ScenarioContext
) -> None:
    chaos_clients[component].clear()
    scenario_ctx.facts["errors_stopped_at"] = chaos_clients[component].history[-1].at


def _firing(
    alertname: str, service: str, webhook_sink: WebhookSink, stack: StackHandle,
    scenario_ctx: ScenarioContext, prometheus: PrometheusClient,
    alertmanager: AlertmanagerClient,
) -> AlertMatch:
    fault_at = scenario_ctx.facts["fault_at"]
    labels = {"service": service}
    with alert_story.told_on_timeout(prometheus, alertmanager, alertname, labels, fault_at):
        match = webhook_sink.wait_for(
            alertname, status="firing", labels=labels, not_before=fault_at,
            timeout=stack.rendered.timing.fire_deadline_s(alertname),
        )
    scenario_ctx.facts["time_to_alert_s"] = match.notification.received_at - fault_at
    # The report plots this alert's measure against its threshold.
    scenario_ctx.facts["alert"] = {"name": alertname, "service": service,
                                   "notified_at": match.notification.received_at}
    return match


then(
    parsers.parse("a firing {alertname} notification for {service} reaches the webhook"),
    target_fixture="notification",
)(_firing)
given(
    parsers.parse("a firing {alertname} notification for {service} reached the webhook"),
    target_fixture="notification",
)(_firing)


@then(parsers.parse("the notification has severity {severity}, a value {op} {threshold:g}, "
                    "a start after the fault and a link to Prometheus"))
def notification_payload(
    severity: str, op: str, threshold: float, notification: AlertMatch, stack: StackHandle,
    scenario_ctx: ScenarioContext,
) -> None:
    alert = notification.alert
    assert alert["labels"]["severity"] == severity, alert["labels"]
    assert alert["annotations"].get("summary"), alert["annotations"]
    assert alert["annotations"].get("runbook_url", "").startswith("https://"), alert
    value = float(alert["annotations"]["value"])
    assert (value > threshold) if op == "above" else (value < threshold), (
        f"value annotation {value} is not {op} {threshold}"
    )
    described = described_value(alert["annotations"]["description"])
    assert described is not None, alert["annotations"]["description"]
    assert math.isclose(described, value, rel_tol=2e-3, abs_tol=5e-4), (
        f"the description {alert['annotations']['description']!r} does not state the value {value}"
    )
    assert parse_time(alert["startsAt"]) >= scenario_ctx.facts["fault_at"] - 1.0, alert
    prometheus_url = stack.url("prometheus")
    assert alert["generatorURL"].startswith(prometheus_url + "/graph?g0.expr="), (
        f"generatorURL {alert['generatorURL']} does not point at {prometheus_url}"
    )


@then(parsers.parse("an email about {alertname} on {service} reaches {recipient}"))
def email_reaches(alertname: str, service: str, recipient: str, smtp_sink: SmtpSink,
                  notification: AlertMatch, stack: StackHandle,
                  scenario_ctx: ScenarioContext) -> None:
    mail = smtp_sink.wait_for(
        to=recipient, subject_contains=("[FIRING]", alertname, service),
        since=scenario_ctx.facts["fault_at"],
        timeout=stack.rendered.timing.fire_deadline_s(alertname),
    )
    description = notification.alert["annotations"]["description"]
    assert description in mail.text, f"the email body lacks {description!r}:\n{mail.text}"
    assert notification.alert["generatorURL"] in mail.text.replace("&amp;", "&")


@then(parsers.parse("no email about {alertname} on {service} is sent"))
def no_email(alertname: str, service: str, smtp_sink: SmtpSink, stack: StackHandle,
             scenario_ctx: ScenarioContext) -> None:
    # The webhook notification has arrived: an email of the same flush would be here too.
    smtp_sink.assert_none_for(subject_contains=(alertname, service),
                              since=scenario_ctx.started_at,
                              duration=stack.rendered.timing.group_wait_ms / 1000 + 1.0)


@then(parsers.parse(
    "no {alertname} notification for {service} reaches the webhook while the rule could fire"
))
def no_notification(
    alertname: str, service: str, webhook_sink: WebhookSink, stack: StackHandle,
    scenario_ctx: ScenarioContext,
) -> None:
    webhook_sink.assert_none_for(
        alertname, status="firing", labels={"service": service},
        not_before=scenario_ctx.started_at,
        duration=stack.rendered.timing.quiet_period_s(alertname),
    )


@then(parsers.parse("Prometheus measured a {measure} between {low:g} and {high:g} for {service}"))
def measured_between(measure: str, low: float, high: float, service: str,
                     prometheus: PrometheusClient) -> None:
    eventually(lambda: measures.read(prometheus, measure, service),
               lambda v: v is not None and low <= v <= high,
               what=f"{measure} of {service} between {low} and {high}", timeout=10, interval=0.25)


@then(parsers.parse("a resolved {alertname} notification for {service} reaches the webhook"))
def resolved_reaches_webhook(
    alertname: str, service: str, webhook_sink: WebhookSink, stack: StackHandle,
    scenario_ctx: ScenarioContext, prometheus: PrometheusClient,
    alertmanager: AlertmanagerClient,
) -> None:
    labels = {"service": service}
    since = scenario_ctx.facts.get("fault_at", scenario_ctx.started_at)
    with alert_story.told_on_timeout(prometheus, alertmanager, alertname, labels, since):
        webhook_sink.wait_for(
            alertname, status="resolved", labels=labels,
            not_before=scenario_ctx.facts["errors_stopped_at"],
            timeout=stack.rendered.timing.resolve_deadline_s(alertname),
        )


@given(parsers.parse("{alertname} for {service} is silenced through the Alertmanager API"))
def silenced(alertname: str, service: str, alertmanager: AlertmanagerClient) -> None:
    alertmanager.create_silence({"alertname": alertname, "service": service}, minutes=10,
                                comment="obsharness scenario: a silence suppresses notifications")


@then(parsers.re(r"Alertmanager holds (?P<alertname>\w+) for (?P<service>[\w-]+) as "
                 r"(?P<state>inhibited by \w+|silenced)"))
def alertmanager_holds(alertname: str, service: str, state: str,
                       alertmanager: AlertmanagerClient, stack: StackHandle) -> None:
    key = "inhibitedBy" if state.startswith("inhibited") else "silencedBy"
    eventually(lambda: alertmanager.alert_state(alertname, {"service": service}),
               lambda alerts: any(a["status"][key] for a in alerts),
               what=f"{alertname} for {service} {state} in Alertmanager",
               timeout=stack.rendered.timing.fire_deadline_s(alertname), interval=0.1)
