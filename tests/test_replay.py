"""Series replay: promtool's notation, the synthetic targets through a real Prometheus
and Alertmanager, `obsharness replay` on the sample's own tests and on a test file it
must fail, and the healthy stack's silence."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsharness import quiet, rule_health
from obsharness.binaries import resolve
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.replay import rates
from obsharness.replay.notation import MISSING, STALE, NotationError, expand, parse_series
from obsharness.replay.session import Replay
from obsharness.replay.targets import SD_DIR, ReplayServer, group_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.timing import TimeScaler
from obsharness.waiting import ConditionBroken, eventually

ROOT = Path(__file__).resolve().parents[1]


# --- promtool's notation ---------------------------------------------------------------
def test_expanding_notation_as_promtool_documents_it() -> None:
    # The examples of promtool's own documentation (unit_testing_rules.md).
    assert expand("-2+4x3") == [-2, 2, 6, 10]
    assert expand(" 1-2x4") == [1, -1, -3, -5, -7]
    assert expand("1x3") == [1, 1, 1, 1]
    assert expand("_ _x2 stale 5") == [MISSING, MISSING, MISSING, STALE, 5]
    assert expand("1.5e9x1 Inf") == [1.5e9, 1.5e9, float("inf")]


def test_rows_keep_exactly_their_labels_and_bad_rows_are_named() -> None:
    row = parse_series('node_filesystem_avail_bytes{job="node",mountpoint="/"}', "1x2")
    assert row.name == "node_filesystem_avail_bytes"
    assert dict(row.labels) == {"job": "node", "mountpoint": "/"}
    with pytest.raises(NotationError, match=r"native histogram.*classic _bucket"):
        parse_series("http_request_duration_seconds", "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}")
    with pytest.raises(NotationError, match=r"'up\{x=~\"a\"\}'.*must be given with ="):
        parse_series('up{x=~"a"}', "1")
    with pytest.raises(NotationError, match=r"'1y2' in values"):
        parse_series("up", "1y2")
    with pytest.raises(NotationError, match="UTF-8 metric or label name"):
        group_targets([parse_series('{"my.metric", a="b"}', "1")], prefix="t")
    with pytest.raises(NotationError, match="given twice"):
        group_targets([parse_series('a{b="c"}', "1"), parse_series('a{b="c"}', "2")], prefix="t")
    with pytest.raises(NotationError, match="up comes from the scrape"):
        group_targets([parse_series('up{job="x"}', "1 _ 0")], prefix="t")


_TOKEN = st.one_of(
    st.builds(lambda a, b, n: f"{a}+{b}x{n}", st.integers(-50, 50), st.integers(0, 9),
              st.integers(0, 4)),
    st.builds(lambda a, b, n: f"{a}-{b}x{n}", st.integers(-50, 50), st.integers(0, 9),
              st.integers(0, 4)),
    st.builds(lambda a, n: f"{a}x{n}", st.integers(-50, 50), st.integers(0, 4)),
    st.integers(-100, 100).map(str),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TOKEN, min_size=1, max_size=4))
def test_expansion_agrees_with_promtool(tokens: list[str]) -> None:
    """promtool is the judge: each expanded sample is what promtool's own test sees at
    that step."""
    values = " ".join(tokens)
    samples = expand(values)
    tests = [{"expr": "m", "eval_time": f"{k}m",
              "exp_samples": [{"labels": "m", "value": v}]} for k, v in enumerate(samples)]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rules.yml").write_text("groups: []\n")
        test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": [{"series": "m", "values": values}],
                           "promql_expr_test": tests}]}
        (Path(tmp) / "t.test.yml").write_text(yaml.safe_dump(test))
        done = subprocess.run([str(resolve("promtool").path), "test", "rules", "t.test.yml"],
                              cwd=tmp, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{values!r} -> {samples}: {done.stdout}{done.stderr}"


def test_counters_read_per_second_are_told_apart_from_per_window() -> None:
    found = rates.readings([
        ("HighCPU", "rate(process_cpu_seconds_total[2m]) > 0.8"),
        ("Burst", "increase(app_failed_logins_total[5m]) > 20"),
        ("Ratio", "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m]))"),
        ("Both", "rate(x_total[1m]) > 1 or increase(x_total[5m]) > 9"),
    ])
    assert found.scaled == {"process_cpu_seconds_total", "errors_total", "requests_total"}
    assert found.conflicting == {"x_total": {"Both"}}


# --- through a real Prometheus and Alertmanager ---------------------------------------
class FlakyTarget:
    """A scrape target on 127.0.0.1 that answers at once, slower than any compressed
    timeout ("slow"), or with an error ("error")."""

    def __init__(self) -> None:
        self.mode = "fast"
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if target.mode == "slow":
                    time.sleep(0.6)
                code = 500 if target.mode == "error" else 200
                body = b"flaky_answers 1\n"
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyTarget:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky() -> Iterator[FlakyTarget]:
    with FlakyTarget() as target:
        yield target


@pytest.fixture
def pipeline(stack_copy: Path, tmp_path: Path,
             flaky: FlakyTarget) -> Iterator[tuple[ProcessStack, WebhookSink]]:
    (stack_copy / "prometheus" / "rules" / "noisy.yml").write_text(NOISY)
    config = stack_copy / "prometheus" / "prometheus.yml"
    data = yaml.safe_load(config.read_text())
    data["scrape_configs"].append({"job_name": "flaky",
                                   "static_configs": [{"targets": [flaky.address]}]})
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    with WebhookSink() as webhook, SmtpSink() as smtp, ProcessStack(
            load_manifest(stack_copy / "stack.yaml"), tmp_path / "run", time_scale=60,
            sink_addresses={"alert-webhook": webhook.address, "mail-relay": smtp.address},
            only=["prometheus", "alertmanager"]) as stack:
        yield stack, webhook


NOISY = """\
groups:
  - name: always
    rules:
      - alert: ConnectionsAlwaysLow
        # No service label: the quiet wait once ignored such an alert for ever.
        expr: vector(3) > 1
        labels: {severity: critical}
      - alert: FlakyScrapes
        # ServiceDown's shape: one failed scrape in the window is below 99%.
        expr: avg_over_time(up{job="flaky"}[5m]) < 0.99
      - record: instance:replayed_joined:ratio
        # Fine on no data, many-to-many on the data replayed below.
        expr: replayed_left * on (instance) replayed_right
