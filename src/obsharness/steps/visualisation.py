"""Steps of the visualisation flow: dashboards checked statically and against live Prometheus."""

from __future__ import annotations

import warnings
from pathlib import Path

from pytest_bdd import given, parsers, then

from obsharness import dashboard_sources, dashboards, grafana_vars
from obsharness.clients.grafana import GrafanaClient
from obsharness.clients.loki import INGEST_DEADLINE_S, LokiClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.config_findings import validator
from obsharness.dashboard_sources import Board
from obsharness.errors import DashboardAdviceWarning, SourceAdviceWarning
from obsharness.faults import ChaosClient
from obsharness.grafana_vars import Datasource
from obsharness.pytest_plugin import ScenarioContext, TrafficPool
from obsharness.report import evidence
from obsharness.stack.handle import StackHandle
from obsharness.stack.manifest import Manifest
from obsharness.timing import format_duration
from obsharness.waiting import eventually


@given("the dashboards and the Grafana provisioning under stack/grafana/",
       target_fixture="grafana_dir")
@given("the dashboards of this repository", target_fixture="grafana_dir")
def grafana_dir(stack_manifest: Manifest) -> Path:
    """The manifest's dashboard sources, and grafana/provisioning/ beside the manifest
    where the repository provisions its datasources."""
    return stack_manifest.stack_dir / "grafana"


def _apps(manifest: Manifest) -> list[str]:
    return [n for n, c in manifest.components.items() if c.role == "app"]


def _datasources(grafana_dir: Path) -> list[Datasource]:
    return dashboards.provisioned_datasources(grafana_dir / "provisioning")


def _boards(manifest: Manifest) -> list[Board]:
    """Every dashboard of the manifest's dashboard sources, in whichever shape it is kept."""
    found = dashboard_sources.boards(manifest)
    for skipped in found.skipped:
        warnings.warn(f"{skipped}", SourceAdviceWarning, stacklevel=2)
    return [dashboards.checked(b) for b in found.boards]


def _static_datasources(grafana_dir: Path, boards: list[Board]) -> list[Datasource]:
    """Provisioned datasources; a repository that provisions none gets the ones its
    dashboards name, and a warning that says so."""
    found, assumed = dashboards.datasources_for(grafana_dir / "provisioning", boards)
    if assumed:
        warnings.warn(assumed, DashboardAdviceWarning, stacklevel=2)
    return found


def _dashboard_queries(manifest: Manifest) -> list[dashboards.PanelQuery]:
    boards = _boards(manifest)
    datasources = _static_datasources(manifest.stack_dir / "grafana", boards)
    return [q for b in boards for q in dashboards.queries(b.label, b.data, datasources)]


def _report(problems: list[dashboards.Problem]) -> str:
    """Grouped per dashboard and cause, never one line per query."""
    return "\n".join(dashboards.summarise(problems))


@then("every dashboard, in whichever shape it is kept, is one Grafana can show; its style "
      "advice is a warning")
@then("every dashboard is valid dashboard JSON with unique panel ids, grid positions and units")
@then("every panel's datasource uid is provisioned and every variable it uses is defined")
@validator
def static_checks(grafana_dir: Path, stack_manifest: Manifest) -> None:
    """Errors are what Grafana fails on or draws wrong or empty; style advice (units,
    titles, $__rate_interval...) is a warning unless stack/grafana/dashboard-lint.yml
    allowlists it, as dashboard-linter's exclusions do."""
    boards = _boards(stack_manifest)
    assert boards, "no dashboard: the manifest's dashboard sources match no file"
    errors, advice = dashboards.judged(boards, _static_datasources(grafana_dir, boards),
                                       stack_manifest.stack_dir)
    evidence.record("check", f"dashboard advice ({len(advice)} not allowlisted)",
                    dashboards.summarise(advice) or ["none"])
    for line in dashboards.summarise(advice):
        warnings.warn(line, DashboardAdviceWarning, stacklevel=1)
    assert not errors, _report(errors)


@then("every PromQL query of every panel parses with the real Prometheus parser")
def promql_parses(stack_manifest: Manifest) -> None:
    queries = _dashboard_queries(stack_manifest)
    assert any(q.datasource_type == "prometheus" for q in queries)
    problems = dashboards.promql_problems(queries)
    assert not problems, _report(problems)


