"""Dashboards checked the way Grafana reads them, on dashboards in the catalogue's shapes.

The fixtures are written here after the patterns of widely shared dashboards
(a datasource variable `${ds_prometheus}` and chained `label_values` variables
as in the most downloaded Node Exporter dashboard, an `__inputs` export, a
Mixed panel, a legacy datasource name), not the sample stack's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from obsharness import dashboards, grafana_vars
from obsharness.clients.prometheus import PrometheusClient
from obsharness.grafana_vars import Datasource
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.waiting import eventually
from tests.conftest import STACK

PROVISIONED = [Datasource("prometheus", "Prometheus", "prometheus", is_default=True),
               Datasource("loki", "Loki", "loki"),
               Datasource("alertmanager", "Alertmanager", "alertmanager")]
DS = {"type": "prometheus", "uid": "${ds_prometheus}"}


def _panel(pid: int, title: str, *exprs: str, datasource: Any = DS,
           target_ds: Any = None) -> dict[str, Any]:
    targets = [{"refId": chr(65 + i), "expr": e, **({"datasource": target_ds} if target_ds else {})}
               for i, e in enumerate(exprs)]
    return {"id": pid, "type": "timeseries", "title": title, "datasource": datasource,
            "gridPos": {"x": 0, "y": pid, "w": 12, "h": 8},
            "fieldConfig": {"defaults": {"unit": "short"}}, "targets": targets}


def node_exporter_like() -> dict[str, Any]:
    """The catalogue's Node Exporter dashboard pattern, in small."""
    return {
        "uid": "node-like", "title": "Node Exporter (catalogue shape)", "schemaVersion": 39,
        "templating": {"list": [
            {"name": "ds_prometheus", "type": "datasource", "query": "prometheus",
             "current": {}},
            {"name": "job", "type": "query", "datasource": DS,
             "query": {"query": "label_values(node_uname_info, job)", "refId": "A"},
             "definition": "label_values(node_uname_info, job)"},
            {"name": "node", "type": "query", "datasource": DS,
             "query": 'label_values(node_uname_info{job="$job"}, instance)'},
            {"name": "diskdevices", "type": "custom", "query": "[a-z]+|nvme[0-9]+n[0-9]+"},
        ]},
        "panels": [
            {"id": 1, "type": "row", "title": "Quick CPU / Mem / Disk", "panels": [],
             "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
            _panel(2, "Sys Load", 'node_load1{instance="$node",job="$job"}'),
            _panel(3, "CPU Busy", '1 - avg(rate(node_cpu_seconds_total{mode="idle",'
                                  'instance="$node",job="$job"}[$__rate_interval]))'),
            _panel(4, "Disk IOps", 'rate(node_disk_reads_completed_total{instance="$node",'
                                   'job="$job",device=~"$diskdevices"}[$__rate_interval])'),
        ],
    }


def _write(tmp_path: Path, board: dict[str, Any], name: str = "board.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(board))
    return path


def test_a_datasource_variable_resolves_to_the_provisioned_datasource_of_its_type(
    tmp_path: Path
) -> None:
    path = _write(tmp_path, node_exporter_like())
    assert dashboards.static_problems(path, PROVISIONED) == []
    found = dashboards.queries(path, dashboards.load(path), PROVISIONED)
    assert {(q.datasource_type, q.datasource_uid) for q in found} == {("prometheus",
                                                                       "prometheus")}


@pytest.mark.parametrize(("variable", "chosen"), [
    ({"query": "prometheus"}, "prometheus"),  # the type's default
    ({"query": "prometheus", "current": {"value": "thanos"}}, "thanos"),  # the saved choice
    ({"query": "prometheus", "current": {"value": "gone"}}, "prometheus"),  # saved but gone
    ({"query": "prometheus", "regex": "/^Thanos/"}, "thanos"),
    ({"query": "loki"}, "loki"),
])
def test_datasource_variables_follow_grafanas_choice(variable: dict[str, Any],
                                                     chosen: str) -> None:
    provisioned = [*PROVISIONED, Datasource("thanos", "Thanos", "prometheus")]
    variables = {"ds": {"name": "ds", "type": "datasource", **variable}}
    resolution = grafana_vars.resolve_datasource("$ds", variables, provisioned)
    assert resolution.datasource is not None
    assert resolution.datasource.uid == chosen


def test_a_datasource_variable_matching_nothing_is_named(tmp_path: Path) -> None:
    board = node_exporter_like()
    board["templating"]["list"][0]["query"] = "influxdb"
    problems = [str(p) for p in dashboards.static_problems(_write(tmp_path, board), PROVISIONED)]
    assert problems
    assert all("datasource variable $ds_prometheus (type influxdb) matches no provisioned "
               "datasource" in p for p in problems)
    # Grouped: the three panels and three variables it breaks make one line, not six.
    lines = dashboards.summarise(dashboards.static_problems(_write(tmp_path, board),
                                                            PROVISIONED))
    assert len(lines) == 1, lines
    assert "[6x: '(variable ds_prometheus)', '(variable job)', '(variable node)' and 3 more]" \
        in lines[0]


def test_an_inputs_export_is_one_clear_problem(tmp_path: Path) -> None:
    board = node_exporter_like()
    board["templating"]["list"] = board["templating"]["list"][1:]  # no datasource variable
    board["__inputs"] = [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                          "pluginId": "prometheus"}]
    exported = json.loads(json.dumps(board).replace("${ds_prometheus}", "${DS_PROMETHEUS}"))
    problems = dashboards.static_problems(_write(tmp_path, exported), PROVISIONED)
    assert [p.panel for p in problems] == ["(dashboard)"]
    message = problems[0].message
    assert message.startswith("exported for sharing: 5 reference(s) to ${DS_PROMETHEUS}")
    assert "only Grafana's import dialog fills" in message
    assert "a provisioned uid (alertmanager, loki, prometheus)" in message
    assert "a datasource variable (templating type datasource" in message


def test_a_mixed_panel_may_mix_and_another_panel_may_not(tmp_path: Path) -> None:
    mixed = _panel(5, "Mixed", 'up{job="$job"}', datasource={"uid": "-- Mixed --"},
                   target_ds={"type": "prometheus", "uid": "prometheus"})
    wrong = _panel(6, "Logs in a graph", '{job="x"}', datasource={"uid": "prometheus"},
                   target_ds={"type": "loki", "uid": "loki"})
    legacy = _panel(7, "Legacy name", "up", datasource="Prometheus")
    board = node_exporter_like()
    board["panels"] += [mixed, wrong, legacy]
    problems = [(p.panel, p.message) for p in dashboards.static_problems(_write(tmp_path, board),
                                                                         PROVISIONED)]
    assert problems == [("Logs in a graph",
                         "target A names datasource 'loki' but its panel's is 'prometheus': "
                         "Grafana sends a target to the panel's datasource unless the panel is "
                         "Mixed")]


def test_written_variables_and_multi_values_are_formatted_as_grafana_does() -> None:
    board = {"templating": {"list": [
        {"name": "env", "type": "custom", "query": "prod : production,staging",
         "current": {"value": "staging"}},
        {"name": "window", "type": "interval", "query": "1m,5m,1h"},
        {"name": "cluster", "type": "constant", "query": "eu-1"},
        {"name": "filter", "type": "textbox", "query": "", "current": {"value": "api.*"}},
        {"name": "svc", "type": "custom", "query": "a.b,c", "includeAll": True, "multi": True,
         "current": {"value": ["$__all"]}},
        {"name": "tier", "type": "custom", "query": "web,db", "includeAll": True,
         "allValue": ".*", "current": {"value": "$__all"}},
    ]}}
    resolved = grafana_vars.resolve_variables(board, PROVISIONED, prometheus=None)
    assert resolved.values == {"env": "staging", "window": "1m", "cluster": "eu-1",
                               "filter": "api.*", "svc": "(a\\\\.b|c)", "tier": ".*"}
    assert resolved.problems == {}
    # Escaped twice, as Grafana writes it: once for the regex, once for the PromQL string.
    assert grafana_vars.expand('x{svc=~"$svc",c="${cluster}",e="[[env]]"}',
                               resolved.variables) == 'x{svc=~"(a\\\\.b|c)",c="eu-1",e="staging"}'
    assert grafana_vars.expand('x{svc=~"${svc:pipe}",t=~"${tier:csv}"}', resolved.variables) \
        == 'x{svc=~"a.b|c",t=~".*"}'


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    manifest = load_manifest(STACK / "stack.yaml")
    with WebhookSink() as hook, SmtpSink() as mail, ProcessStack(
        manifest, tmp_path_factory.mktemp("vars"), time_scale=60,
        only=["prometheus", "node-exporter"],
        sink_addresses={"alert-webhook": hook.address, "mail-relay": mail.address},
    ) as stack:
        client = PrometheusClient(stack.url("prometheus"))
        wait_for_targets(client, set(stack.rendered.scrape_jobs), timeout=30)
        yield client


@pytest.mark.slow
def test_chained_query_variables_resolve_live_before_any_panel_is_judged(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    board = node_exporter_like()
    resolved = grafana_vars.resolve_variables(board, PROVISIONED, prometheus=prometheus)
    assert resolved.problems == {}
    assert resolved.values["job"] == "node"
    assert resolved.values["node"] == resolved.options["node"][0]
    assert resolved.values["node"].startswith("127.0.0.1:")  # chained on $job
    path = _write(tmp_path, board)
    # A rate needs two scrapes in its window: wait for them. Disk IOps may be empty in a
    # sandbox without block devices, so only the load and CPU panels must show data.
    eventually(lambda: dashboards.live_report(prometheus, [path], PROVISIONED, [], "5s"),
               lambda lines: not [ln for ln in lines if "'Sys Load'" in ln or "'CPU Busy'" in ln],
               what="Sys Load and CPU Busy showing data", timeout=30, interval=0.5)


@pytest.mark.slow
def test_an_unresolvable_variable_is_its_own_problem_not_a_silent_panel(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    board = node_exporter_like()
    board["templating"]["list"][1]["query"] = {"query": "label_values(kube_node_info, job)"}
    lines = dashboards.live_report(prometheus, [_write(tmp_path, board)], PROVISIONED, [], "1s")
    assert len(lines) == 2, lines  # $job, and $node that is chained on it; no panel lines
    assert any("(variable job)" in line and "$job resolves to no value" in line
               and "label_values(kube_node_info, job)" in line for line in lines)
    assert not any("returns no data" in line for line in lines)


def test_a_dashboard_a_team_adds_to_stack_gets_findings_about_itself_only(
    stack_copy: Path
) -> None:
    board = node_exporter_like()
    board["__inputs"] = [{"name": "DS_PROMETHEUS", "type": "datasource",
                          "pluginId": "prometheus"}]
    board["templating"]["list"] = board["templating"]["list"][1:]
    added = stack_copy / "grafana" / "dashboards" / "node-exporter-full.json"
    added.write_text(json.dumps(board).replace("${ds_prometheus}", "${DS_PROMETHEUS}"))
    provisioned = dashboards.provisioned_datasources(stack_copy / "grafana" / "provisioning")
    files = dashboards.dashboard_files(stack_copy / "grafana")
    assert added in files
    findings = {path.name: dashboards.summarise(dashboards.static_problems(path, provisioned))
                for path in files}
    assert len(findings.pop(added.name)) == 1  # one clear problem: exported for sharing
    assert all(lines == [] for lines in findings.values()), findings


def test_a_variable_of_a_datasource_not_asked_is_unchecked_not_a_problem() -> None:
    board = {"templating": {"list": [
        {"name": "app", "type": "query", "datasource": {"type": "loki", "uid": "loki"},
         "query": "label_values(app)"},
        {"name": "env", "type": "custom", "query": "prod"},
    ]}}
    resolved = grafana_vars.resolve_variables(board, PROVISIONED, prometheus=None, loki=None)
    assert resolved.problems == {}
    assert resolved.unchecked == {"app": "$app reads loki datasource, which this check does "
                                         "not ask"}
    assert resolved.values == {"env": "prod"}
