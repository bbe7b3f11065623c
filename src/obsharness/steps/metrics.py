"""Steps of the metrics flow: targets, named measures, latency and database faults."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import requests
from pytest_bdd import parsers, then, when

from obsharness import logs, measures, rule_reach
from obsharness.clients.prometheus import PrometheusClient
from obsharness.faults import ChaosClient
from obsharness.findings.model import relative
from obsharness.phrases import seconds
from obsharness.pytest_plugin import ScenarioContext
from obsharness.report import evidence
from obsharness.scenario import wait_for_targets
from obsharness.stack.handle import StackHandle
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import rule_files_of
from obsharness.waiting import eventually

TYPES = {"Duration": seconds}


@then("Prometheus scrapes these jobs, every target up:")
def these_jobs_up(prometheus: PrometheusClient, stack: StackHandle,
                  datatable: list[list[str]]) -> None:
    running = set(stack.components())
    # A partial stack (--stack-only) does not scrape what it does not run.
    wanted = {job for job, component in datatable[1:] if component in running}
    missing = sorted(wanted - set(stack.rendered.scrape_jobs))
    assert not missing, (f"prometheus.yml has no scrape job {', '.join(missing)}; "
                         f"it has {', '.join(stack.rendered.scrape_jobs)}")
    # The stack's start already waited for its first scrapes; a target down now stays down.
    wait_for_targets(prometheus, wanted | set(stack.rendered.scrape_jobs), timeout=15)


@then("the host metrics of node-exporter and the database metrics of postgres-exporter are present")
def exporter_metrics_present(prometheus: PrometheusClient) -> None:
    for query in ('sum(rate(node_cpu_seconds_total{mode!="idle"}[1m]))',
                  "node_memory_MemAvailable_bytes", "pg_up == 1"):
        eventually(functools.partial(prometheus.query, query), bool,
                   what=f"data for {query}", timeout=15)


@when(parsers.parse("a latency of {delay:Duration} is injected into {component}",
                    extra_types=TYPES))
def inject_latency(component: str, delay: float, chaos_clients: dict[str, ChaosClient]) -> None:
    chaos_clients[component].inject(latency_ms=int(delay * 1000))


def _within_bounds(prometheus: PrometheusClient, stack: StackHandle,
                   datatable: list[list[str]], service: str | None) -> None:
    bounds = {row[0]: (float(row[1]), float(row[2])) for row in datatable[1:]}
    for name in bounds:
        measures.promql_for(name, service)  # an unknown measure fails now, not at the deadline

    def read_all() -> dict[str, float | None]:
        return {name: measures.read(prometheus, name, service) for name in bounds}

    def ok(values: dict[str, float | None]) -> bool:
        return all(v is not None and lo <= v <= hi
                   for (lo, hi), v in zip(bounds.values(), values.values(), strict=True))

    timing = stack.rendered.timing
    window_s = max(timing.alert_window_ms.values(), default=5000) / 1000
    eventually(read_all, ok, timeout=3 * window_s + 10, interval=0.25,
               what=f"measures of {service or 'the whole stack'} within {bounds}")


@then("Prometheus reports for the whole stack:")
def global_measures(prometheus: PrometheusClient, stack: StackHandle,
                    datatable: list[list[str]]) -> None:
    _within_bounds(prometheus, stack, datatable, None)


@then(parsers.re(r"Prometheus reports for (?P<service>[\w-]+):"))
def service_measures(service: str, prometheus: PrometheusClient, stack: StackHandle,
                     datatable: list[list[str]]) -> None:
    _within_bounds(prometheus, stack, datatable, service)


@when("PostgreSQL is stopped")
def postgres_stopped(stack: StackHandle, scenario_ctx: ScenarioContext) -> None:
    stack.stop_component("postgres")


@when("PostgreSQL is started again")
def postgres_started(stack: StackHandle) -> None:
    stack.restart_component("postgres")


@when(parsers.re(r"(?P<component>[\w-]+-app) is stopped"))
def app_stopped(component: str, stack: StackHandle) -> None:
    stack.stop_component(component)  # restore() brings it back if the scenario fails


@when(parsers.re(r"(?P<component>[\w-]+-app) is started again"))
def app_started(component: str, stack: StackHandle) -> None:
    stack.restart_component(component)


@then(parsers.parse("{component} answers {status:d} on {path}"))
def answers_status(component: str, status: int, path: str, stack: StackHandle) -> None:
    url = stack.url(component) + path
    eventually(lambda: requests.get(url, timeout=5).status_code, lambda code: code == status,
               what=f"HTTP {status} from GET {url}", timeout=15, interval=0.2)


def _app_log(stack: StackHandle, component: str) -> Path:
    """The app's own JSON log: read at the source, no log agent or Loki in between."""
    path = stack.log_path(component)
    if path is None:
        pytest.skip(f"{component}'s log is not readable here: a deployed stack's logs live "
                    "on its hosts (the Loki scenarios read them there)")
    return path


