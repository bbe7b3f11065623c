"""The process backend with real binaries: start, readiness, failures, teardown."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from obsharness import dashboards
from obsharness.clients.prometheus import PrometheusClient
from obsharness.errors import (
    ComponentDiedError,
    ComponentStartError,
    ComponentUnavailableError,
    ConfigError,
    PortInUseError,
)
from obsharness.ports import is_free
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import Manifest, load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.waiting import eventually
from tests.helpers import assert_all_gone

pytestmark = pytest.mark.slow


@pytest.fixture
def sinks() -> Iterator[dict[str, str]]:
    """The harness's receivers Alertmanager needs: webhook and mail relay."""
    with WebhookSink() as webhook, SmtpSink() as smtp:
        yield {"alert-webhook": webhook.address, "mail-relay": smtp.address}


def test_full_stack_starts_ready_and_stops_clean(
    manifest: Manifest, tmp_path: Path, sinks: dict[str, str]
) -> None:
    stack = ProcessStack(manifest, tmp_path, time_scale=60,
                         sink_addresses=sinks)
    with stack:
        pids = stack.pids()
        # Grafana is optional and absent here: it is left out, with its reason kept.
        assert set(pids) == set(manifest.components) - set(stack.unavailable)
        assert all(manifest.component(n).optional for n in stack.unavailable)
        for name in pids:
            url = stack.url(name)
            assert url.startswith("http://127.0.0.1:")
        assert requests.get(stack.url("prometheus") + "/-/ready", timeout=5).status_code == 200
        assert requests.get(stack.url("alertmanager") + "/-/ready", timeout=5).status_code == 200
        assert requests.get(stack.url("flask-app") + "/health", timeout=5).json()["status"] == "ok"
        assert (tmp_path / "stack.json").is_file()
        ports = dict(stack.ports)
    assert_all_gone(pids.values())
    assert all(is_free(p) for p in ports.values())
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "stack.json").exists()
    assert (tmp_path / "logs" / "prometheus.log").stat().st_size > 0  # evidence stays


def test_component_exiting_at_start_fails_at_once_with_its_log(
    stack_copy: Path, tmp_path: Path, sinks: dict[str, str]
) -> None:
    manifest_path = stack_copy / "stack.yaml"
    manifest_path.write_text(manifest_path.read_text().replace('"app:app"', '"no_such_module:app"'))
    broken = load_manifest(manifest_path)
    stack = ProcessStack(broken, tmp_path, time_scale=60,
                         sink_addresses=sinks, start_timeout=60)
    began = time.monotonic()
    with pytest.raises(ComponentStartError) as caught:
        stack.start()
    assert time.monotonic() - began < 20, "a dead component must not wait for the timeout"
    message = str(caught.value)
    assert message.startswith("flask-app: exited with code")
    assert "no_such_module" in message
    assert str(tmp_path / "logs" / "flask-app.log") in message
    assert_all_gone([e.pid for e in stack.executors.values() if e.pid])


