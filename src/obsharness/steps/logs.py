"""Steps of the logs flow: requests with known ids, then LogQL against a real Loki."""

from __future__ import annotations

import uuid

import requests
from pytest_bdd import given, parsers, then, when

from obsharness import logql, loki_rules
from obsharness.browser import PageLoad
from obsharness.clients.loki import INGEST_DEADLINE_S, LogLine, LokiClient, sent_labels
from obsharness.pytest_plugin import ScenarioContext
from obsharness.report import evidence
from obsharness.sinks.webhook import AlertMatch
from obsharness.stack.handle import StackHandle
from obsharness.stack.manifest import Manifest
from obsharness.waiting import eventually


@given("Loki and the log agent under test are running")
def loki_running(loki: LokiClient, log_agent: str) -> LokiClient:
    assert loki.ready(), f"Loki's /ready does not answer 'ready' (agent under test: {log_agent})"
    return loki


def _lines(loki: LokiClient, since: float, **labels: str) -> list[LogLine]:
    return loki.query_range(logql.selector(**labels), start_ns=int(since * 1e9))


@when(parsers.re(r"(?P<component>[\w-]+) serves (?P<count>\d+) requests tagged for this "
                 r"scenario"))
def tagged_requests(component: str, count: str, stack: StackHandle,
                    scenario_ctx: ScenarioContext) -> None:
    tag = f"obsh-{uuid.uuid4().hex[:12]}"
    scenario_ctx.facts["tag"] = tag
    returned: dict[str, str | None] = {}
    with requests.Session() as session:
        for i in range(int(count)):  # bounded: the count the scenario names
            response = session.get(stack.url(component) + "/", timeout=10,
                                   headers={"X-Request-ID": f"{tag}-{i}"})
            returned[f"{tag}-{i}"] = response.headers.get("X-Request-ID")
    scenario_ctx.facts["returned_request_ids"] = returned


@then("every response carried its request id back")
def request_ids_returned(scenario_ctx: ScenarioContext) -> None:
    returned = scenario_ctx.facts["returned_request_ids"]
    wrong = {sent: got for sent, got in returned.items() if got != sent}
    evidence.record("check", "X-Request-ID of each response", returned)
    assert not wrong, f"responses whose X-Request-ID is not the one sent (sent: got): {wrong}"


@then(parsers.parse("Loki holds {count:d} access lines of {service} tagged for this scenario, "
                    "within 1%"))
def access_lines_counted(count: int, service: str, loki: LokiClient,
                         scenario_ctx: ScenarioContext) -> None:
    tag = scenario_ctx.facts["tag"]
    query = logql.contains(logql.selector(service=service, log_type="access"), tag)
    eventually(lambda: len(loki.query_range(query, start_ns=int(scenario_ctx.started_at * 1e9))),
               lambda n: abs(n - count) <= count * 0.01, what=f"{count} lines for {query}",
               timeout=INGEST_DEADLINE_S, interval=0.5)


@then(parsers.parse("Loki holds {log_type} lines of {service} with level {level}"))
def typed_lines(log_type: str, service: str, level: str, loki: LokiClient,
                scenario_ctx: ScenarioContext) -> None:
    found = eventually(lambda: _lines(loki, scenario_ctx.started_at, service=service,
                                      log_type=log_type, level=level),
                       bool, what=f"{log_type} lines of {service} with level {level}",
                       timeout=INGEST_DEADLINE_S, interval=0.5).value
    assert all(line.json().get("log_type") == log_type for line in found)


@then(parsers.parse('Loki holds a {log_type} line of {service} saying "{text}"'))
def line_saying(log_type: str, service: str, text: str, loki: LokiClient,
                scenario_ctx: ScenarioContext) -> None:
    query = logql.contains(logql.selector(service=service, log_type=log_type), text)
    found = eventually(lambda: loki.query_range(query, start_ns=int(scenario_ctx.started_at * 1e9)),
                       bool, what=f"a line for {query}", timeout=INGEST_DEADLINE_S,
                       interval=0.5).value
    assert all(line.json().get("message") == text for line in found), \
        [line.json().get("message") for line in found]


@then(parsers.parse("the Loki streams of {service} carry exactly the labels {names}"))
def exact_labels(service: str, names: str, loki: LokiClient,
                 scenario_ctx: ScenarioContext) -> None:
    wanted = {n.strip() for n in names.replace(" and ", ",").split(",")}
    # This scenario's streams only: an earlier pipeline's would be judged otherwise.
    streams = eventually(
        lambda: loki.series(logql.selector(service=service),
                            start_ns=int(scenario_ctx.started_at * 1e9)),
        bool, what=f"Loki streams of {service} since the scenario started",
        timeout=INGEST_DEADLINE_S, interval=0.5).value
    # Loki shards a busy stream under a reserved label of its own: not the pipeline's.
    wrong = [s for s in streams if set(sent_labels(s)) != wanted]
    assert not wrong, f"streams with other labels than {sorted(wanted)}: {wrong}"