"""


@pytest.mark.slow
def test_replayed_targets_serve_labels_exactly_and_up_from_the_scrape(
        pipeline: tuple[ProcessStack, WebhookSink]) -> None:
    stack, _ = pipeline
    prometheus = PrometheusClient(stack.url("prometheus"))
    sd_dir = stack.rendered.configs["prometheus"].parent / SD_DIR
    rows = [parse_series('replayed_free_bytes{mountpoint="/"}', "5x40"),
            parse_series('up{job="db",instance="db-1",team="data"}', "1x3 0x40"),
            parse_series('pg_up{job="db",instance="db-1"}', "1x40")]
    with ReplayServer(sd_dir) as server:
        replay = Replay(server, rows, 60_000, TimeScaler(60), name="labels")
        replay.start()
        try:
            free = eventually(lambda: prometheus.query("replayed_free_bytes"), bool,
                              what="the replayed series", timeout=10).value
            # No job, no instance: exactly the row's labels, as promtool's exp_labels.
            assert free[0].labels == {"__name__": "replayed_free_bytes", "mountpoint": "/"}
            up = eventually(lambda: prometheus.query('up{job="db"} == 0'), bool,
                            what="up 0 from the failed scrape", timeout=15).value
            assert up[0].labels == {"__name__": "up", "job": "db", "instance": "db-1",
                                    "team": "data"}
            # The target's other series went stale with it, as a down target's do.
            assert prometheus.query('pg_up{job="db"}') == []
        finally:
            replay.stop()


@pytest.mark.slow
def test_the_silence_check_names_an_always_firing_alert_without_a_service_label(
        pipeline: tuple[ProcessStack, WebhookSink], stack_copy: Path) -> None:
    stack, _ = pipeline
    prometheus = PrometheusClient(stack.url("prometheus"))
    alertmanager = AlertmanagerClient(stack.url("alertmanager"))
    exemptions = quiet.load_exemptions(stack_copy)
    assert any(e.alert == "Watchdog" for e in exemptions)
    with pytest.raises(ConditionBroken, match=r"(?s)ConnectionsAlwaysLow \{'severity': "
                       r"'critical'\} is firing.*`vector\(3\) > 1` is now 3"):
        quiet.assert_silent(prometheus, alertmanager, exemptions, duration_s=15, grace_s=0.5)
    # The quiet wait before every scenario's fault sees it too (no `service` label).
    from obsharness.scenario import Quiescence

    waiting_for = Quiescence(prometheus, alertmanager, stack.rendered.timing, exemptions)
    assert any(a.startswith("prometheus:ConnectionsAlwaysLow") for a in waiting_for._active())


@pytest.mark.slow
def test_an_up_alert_on_scrapes_cut_off_by_the_compressed_timeout_is_named_not_failed(
        pipeline: tuple[ProcessStack, WebhookSink], stack_copy: Path,
        flaky: FlakyTarget) -> None:
    """A busy machine that misses a 250 ms timeout (10 s in production) fired ServiceDown
    in a CI run's silence scenario: Prometheus' own scrape_duration_seconds of the failed
    scrapes tells a cut-off scrape from a target that failed; only the first is excused."""
    stack, _ = pipeline
    prometheus = PrometheusClient(stack.url("prometheus"))
    alertmanager = AlertmanagerClient(stack.url("alertmanager"))
    timing = stack.rendered.timing
    assert timing.production_timeout_ms["flaky"] == 10_000
    exemptions = [*quiet.load_exemptions(stack_copy),
                  quiet.Exemption("ConnectionsAlwaysLow", (), "written to fire")]
    eventually(lambda: prometheus.query('up{job="flaky"} == 1'), bool,
               what="the flaky target scraped", timeout=15)
    flaky.mode = "slow"
    eventually(lambda: prometheus.query('up{job="flaky"} == 0'), bool,
               what="a scrape cut off by the timeout", timeout=10)
    flaky.mode = "fast"
    eventually(lambda: [a for a in prometheus.alerts()
                        if a.labels.get("alertname") == "FlakyScrapes"
                        and a.state == "firing"], bool, what="FlakyScrapes firing", timeout=10)
    with pytest.warns(quiet.CompressedTimeoutWarning,
                      match=r"FlakyScrapes .* scrapes of flaky .* timed out at 250 ms "
                            r"\(its production timeout is 10 s\)"):
        quiet.assert_silent(prometheus, alertmanager, exemptions, duration_s=1, grace_s=0.5,
                            timing=timing)
    # Where the team's own timeout is that short, the timeout is real: not excused.
    with pytest.raises(ConditionBroken, match="FlakyScrapes"):
        quiet.assert_silent(prometheus, alertmanager, exemptions, duration_s=1, grace_s=0.5,
                            timing=dataclasses.replace(
                                timing, production_timeout_ms={"flaky": 250}))
    # A target that answers with an error failed by itself: not excused either.
    flaky.mode = "error"
    eventually(lambda: prometheus.query('up{job="flaky"} == 0 and on () '
                                        'scrape_duration_seconds{job="flaky"} < 0.2'), bool,
               what="a scrape failed by the target's error", timeout=10)
    with pytest.raises(ConditionBroken, match=r"FlakyScrapes .* is firing"):
        quiet.assert_silent(prometheus, alertmanager, exemptions, duration_s=1, grace_s=0.5,
                            timing=timing)


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "obsharness.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_obsharness_replay_is_green_on_the_samples_own_promtool_tests(tmp_path: Path) -> None:
    out = tmp_path / "replay.json"
    done = _cli("replay", "--parallel", "8", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["replayed"] == 15, result
    assert result["differences"] == 0, result
    fired = {(d["alertname"], tuple(d["receivers"])) for t in result["tests"]
             for d in t["deliveries"]}
    assert ("ServiceDown", ("oncall-critical",)) in fired
    assert ("HighLatency", ("oncall-webhook",)) in fired


@pytest.mark.slow
def test_obsharness_replay_fails_a_test_the_pipeline_contradicts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.test.yml"
    bad.write_text(yaml.safe_dump({"rule_files": [str(ROOT / "stack/prometheus/rules/alerts.yml")],
                                   "evaluation_interval": "15s", "tests": [{
        "name": "LoginFailuresBurst with the wrong labels",
        "interval": "15s",
        "input_series": [{"series": 'app_failed_logins_total{service="node-app"}',
                          "values": "0+3x20"}],
        "alert_rule_test": [
            {"eval_time": "4m", "alertname": "LoginFailuresBurst",
             "exp_alerts": [{"exp_labels": {"service": "node-app", "severity": "critical"}}]},
            {"eval_time": "4m", "alertname": "HighErrorRate", "exp_alerts": []}]}]}))
    out = tmp_path / "replay.json"
    done = _cli("replay", str(bad), "--json", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "bad.test.yml: test 'LoginFailuresBurst with the wrong labels', " \
           "LoginFailuresBurst at 4m: expected firing ['{service=node-app, severity=critical}']" \
           in done.stdout, done.stdout
    assert "the real Prometheus had ['{service=node-app, severity=warning, team=platform}']" \
           in done.stdout, done.stdout
    assert json.loads(out.read_text())["differences"] >= 1


@pytest.mark.slow
def test_rule_health_names_a_join_that_is_many_to_many_only_on_real_data(
        pipeline: tuple[ProcessStack, WebhookSink]) -> None:
    stack, _ = pipeline
    prometheus = PrometheusClient(stack.url("prometheus"))
    eventually(lambda: rule_health.evaluated(prometheus), bool, what="rules evaluated",
               timeout=10)
    assert rule_health.unhealthy(prometheus, stack.run_dir, stack.manifest.stack_dir) == []
    rows = [parse_series(f'replayed_{side}{{instance="a",{side}="{n}"}}', "1x40")
            for side in ("left", "right") for n in (1, 2)]
    sd_dir = stack.rendered.configs["prometheus"].parent / SD_DIR
    with ReplayServer(sd_dir) as server:
        replay = Replay(server, rows, 60_000, TimeScaler(60), name="join")
        replay.start()
        try:
            found = eventually(
                lambda: rule_health.unhealthy(prometheus, stack.run_dir,
                                              stack.manifest.stack_dir),
                bool, what="the join's error", timeout=10).value
        finally:
            replay.stop()
    assert len(found) == 1, found
    assert found[0].startswith("stack/prometheus/rules/noisy.yml: group 'always', rule "
                               "'instance:replayed_joined:ratio' is err: "), found
    assert "many-to-many" in found[0], found


def test_rules_elsewhere_write_keeps_comments_and_entries(tmp_path: Path) -> None:
    from obsharness import rules_elsewhere

    path = tmp_path / "rules_elsewhere.yml"
    path.write_text("# why this file exists\nallow:\n  - rule: Kept\n    reason: clusters only\n")
    rules_elsewhere.write(path, [{"rule": "HostOutOfMemory",
                                  "reason": "reads node_memory_MemAvailable_bytes, which no "
                                  "target of this stack exposes (generated; say why)"}])
    text = path.read_text()
    assert text.startswith("# why this file exists\n"), text
    data = yaml.safe_load(text)
    assert [e["rule"] for e in data["allow"]] == ["Kept", "HostOutOfMemory"]


class _Prometheus:
    """What ReachCheck asks: which selectors have series, and the metric names."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def query(self, promql: str) -> list[object]:
        inner = promql.removeprefix("count(last_over_time(").removesuffix("[1m]))")
        return [object()] if inner in self.names else []

    def label_values(self, label: str) -> list[str]:
        assert label == "__name__"
        return self.names