@then(parsers.re(r'(?P<component>[\w-]+) logged an? (?P<log_type>\w+) line "(?P<text>[^"]+)"'))
def logged_line(component: str, log_type: str, text: str, stack: StackHandle,
                scenario_ctx: ScenarioContext) -> None:
    path = _app_log(stack, component)
    eventually(
        lambda: [r for r in logs.json_lines(path, since=scenario_ctx.started_at)
                 if r.get("log_type") == log_type and text in str(r.get("message"))],
        bool, what=f'a {log_type} line "{text}" in {path}', timeout=10,
    )


def _shown(path: Path, manifest: Manifest) -> str:
    """A path as the repository names it."""
    return relative(path, manifest.project_dir)


@then("every rule's selectors match series in Prometheus, apart from the rules allowed elsewhere")
def rules_reach_series(prometheus: PrometheusClient, stack: StackHandle,
                       stack_manifest: Manifest) -> None:
    files = rule_files_of(stack.rendered.configs["prometheus"])
    rules = rule_reach.load_rules(files, stack.rendered.run_dir)
    allowlist = rule_reach.load_allowlist(stack_manifest.stack_dir)
    found = rule_reach.unreachable_rules(prometheus, rules, allowlist)
    allowed = [str(u) for u in found if u.allowed_because]
    blocked = [str(u) for u in found if not u.allowed_because]
    # The report shows both lists: what cannot fire, and what is allowed not to.
    evidence.record("check", f"{len(rules)} rules, {len(blocked)} cannot fire here, "
                    f"{len(allowed)} allowed elsewhere",
                    {"cannot fire here": blocked, "allowed elsewhere": allowed})
    assert rules, f"no rule files loaded by {stack.rendered.configs['prometheus']}"
    assert not blocked, (
        f"rules/series-missing: {len(blocked)} rule selector(s) match no series in this "
        f"stack (list a rule meant for another environment in "
        f"{_shown(stack_manifest.stack_dir / rule_reach.ALLOWLIST, stack_manifest)} with a "
        "reason; `obsharness rules-elsewhere --write` drafts the entries):\n"
        + "\n".join(blocked))


@then(parsers.parse("{component} logged lines of log_type {log_type} with level {level}"))
def logged_typed_lines(component: str, log_type: str, level: str, stack: StackHandle,
                       scenario_ctx: ScenarioContext) -> None:
    path = _app_log(stack, component)
    eventually(lambda: logs.matching(path, since=scenario_ctx.started_at, log_type=log_type,
                                     level=level),
               bool, what=f"{log_type} lines with level {level} in {path}", timeout=10)


@then(parsers.parse("every tagged request left one access line with its request id in "
                    "{component}'s log"))
def access_line_per_request(component: str, stack: StackHandle,
                            scenario_ctx: ScenarioContext) -> None:
    path = _app_log(stack, component)
    sent = list(scenario_ctx.facts["returned_request_ids"])

    def lines_per_id() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {request_id: [] for request_id in sent}
        for record in logs.json_lines(path, since=scenario_ctx.started_at):
            if record.get("request_id") in found:
                found[str(record["request_id"])].append(str(record.get("log_type")))
        return found

    outcome = eventually(lines_per_id,
                         lambda found: all(types.count("access") == 1 for types in found.values()),
                         what=f"one access line per tagged request in {path}", timeout=10)
    evidence.record("check", f"{len(sent)} tagged requests, one access line each in {path.name}",
                    outcome.value)
