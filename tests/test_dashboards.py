"""Dashboard checks, each proven by a mutation of a copy of a real dashboard."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsharness import dashboards
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import ConfigError
from obsharness.load import TrafficGenerator
from obsharness.scenario import wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import load_manifest
from obsharness.stack.process import ProcessStack

GRAFANA = Path(__file__).resolve().parents[1] / "stack" / "grafana"
DATASOURCES = dashboards.provisioned_datasources(GRAFANA / "provisioning")


def _mutate(tmp_path: Path, name: str, old: str, new: str) -> Path:
    source = (GRAFANA / "dashboards" / name).read_text()
    assert old in source, old
    copy = tmp_path / name
    copy.write_text(source.replace(old, new, 1))
    return copy


def test_every_dashboard_under_stack_passes_every_static_check() -> None:
    # Whatever dashboards the team keeps there: the check is about them, not a fixed list.
    files = dashboards.dashboard_files(GRAFANA)
    assert files
    for path in files:
        assert dashboards.static_problems(path, DATASOURCES) == [], path


def test_wrong_datasource_uid_is_named_with_file_panel_and_query(tmp_path: Path) -> None:
    data = json.loads((GRAFANA / "dashboards" / "business.json").read_text())
    data["panels"][0]["targets"][0]["datasource"]["uid"] = "prometheus-old"
    copy = tmp_path / "business.json"
    copy.write_text(json.dumps(data))
    problems = [str(p) for p in dashboards.static_problems(copy, DATASOURCES)]
    assert any(f"{copy}: panel 'Requests per endpoint': datasource uid 'prometheus-old' is not "
               "provisioned" in p and "service:http_requests_by_route:rate5m" in p
               for p in problems), problems


def test_wrong_datasource_uid_of_a_variable_is_named(tmp_path: Path) -> None:
    copy = _mutate(tmp_path, "business.json", '"uid": "prometheus"', '"uid": "prom"')
    problems = [str(p) for p in dashboards.static_problems(copy, DATASOURCES)]
    assert problems == [f"{copy}: panel '(variable service)': datasource uid 'prom' is not "
                        "provisioned (provisioned: alertmanager, loki, prometheus) "
                        "(query: label_values(http_requests_total, service))"]


def test_undefined_variable_is_named(tmp_path: Path) -> None:
    copy = _mutate(tmp_path, "application.json", 'service:http_errors:ratio_rate5m{service=~\\"$service\\"}',
                   'service:http_errors:ratio_rate5m{service=~\\"$svc\\"}')
    problems = [str(p) for p in dashboards.static_problems(copy, DATASOURCES)]
    assert problems == [f"{copy}: panel 'Error ratio': undefined template variable(s) svc "
                        '(query: service:http_errors:ratio_rate5m{service=~"$svc"})']


def test_missing_unit_duplicate_id_and_bad_grid_are_advice(tmp_path: Path) -> None:
    data = json.loads((GRAFANA / "dashboards" / "system.json").read_text())
    data["panels"][0]["fieldConfig"]["defaults"]["unit"] = ""
    data["panels"][1]["id"] = data["panels"][0]["id"]
    del data["panels"][2]["gridPos"]["w"]
    copy = tmp_path / "system.json"
    copy.write_text(json.dumps(data))
    found = dashboards.static_problems(copy, DATASOURCES)
    advice = {p.message: p.advice for p in found}
    # Grafana draws each of these panels: advice with dashboard-linter's rule, not errors.
    assert advice["a graph without a unit (fieldConfig.defaults.unit)"] == "panel-units"
    assert advice["panel id 1 is also used by 'CPU busy'"] == "panel-ids"
    assert [r for m, r in advice.items() if m.startswith("gridPos needs integer")] == \
        ["grid-position"]
    assert dashboards.split(found)[0] == []


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    copy = _mutate(tmp_path, "system.json", '"schemaVersion": 39,', '"schemaVersion": 39,,')
    with pytest.raises(ConfigError, match=r"system\.json:\d+ is invalid \(checked with JSON\)"):
        dashboards.load(copy)


def test_promql_syntax_error_is_caught_by_the_real_parser(tmp_path: Path) -> None:
    copy = _mutate(tmp_path, "system.json", "1 - node_memory_MemAvailable_bytes",
                   "1 - node_memory_MemAvailable_bytes)")
    problems = dashboards.promql_problems(dashboards.queries(copy, dashboards.load(copy)))
    assert len(problems) == 1
    assert problems[0].panel == "Memory used"
    assert "PromQL does not parse" in problems[0].message


@pytest.fixture(scope="module")
def loaded_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    manifest = load_manifest(GRAFANA.parent / "stack.yaml")
    with WebhookSink() as hook, SmtpSink() as mail, ProcessStack(
        manifest, tmp_path_factory.mktemp("dash"), time_scale=60,
        sink_addresses={"alert-webhook": hook.address, "mail-relay": mail.address},
    ) as stack:
        client = PrometheusClient(stack.url("prometheus"))
        wait_for_targets(client, set(stack.rendered.scrape_jobs), timeout=30)
        generators = [TrafficGenerator(stack.url(app), rate_per_s=10).start()
                      for app in ("flask-app", "node-app", "fastapi-app")]
        try:
            time.sleep(6)  # a full 5s window of traffic at time scale 60
            yield client
        finally:
            for generator in generators:
                generator.stop()


@pytest.mark.slow
def test_metric_name_typo_is_caught_by_the_live_check(
    tmp_path: Path, loaded_prometheus: PrometheusClient
) -> None:
    services = ["flask-app", "node-app", "fastapi-app"]
    original = dashboards.queries(GRAFANA / "dashboards" / "application.json",
                                  dashboards.load(GRAFANA / "dashboards" / "application.json"))
    assert dashboards.live_problems(loaded_prometheus, original, services, "1s") == []
    copy = _mutate(tmp_path, "application.json", "service:http_requests:rate5m",
                   "service:http_request:rate5m")
    problems = dashboards.live_problems(
        loaded_prometheus, dashboards.queries(copy, dashboards.load(copy)), services, "1s")
    assert [str(p) for p in problems] == [
        f"{copy}: panel 'Throughput': returns no data for service {s} "
        f'(query: service:http_request:rate5m{{service=~"{s}"}})' for s in services
    ]