def test_a_missing_metric_is_named_with_the_closest_real_names_and_its_collector() -> None:
    from obsharness.rule_reach import Rule, unreachable_rules

    rule = Rule("stack/prometheus/rules/pg.yml", "pg", "PostgresqlTooManyConnections", "alert",
                "sum(pg_stat_activity_cnt) > 80")
    found = unreachable_rules(_Prometheus(["pg_stat_activity_count", "pg_up"]),  # type: ignore[arg-type]
                              [rule], {})
    assert len(found) == 1
    assert "no series of metric pg_stat_activity_cnt" in found[0].reason
    assert "did you mean pg_stat_activity_count?" in found[0].reason
    assert "postgres_exporter's stat_activity collector" in found[0].reason


def test_mutants_of_rules_allowed_elsewhere_are_out_of_reach_with_the_reason(
        tmp_path: Path) -> None:
    from obsharness.mutation.campaign import _allowed_elsewhere
    from obsharness.mutation.model import Mutant

    (tmp_path / "stack" / "prometheus").mkdir(parents=True)
    (tmp_path / "stack" / "stack.yaml").write_text("version: 1\n")
    (tmp_path / "stack" / "prometheus" / "rules_elsewhere.yml").write_text(
        "allow:\n  - rule: HostOutOfMemory\n    reason: for the Kubernetes nodes\n")
    mutant = Mutant("rules", "threshold", "stack/prometheus/rules/fleet.yml",
                    "HostOutOfMemory: < 10 becomes < 100", "a", "b",
                    subjects=("HostOutOfMemory", "node_memory_MemAvailable_bytes"))
    assert _allowed_elsewhere(mutant, tmp_path) == ("HostOutOfMemory",
                                                    "for the Kubernetes nodes")
    other = Mutant("rules", "threshold", "stack/prometheus/rules/alerts.yml",
                   "HighCPU: x", "a", "b", subjects=("HighCPU",))
    assert _allowed_elsewhere(other, tmp_path) is None