@then("a line filter on one tagged request id finds exactly its access line")
def request_id_by_line_filter(loki: LokiClient, scenario_ctx: ScenarioContext) -> None:
    request_id = f"{scenario_ctx.facts['tag']}-7"
    query = logql.contains(logql.selector(service="flask-app", log_type="access"),
                           f'"request_id": "{request_id}"')
    lines = eventually(lambda: loki.query_range(query, start_ns=int(scenario_ctx.started_at * 1e9)),
                       bool, what=f"the line for {query}", timeout=INGEST_DEADLINE_S).value
    assert [line.json()["request_id"] for line in lines] == [request_id]
    assert "request_id" not in lines[0].labels, "request_id must stay content, not a label"


@then("Loki holds the access lines of the page's API call from node-app and fastapi-app")
def followed_across_services(page_load: PageLoad, loki: LokiClient,
                             scenario_ctx: ScenarioContext) -> None:
    request_id = page_load.api_request_id
    assert request_id, "the page did not expose its API call's X-Request-ID"
    query = logql.contains(logql.selector(log_type="access"), request_id)
    since = int(scenario_ctx.started_at * 1e9)
    eventually(lambda: {line.labels.get("service") for line in
                        loki.query_range(query, start_ns=since)},
               lambda services: {"node-app", "fastapi-app"} <= services,
               what=f"access lines of {request_id} from node-app and fastapi-app",
               timeout=INGEST_DEADLINE_S, interval=0.5)


@then(parsers.parse("Loki holds the error lines of {service} behind that alert: none before the "
                    "fault, and between the fault and the notification more than {percent:d}% "
                    "of its access lines"))
def error_lines_behind_the_alert(service: str, percent: int, notification: AlertMatch,
                                 loki: LokiClient, scenario_ctx: ScenarioContext) -> None:
    fault_at = scenario_ctx.facts["fault_at"]
    notified_at = notification.notification.received_at
    start_ns, end_ns = int(fault_at * 1e9), int(notified_at * 1e9)
    errors_query = logql.selector(service=service, log_type="error")
    # The agent reads the app's log file in order and ships its batches in
    # order: once a line written after the window is in Loki, so is the window.
    eventually(lambda: loki.query_range(logql.selector(service=service), limit=1,
                                        start_ns=end_ns),
               bool, what=f"a line of {service} written after the notification",
               timeout=INGEST_DEADLINE_S, interval=0.5)
    errors = loki.query_range(errors_query, start_ns=start_ns, end_ns=end_ns)
    before = loki.query_range(errors_query, start_ns=int(scenario_ctx.started_at * 1e9),
                              end_ns=start_ns)
    assert not before, f"{len(before)} error line(s) of {service} before the fault: {before[:3]}"
    access = loki.query_range(logql.selector(service=service, log_type="access"),
                             start_ns=start_ns, end_ns=end_ns)
    share = len(errors) / max(len(access), 1)
    assert share > percent / 100, (
        f"{len(errors)} error lines for {len(access)} access lines of {service} between the "
        f"fault and the notification: {share:.1%}, not above the alert's {percent}%")
    assert all(line.json().get("level") == "error" for line in errors)
    # The report draws these lines on the alert's timeline.
    scenario_ctx.facts["log_marks"] = {
        "label": f"{len(errors)} error lines of {service} in Loki ({share:.1%} of requests)",
        "times": [line.ts_ns / 1e9 for line in errors],
    }


@then("Loki's ruler evaluates every group of the Loki rule files, each rule without error")
def loki_ruler_healthy(loki: LokiClient, stack_manifest: Manifest) -> None:
    """The real ruler is the judge of LogQL rules: each group loaded, each rule healthy."""
    files = [loki_rules.read(path) for path in loki_rules.files(stack_manifest)]
    expected = {str(g.get("name")) for rules in files for g in rules.groups}
    assert expected, "stack.yaml's sources.loki_rules names no rule file"
    # A selector on a label no stream carries can never match: named before any wait.
    blind = loki_rules.blind_selectors(files, set(loki.labels()))
    assert not blind, "\n".join(blind)

    def state() -> tuple[set[str], list[str]]:
        groups = loki.rule_groups()
        evaluated = {str(g.get("name")) for g in groups if g.get("lastEvaluation")
                     and not str(g.get("lastEvaluation")).startswith("0001-")}
        return expected - evaluated, loki_rules.unhealthy(groups)

    missing, unhealthy = eventually(
        state, lambda s: not s[0] or bool(s[1]), timeout=INGEST_DEADLINE_S, interval=0.5,
        what=f"Loki's ruler evaluating the groups {', '.join(sorted(expected))}").value
    evidence.record("check", "Loki ruler groups", sorted(expected))
    assert not unhealthy, "Loki's ruler reports:\n" + "\n".join(unhealthy)
    assert not missing, f"Loki's ruler never evaluated {', '.join(sorted(missing))}"
