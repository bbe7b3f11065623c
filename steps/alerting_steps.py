"""Steps of the alerting flow: inject errors, watch the webhook."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from obsharness.clients.prometheus import PrometheusClient
from obsharness.faults import ChaosClient
from obsharness.phrases import percent
from obsharness.pytest_plugin import ScenarioContext
from obsharness.queries import error_ratio
from obsharness.sinks.webhook import AlertMatch, WebhookSink
from obsharness.stack.process import ProcessStack

TYPES = {"Percent": percent}


@given(parsers.parse("errors are injected into {component} at {rate:Percent}", extra_types=TYPES))
@when(parsers.parse("errors are injected into {component} at {rate:Percent}", extra_types=TYPES))
def inject_errors(
    component: str, rate: float, chaos_clients: dict[str, ChaosClient],
    scenario_ctx: ScenarioContext,
) -> None:
    fault = chaos_clients[component].inject(error_rate=rate)
    scenario_ctx.facts["fault_at"] = fault.at


@when(parsers.parse("the errors in {component} stop"))
def errors_stop(
    component: str, chaos_clients: dict[str, ChaosClient], scenario_ctx: ScenarioContext
) -> None:
    chaos_clients[component].clear()
    scenario_ctx.facts["errors_stopped_at"] = chaos_clients[component].history[-1].at


def _firing(
    alertname: str, service: str, webhook_sink: WebhookSink, stack: ProcessStack,
    scenario_ctx: ScenarioContext,
) -> AlertMatch:
    fault_at = scenario_ctx.facts["fault_at"]
    match = webhook_sink.wait_for(
        alertname, status="firing", labels={"service": service}, not_before=fault_at,
        timeout=stack.rendered.timing.fire_deadline_s(alertname),
    )
    scenario_ctx.facts["time_to_alert_s"] = match.notification.received_at - fault_at
    return match


then(
    parsers.parse("a firing {alertname} notification for {service} reaches the webhook"),
    target_fixture="notification",
)(_firing)
given(
    parsers.parse("a firing {alertname} notification for {service} reached the webhook"),
    target_fixture="notification",
)(_firing)


@then("the notification has the labels:")
def notification_has_labels(notification: AlertMatch, datatable: list[list[str]]) -> None:
    expected = {row[0]: row[1] for row in datatable[1:]}
    labels = notification.alert["labels"]
    wrong = {k: labels.get(k) for k, v in expected.items() if labels.get(k) != v}
    assert not wrong, f"expected labels {expected}, but the notification had {labels}"


@then(parsers.parse(
    "no {alertname} notification for {service} reaches the webhook while the rule could fire"
))
def no_notification(
    alertname: str, service: str, webhook_sink: WebhookSink, stack: ProcessStack,
    scenario_ctx: ScenarioContext,
) -> None:
    webhook_sink.assert_none_for(
        alertname, status="firing", labels={"service": service},
        not_before=scenario_ctx.started_at,
        duration=stack.rendered.timing.quiet_period_s(alertname),
    )


@then(parsers.parse(
    "Prometheus measured an error ratio between {low:Percent} and {high:Percent} for {service}",
    extra_types=TYPES,
))
def measured_error_ratio(
    low: float, high: float, service: str, prometheus: PrometheusClient, stack: ProcessStack,
) -> None:
    window = stack.rendered.timing.alert_window_ms["HighErrorRate"]
    query = error_ratio(service, window)
    samples = prometheus.query(query)
    assert samples, f"{query} returned no data: is {service} scraped and receiving traffic?"
    assert low <= samples[0].value <= high, (
        f"{query} = {samples[0].value:.4f}, expected between {low:.2%} and {high:.2%}"
    )


@then(parsers.parse("a resolved {alertname} notification for {service} reaches the webhook"))
def resolved_reaches_webhook(
    alertname: str, service: str, webhook_sink: WebhookSink, stack: ProcessStack,
    scenario_ctx: ScenarioContext,
) -> None:
    webhook_sink.wait_for(
        alertname, status="resolved", labels={"service": service},
        not_before=scenario_ctx.facts["errors_stopped_at"],
        timeout=stack.rendered.timing.resolve_deadline_s(alertname),
    )