def test_scrape_needs_live_in_the_projects_own_cache(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from obsharness import scrape_needs

    monkeypatch.delenv("OBSHARNESS_SCRAPE_NEEDS")
    assert scrape_needs.path_for(ROOT / "stack") == \
        ROOT / ".cache" / "obsharness" / "scrape-needs.json"
    (tmp_path / "obsharness.yaml").write_text("version: 1\n")  # a team's, at its root
    assert scrape_needs.path_for(tmp_path) == tmp_path / ".cache/obsharness/scrape-needs.json"


def test_a_job_measured_slow_keeps_a_timeout_above_its_need(stack_copy: Path,
                                                            tmp_path: Path) -> None:
    from obsharness import scrape_needs
    from obsharness.errors import TimeCompressionFloorWarning
    from obsharness.stack.render import render_stack
    from tests.test_render import ADDRESSES

    scrape_needs.record(stack_copy, {"postgres": 1.0, "node": 0.01})
    with pytest.warns(TimeCompressionFloorWarning,
                      match=r"job postgres was measured answering in 1 s; its timeout keeps "
                            r"1\.5 times that, and its interval rises to 1s500ms"):
        rendered = render_stack(load_manifest(stack_copy / "stack.yaml"), tmp_path / "run",
                                addresses=ADDRESSES, time_scale=60)
    config = yaml.safe_load(rendered.configs["prometheus"].read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert jobs["postgres"]["scrape_timeout"] == "1s500ms"
    assert jobs["postgres"]["scrape_interval"] == "1s500ms"
    assert "scrape_timeout" not in jobs["node"]  # 10 ms needs no floor
    assert rendered.timing.scrape_interval_ms == 1500  # waits and lookback follow it


@pytest.mark.slow
def test_a_scrape_close_to_its_timeout_is_measured_and_a_fast_one_is_not(
        pipeline: tuple[ProcessStack, WebhookSink]) -> None:
    """A replayed exporter answering in 0.8 s under a 1 s timeout is at risk; Prometheus
    and Alertmanager, answering in milliseconds, are not."""
    from obsharness import scrape_needs

    stack, _ = pipeline
    prometheus = PrometheusClient(stack.url("prometheus"))
    config = stack.rendered.configs["prometheus"]
    jobs = scrape_needs.rendered_jobs(config)
    # The replay job is not the team's; `flaky` is the pipeline's own static target.
    assert set(jobs) == {"prometheus", "alertmanager", "flaky"}
    assert jobs["prometheus"][0] == 0.25  # min(10s, the 250ms compressed interval)
    with ReplayServer(config.parent / SD_DIR) as server:
        replay = Replay(server, [parse_series('slow_up{job="db",instance="db-9"}', "1x20")],
                        60_000, TimeScaler(60), delay_s=0.8, name="slow")
        replay.start()
        try:
            eventually(lambda: prometheus.query('scrape_duration_seconds{job="db"} > 0.7'),
                       bool, what="a slow scrape", timeout=15)
        finally:
            replay.stop()
    jobs["db"] = (1.0, {"db-9"})
    measured = scrape_needs.measure(prometheus, 60, jobs)
    assert set(measured) == {"db"}, measured
    assert 0.8 <= measured["db"] < 1.0


def test_a_replay_adds_its_section_to_the_last_runs_report(tmp_path: Path) -> None:
    from obsharness.replay.command import _refresh_report
    from obsharness.report.results import RunResults

    RunResults(started_at=1.0, backend="process", time_scale=60).save(tmp_path)
    (tmp_path / "replay.json").write_text(json.dumps({"replayed": 1, "differences": 0, "tests": [
        {"file": "alerts.test.yml", "test": "ServiceDown fires", "checks": 2,
         "differences": [], "deliveries": []}]}))
    _refresh_report(tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert "promtool tests replayed end to end (1, 0 difference(s))" in page
    assert "alerts.test.yml: ServiceDown fires" in page


def test_a_test_file_the_replay_cannot_serve_is_a_clear_error_naming_file_and_test(
        tmp_path: Path) -> None:
    from obsharness.errors import ConfigError
    from obsharness.replay.promtool_replay import load_cases

    bad = tmp_path / "histogram.test.yml"
    bad.write_text(yaml.safe_dump({"tests": [{"name": "native", "input_series": [
        {"series": "latency_seconds", "values": "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}"}],
        "alert_rule_test": [{"eval_time": "1m", "alertname": "Slow", "exp_alerts": []}]}, {
        "name": "utf8", "input_series": [{"series": '{"my.metric"}', "values": "1"}],
        "alert_rule_test": [{"eval_time": "1m", "alertname": "X", "exp_alerts": []}]}]}))
    with pytest.raises(ConfigError, match=r"histogram\.test\.yml.*test 'native'.*native "
                                          r"histogram"):
        load_cases([bad])
    data = yaml.safe_load(bad.read_text())
    data["tests"] = data["tests"][1:]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"test 'utf8'.*UTF-8 metric or label name"):
        load_cases([bad])


def test_the_quiet_wait_lasts_as_long_as_the_active_alerts_need_not_the_slowest_rule() -> None:
    """A pack's 1h window (60 s compressed) once made every wait on a stack that never
    quiets last two minutes before saying so."""
    import time as clock
    from types import SimpleNamespace
    from typing import Any, cast

    from obsharness.scenario import Quiescence
    from obsharness.stack.render import Timing
    from obsharness.waiting import WaitTimeout

    firing = SimpleNamespace(labels={"alertname": "Fast", "service": "x"}, state="firing")
    prometheus = SimpleNamespace(alerts=lambda: [firing])
    alertmanager = SimpleNamespace(alerts=lambda active: [])
    timing = Timing(scrape_interval_ms=100, evaluation_interval_ms=100, group_wait_ms=100,
                    group_interval_ms=100, alert_for_ms={"Fast": 0, "Slow": 0},
                    alert_window_ms={"Slow": 3_600_000})
    began = clock.monotonic()
    with pytest.raises(WaitTimeout, match=r"prometheus:Fast\{'service': 'x'\}\(firing\)"):
        Quiescence(cast(Any, prometheus), cast(Any, alertmanager), timing).wait()
    assert clock.monotonic() - began < timing.resolve_deadline_s("Fast") + 2


def test_the_harness_own_tests_never_learn_into_the_projects_cache() -> None:
    # Scenarios run by tests record what their scrapes measured; the project's
    # .cache/obsharness/scrape-needs.json would then change later renders of stack/.
    from obsharness import scrape_needs

    learned = scrape_needs.path_for(ROOT / "stack")
    assert not learned.is_relative_to(ROOT), learned


def test_samples_follow_the_wall_clock_when_scrapes_skip_ticks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A loaded machine's Prometheus skips scrape ticks. A sample per scrape then fell
    behind the wall clock `for` counts (ServiceDown fired a sample early in a CI run) and
    halved a counter's rate over a doubled gap (HighCPU stayed silent in another): a
    skipped tick now skips its sample, as a missed scrape does in production."""
    import obsharness.replay.targets as targets_module

    row = parse_series('cpu_seconds_total{job="app",instance="a:1"}', "0+60x10")
    gauge = parse_series('temperature{job="app",instance="a:1"}', "0+60x10")
    # One sample a production minute at scale 60: a sample a second, the counter slowed.
    slowed = type(row)(row.name, row.labels, tuple(v / 60 for v in row.samples), row.text)
    [target] = group_targets([slowed, gauge], prefix="t", pace_s=1.0)
    times = [100.0, 101.02, 102.98, 104.0, 106.01]  # two ticks skipped, with jitter
    clock = iter(times)
    monkeypatch.setattr(targets_module.time, "time", lambda: next(clock))
    served = []
    for _ in times:
        _, text = target.scrape()
        values = {line.split("{")[0]: float(line.rsplit(" ", 1)[1])
                  for line in text.splitlines()}
        served.append((values["cpu_seconds_total"], values["temperature"]))
    assert [s[1] for s in served] == [0.0, 60.0, 180.0, 240.0, 360.0]  # samples 0 1 3 4 6
    rates = [(served[i][0] - served[i - 1][0]) / (times[i] - times[i - 1]) for i in range(1, 5)]
    assert rates == pytest.approx([1.0] * 4, rel=0.03)  # 60 a minute, whatever the gap
    # A skipped sample is placed at the scrape that served a later one.
    assert [target.sample_time(i) for i in range(7)] == [
        100.0, 101.02, 102.98, 102.98, 104.0, 106.01, 106.01]


def test_an_email_only_receivers_notification_is_told_by_its_subject_status() -> None:
    """A receiver with only email_configs is proven by the mail sink: the email to one of
    its addresses naming the alert, the status its subject gives and the label values."""
    import smtplib
    from email.message import EmailMessage

    from obsharness.steps.replay import _wait_for_email
    from obsharness.waiting import WaitTimeout

    def send(sink: SmtpSink, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "am@corp.example", to, subject
        message.set_content(body)
        host, port = sink.address.rsplit(":", 1)
        with smtplib.SMTP(host, int(port), timeout=10) as client:
            client.send_message(message)

    with SmtpSink() as sink:
        began = time.time() - 1
        send(sink, "dba@corp.example", "[FIRING:1] PostgresqlDown (db-1 critical)",
             "Alerts Firing: PostgresqlDown db-1. Resolved: none")
        firing = _wait_for_email(sink, ["dba@corp.example"], "firing", "PostgresqlDown",
                                 {"instance": "db-1"}, began, timeout=5)
        assert firing.subject.startswith("[FIRING:1]")
        # The firing email's body says "Resolved" too: the subject decides.
        with pytest.raises(WaitTimeout, match=r"about resolved PostgresqlDown .*received so "
                           r"far: .*\[FIRING:1\] PostgresqlDown"):
            _wait_for_email(sink, ["dba@corp.example"], "resolved", "PostgresqlDown",
                            {"instance": "db-1"}, began, timeout=0.5)
        with pytest.raises(WaitTimeout, match="about firing PostgresqlDown"):
            _wait_for_email(sink, ["other@corp.example"], "firing", "PostgresqlDown", {},
                            began, timeout=0.5)