def test_port_in_use_names_component_port_and_holder(
    manifest: Manifest, tmp_path: Path, sinks: dict[str, str]
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        stack = ProcessStack(manifest, tmp_path, time_scale=60, fixed_ports={"prometheus": port},
                             sink_addresses=sinks)
        with pytest.raises(PortInUseError) as caught:
            stack.start()
    message = str(caught.value)
    assert message.startswith(f"prometheus: port 127.0.0.1:{port} is already in use by pid ")
    assert "--stack-port" in message
    assert not stack.executors  # nothing was started


def test_missing_binary_makes_the_component_unavailable(
    manifest: Manifest, tmp_path: Path, sinks: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSHARNESS_ALERTMANAGER_BIN", str(tmp_path / "missing-alertmanager"))
    stack = ProcessStack(manifest, tmp_path, time_scale=60,
                         sink_addresses=sinks)
    with pytest.raises(ComponentUnavailableError) as caught:
        stack.start()
    assert caught.value.component == "alertmanager"
    assert "OBSHARNESS_ALERTMANAGER_BIN" in str(caught.value)
    assert not stack.executors


def test_a_component_that_dies_later_is_reported(manifest: Manifest, tmp_path: Path) -> None:
    with ProcessStack(manifest, tmp_path, time_scale=60, only=["flask-app"]) as stack:
        stack.check_alive()
        stack.executors["flask-app"].kill()  # dies by itself, not as a planned fault
        with pytest.raises(ComponentDiedError, match="flask-app: exited with code -9"):
            stack.check_alive()
        stack.kill("flask-app")  # a planned crash is not an error...
        stack.check_alive()
        stack.restore()  # ...and the next scenario gets it back
        assert stack.executors["flask-app"].is_running()


def test_only_pulls_in_dependencies(manifest: Manifest, tmp_path: Path, sinks: dict[str, str]) -> None:
    stack = ProcessStack(manifest, tmp_path, time_scale=60, only=["alertmanager"],
                         sink_addresses=sinks)
    assert [c.name for c in stack.selected] == ["alertmanager"]
    with stack:
        assert stack.components() == ["alertmanager"]
    assert_all_gone([stack.executors["alertmanager"].pid or 0])


def test_use_only_parks_the_alternatives_until_chosen_again(manifest: Manifest,
                                                             tmp_path: Path) -> None:
    """One log agent at a time: the other is parked, and restore() leaves it parked."""
    with ProcessStack(manifest, tmp_path, time_scale=60, only=["flask-app", "node-app"]) as stack:
        pair = ["flask-app", "node-app"]
        stack.use_only("node-app", pair)
        assert not stack.executors["flask-app"].is_running()
        stack.check_alive()  # parked is not dead
        stack.restore()
        assert not stack.executors["flask-app"].is_running()
        assert requests.get(stack.url("node-app") + "/health", timeout=5).ok
        stack.use_only("flask-app", pair)
        assert stack.executors["flask-app"].is_running()
        assert not stack.executors["node-app"].is_running()
        assert requests.get(stack.url("flask-app") + "/health", timeout=5).ok


def test_reload_takes_changed_files_in_place_and_refuses_a_broken_one(
    stack_copy: Path, tmp_path: Path, sinks: dict[str, str]
) -> None:
    """What `obsharness mutate` relies on: Prometheus through /-/reload, returning only
    once it scrapes the new targets; an app by a restart on its port; a file the tools
    reject raises ConfigError and leaves the running config alone."""
    manifest = load_manifest(stack_copy / "stack.yaml")
    with ProcessStack(manifest, tmp_path / "run", time_scale=60, sink_addresses=sinks,
                      only=["prometheus", "flask-app"]) as stack:
        prometheus = stack.url("prometheus")
        config = stack_copy / "prometheus" / "prometheus.yml"
        config.write_text(config.read_text().replace(
            "  - job_name: flask-app\n", "  - job_name: flask-app\n    metrics_path: /metricsx\n", 1))
        started = stack.pids()
        stack.reload(["prometheus", "alertmanager"])
        # Reloaded, not restarted: Alertmanager keeps its silences and notification log.
        assert stack.pids()["prometheus"] == started["prometheus"]
        assert stack.pids()["alertmanager"] == started["alertmanager"]
        targets = requests.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]
        [flask] = [t for t in targets["activeTargets"] if t["labels"]["job"] == "flask-app"]
        assert flask["discoveredLabels"]["__metrics_path__"] == "/metricsx"
        assert flask["health"] == "down"  # already scraped with the new path

        port, app_pid = stack.ports["flask-app"], stack.pids()["flask-app"]
        stack.reload(["flask-app"])
        assert stack.pids()["flask-app"] != app_pid
        assert stack.ports["flask-app"] == port
        assert requests.get(stack.url("flask-app") + "/health", timeout=5).ok

        rules = stack_copy / "prometheus" / "rules" / "alerts.yml"
        rules.write_text(rules.read_text().replace("for: 1m", "for: 1m)", 1))
        with pytest.raises(ConfigError, match="(?s)prometheus.*promtool"):
            stack.reload(["prometheus"])
        assert requests.get(f"{prometheus}/-/ready", timeout=5).ok


def test_a_recording_rule_deleted_or_misspelt_by_a_reload_leaves_its_panels_empty_at_once(
    stack_copy: Path, tmp_path: Path, sinks: dict[str, str]
) -> None:
    """The campaign's old survivors: after the reload, the panel check must not see the
    old rule's last sample. Prometheus marks it stale at the new group's first
    evaluation, which reload() waits for; the lookback delta is scaled besides."""
    manifest = load_manifest(stack_copy / "stack.yaml")
    rules = stack_copy / "prometheus" / "rules" / "recording.yml"
    business = [stack_copy / "grafana" / "dashboards" / "business.json"]
    datasources = dashboards.provisioned_datasources(stack_copy / "grafana" / "provisioning")
    with ProcessStack(manifest, tmp_path / "run", time_scale=60, sink_addresses=sinks,
                      only=["prometheus", "flask-app"]) as stack:
        prometheus = PrometheusClient(stack.url("prometheus"))
        flags = requests.get(stack.url("prometheus") + "/api/v1/status/flags", timeout=5).json()
        assert flags["data"]["query.lookback-delta"] == "5s"  # 5m / 60
        assert flags["data"]["rules.alert.resend-delay"] == "1s"

        def empty_panels() -> str:
            requests.get(stack.url("flask-app") + "/", timeout=5)
            return "\n".join(dashboards.live_report(prometheus, business, datasources,
                                                    ["flask-app"], "1s"))

        # The summary names panels by title (the e2e one needs node-app: empty here).
        eventually(empty_panels, lambda text: "Throughput (all services)" not in text
                   and "Availability (all services)" not in text,
                   timeout=30, interval=0.2, what="the global panels drawing flask-app's load")
        text = rules.read_text()
        deleted = "      - record: global:http_requests:rate5m\n" \
                  "        expr: sum(rate(http_requests_total[5m]))\n"
        assert deleted in text
        text = text.replace(deleted, "")
        text = text.replace('sum(rate(http_requests_total{status=~"5.."}[5m]))',
                            'sum(rate(http_requsts_total{status=~"5.."}[5m]))', 1)
        rules.write_text(text)
        stack.reload(["prometheus"])
        after = empty_panels()  # no wait: the reload is only over once the rules evaluated
        assert "'Throughput (all services)'" in after, after
        assert "'Availability (all services)'" in after, after
