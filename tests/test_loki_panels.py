"""Loki panels of dashboards: labels a query needs, and the live check against a real Loki.

The live tests start Loki alone (no agent: lines are pushed with the labels
the stack's pipeline produces) and skip, naming how to get it, where this
machine has no Loki binary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsharness import dashboards
from obsharness.clients.loki import LokiClient
from obsharness.errors import ComponentUnavailableError
from obsharness.stack.manifest import load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.waiting import eventually
from tests.conftest import STACK

SERVICES = ["flask-app", "node-app"]
SINCE = time.time_ns() - 60 * 10**9


@pytest.mark.parametrize(("expr", "needed"), [
    ('{service=~"$service", log_type="error"}', {"service", "log_type"}),
    ('{job="varlogs"} |= "error" | json | line_format "{{.msg}}"', {"job"}),
    ('sum by (level) (count_over_time({app="api", env!="dev"} [$__interval]))', {"app"}),
    ('{namespace=~".*", pod=~".+", container=""}', {"pod"}),  # matches empty: not required
    ('{filename="/var/log/a.log"} |~ "x{2}" | label_format x="{{.y}}"', {"filename"}),
    ('{app=\"a\\\"}\"}', {"app"}),  # an escaped quote and a brace inside the value
])
def test_a_query_needs_the_labels_of_its_positive_matchers(expr: str, needed: set[str]) -> None:
    assert dashboards.required_stream_labels(expr) == needed


@pytest.fixture(scope="module")
def loki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LokiClient]:
    manifest = load_manifest(STACK / "stack.yaml")
    stack = ProcessStack(manifest, tmp_path_factory.mktemp("loki"), time_scale=60,
                         only=["loki"])
    try:
        stack.start()
    except ComponentUnavailableError as exc:
        pytest.skip(f"loki is not available here, so the live check cannot run: {exc}")
    try:
        client = LokiClient(stack.url("loki"))
        for service in SERVICES:
            client.push({"service": service, "level": "error", "log_type": "error"},
                        [json.dumps({"message": "boom", "service": service})])
        eventually(lambda: client.result_size('{log_type="error"}', start_ns=SINCE),
                   lambda n: n == len(SERVICES), what="the pushed lines in Loki", timeout=10)
        yield client
    finally:
        stack.stop()


def _panel(tmp_path: Path, expr: str) -> list[dashboards.PanelQuery]:
    board = {"uid": "t", "title": "Team logs", "schemaVersion": 39, "panels": [
        {"id": 1, "type": "logs", "title": "Errors", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
         "datasource": {"type": "loki", "uid": "loki"},
         "targets": [{"refId": "A", "expr": expr}]}]}
    path = tmp_path / "team.json"
    path.write_text(json.dumps(board))
    return dashboards.queries(path, dashboards.load(path))


def _problems(loki: LokiClient, queries: list[dashboards.PanelQuery]) -> list[str]:
    return [str(p) for p in dashboards.live_loki_problems(loki, queries, SERVICES, SINCE)]


def test_the_stacks_own_logs_panel_passes(loki: LokiClient) -> None:
    path = STACK / "grafana" / "dashboards" / "application.json"
    queries = [q for q in dashboards.queries(path, dashboards.load(path))
               if q.datasource_type == "loki"]
    assert queries
    assert _problems(loki, queries) == []


def test_a_label_the_pipeline_does_not_produce_is_named(loki: LokiClient, tmp_path: Path) -> None:
    # A dashboard from the catalogue selecting on Kubernetes labels this pipeline never sets.
    problems = _problems(loki, _panel(tmp_path, '{namespace="prod", service=~"$service"}'))
    assert len(problems) == 1, problems
    assert "selects on label(s) namespace that no stream in Loki carries" in problems[0]
    assert "(labels in Loki: " in problems[0]
    assert "log_type" in problems[0].split("(labels in Loki: ")[1]


def test_a_query_loki_refuses_keeps_lokis_own_message(loki: LokiClient, tmp_path: Path) -> None:
    problems = _problems(loki, _panel(tmp_path, '{service=~"$service"} |= '))
    assert len(problems) == 1, problems  # one problem, not one per service
    assert "panel 'Errors': Loki refused the query" in problems[0]
    assert "parse error" in problems[0]


def test_an_empty_panel_is_named_per_service(loki: LokiClient, tmp_path: Path) -> None:
    problems = _problems(loki, _panel(tmp_path, '{service=~"$service", log_type="security"}'))
    assert problems == [
        f"{tmp_path / 'team.json'}: panel 'Errors': returns no log lines for service {s} "
        f'(query: {{service=~"{s}", log_type="security"}})' for s in SERVICES]


def test_a_teams_variables_are_resolved_before_loki_is_asked(loki: LokiClient,
                                                             tmp_path: Path) -> None:
    """A custom variable is substituted, and a variable of a datasource not asked here
    leaves its panel out: neither is sent to Loki as a literal `$level`."""
    from obsharness.grafana_vars import Datasource

    board = json.loads(_panel(tmp_path, "")[0].dashboard.read_text())
    board["templating"] = {"list": [
        {"name": "level", "type": "custom", "query": "error,warning",
         "current": {"value": "error"}},
        {"name": "kind", "type": "query", "datasource": {"type": "prometheus", "uid": "p"},
         "query": "label_values(up, job)"},
    ]}
    board["panels"][0]["targets"] = [
        {"refId": "A", "expr": '{service=~"$service", level="$level"}'},
        {"refId": "B", "expr": '{service=~"$service", log_type="$kind"}'},
    ]
    path = tmp_path / "team.json"
    path.write_text(json.dumps(board))
    provisioned = [Datasource("loki", "Loki", "loki", is_default=True),
                   Datasource("p", "Prometheus", "prometheus")]
    assert dashboards.loki_live_report(loki, None, [path], provisioned, SERVICES, SINCE) == []
    board["templating"]["list"][0]["current"] = {"value": "warning"}  # no warning lines
    path.write_text(json.dumps(board))
    lines = dashboards.loki_live_report(loki, None, [path], provisioned, SERVICES, SINCE)
    assert [line.split(": ", 1)[1].split(" [")[0] for line in lines] == [
        f"returns no log lines for service {s}" for s in SERVICES]
    assert all('level="warning"' in line for line in lines)


def test_a_loki_label_values_variable_is_asked_of_the_selected_streams(loki: LokiClient) -> None:
    from obsharness import grafana_vars
    from obsharness.grafana_vars import Datasource

    board = {"templating": {"list": [
        {"name": "svc", "type": "query", "datasource": {"type": "loki", "uid": "loki"},
         "query": 'label_values({service="node-app"}, service)'},
        {"name": "every", "type": "query", "datasource": {"type": "loki", "uid": "loki"},
         "query": "label_values(service)", "includeAll": True},
    ]}}
    resolved = grafana_vars.resolve_variables(
        board, [Datasource("loki", "Loki", "loki", is_default=True)], prometheus=None, loki=loki)
    assert resolved.options["svc"] == ["node-app"]
    assert set(SERVICES) <= set(resolved.options["every"])
    assert resolved.problems == {}