@given("every app receives 10 requests per second")
def every_app_loaded(traffic: TrafficPool, stack_manifest: Manifest) -> None:
    for name in _apps(stack_manifest):
        traffic.start(name, 10)


@given(parsers.parse("errors of {percent:d}% hit every app"))
def errors_in_every_app(percent: int, stack_manifest: Manifest,
                        chaos_clients: dict[str, ChaosClient]) -> None:
    for name in _apps(stack_manifest):
        chaos_clients[name].inject(error_rate=percent / 100)


@then("every Loki panel of every dashboard returns log lines for each service")
def live_loki_panels(loki: LokiClient, prometheus: PrometheusClient, stack_manifest: Manifest,
                     scenario_ctx: ScenarioContext) -> None:
    grafana_dir = stack_manifest.stack_dir / "grafana"
    queries = [q for q in _dashboard_queries(stack_manifest) if q.datasource_type == "loki"]
    assert queries, "no dashboard has a Loki panel"
    since = int(scenario_ctx.started_at * 1e9)
    boards = _boards(stack_manifest)
    eventually(lambda: dashboards.loki_live_report(
                   loki, prometheus, boards,
                   _datasources(grafana_dir), _apps(stack_manifest), since),
               lambda problems: not problems, timeout=INGEST_DEADLINE_S, interval=0.5,
               what=f"every Loki panel ({len(queries)} queries) returning log lines, "
                    "variables resolved (problems grouped below)")


@then("every Prometheus panel of every dashboard returns data for each service")
def live_panels(prometheus: PrometheusClient, stack: StackHandle,
                stack_manifest: Manifest) -> None:
    grafana_dir = stack_manifest.stack_dir / "grafana"
    files = _boards(stack_manifest)
    # Grafana's $__rate_interval is four scrape intervals at least.
    rate_interval = format_duration(4 * stack.rendered.timing.scrape_interval_ms)
    window_s = max(stack.rendered.timing.alert_window_ms.values()) / 1000
    eventually(lambda: dashboards.live_report(prometheus, files, _datasources(grafana_dir),
                                              _apps(stack_manifest), rate_interval),
               lambda problems: not problems, timeout=3 * window_s + 15, interval=0.5,
               what="every Prometheus panel returning data, variables resolved (problems "
                    "grouped below)")


@then("Grafana has the datasources prometheus, loki and alertmanager, and prometheus is healthy")
def grafana_datasources(grafana: GrafanaClient) -> None:
    assert grafana.health()["database"] == "ok"
    uids = {d["uid"] for d in grafana.datasources()}
    assert {"prometheus", "loki", "alertmanager"} <= uids, f"provisioned datasources: {uids}"
    status, message = grafana.datasource_health("prometheus")
    assert status == "OK", f"prometheus datasource unhealthy: {message}"


@then("every dashboard under stack/grafana/dashboards is provisioned in Grafana and loads")
def grafana_dashboards(grafana: GrafanaClient, stack_manifest: Manifest) -> None:
    boards = _boards(stack_manifest)
    for board in (b for b in boards if not b.file_provisioned):
        warnings.warn(f"{board.origin}: a {board.shape} dashboard, checked statically and "
                      f"live against Prometheus, is not loaded by Grafana's classic file "
                      f"provider: provision it through Grafana's resource provisioning or a "
                      f"GrafanaManifest", SourceAdviceWarning, stacklevel=1)
    expected = {b.uid for b in boards if b.uid and b.file_provisioned}
    provisioned = {d["uid"] for d in grafana.search_dashboards()}
    assert expected <= provisioned, f"missing in Grafana: {expected - provisioned}"
    for uid in expected:
        assert grafana.dashboard(uid)["panels"], f"dashboard {uid} loaded without panels"


@then("every Prometheus panel query returns frames through Grafana's /api/ds/query")
def grafana_panels(grafana: GrafanaClient, stack_manifest: Manifest) -> None:
    services = _apps(stack_manifest)
    failures = []
    for query in (q for q in _dashboard_queries(stack_manifest)
                  if q.datasource_type == "prometheus"):
        expr = grafana_vars.expand(query.expr, {"service": "|".join(services),
                                              "__rate_interval": "1m"})
        result = grafana.query(query.datasource_uid, expr)
        if result.error or not result.frames:
            failures.append(f"{query.dashboard} '{query.panel}': {expr} -> {result}")
    assert not failures, "\n".join(failures)
