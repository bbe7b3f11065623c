"""The living documentation: evidence, timelines, plots, HTML, Cucumber embeddings, diagrams."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from obsharness.report import cucumber, diagrams, evidence, html, plot
from obsharness.report.results import RunResults, ScenarioResult, StepResult
from obsharness.report.timeline import Timeline, alert_rules, split_threshold
from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest

from .conftest import STACK

ROOT = Path(__file__).resolve().parent.parent


def _timeline() -> Timeline:
    t0 = 1_800_000_000.0
    points = [(t0 + i, 0.2 if i >= 3 else 0.0) for i in range(10)]
    return Timeline("HighErrorRate", "flask-app", "service:error_ratio", ">", 0.05, points,
                    fault_at=t0 + 2.5, firing_at=t0 + 6, notified_at=t0 + 6.4)


def _results() -> RunResults:
    started = time.time()
    fired = ScenarioResult(
        nodeid="steps/test_scenarios.py::test_alert_fires", feature="Alerting",
        feature_file="features/alerting.feature", name="Errors above 5% page the on-call",
        feature_description="Prometheus evaluates rules, Alertmanager routes.",
        tags=["alerting"], outcome="passed", duration_s=12.3,
        steps=[StepResult("Given", "the observability stack is running", "passed"),
               StepResult("When", "errors are injected into flask-app at 20%", "passed",
                          [{"kind": "fault", "title": "flask-app: {'error_rate': 0.2}",
                            "body": {"at": started}, "at": started, "step": "1", "polls": 1}]),
               StepResult("Then", "a firing HighErrorRate notification reaches the webhook",
                          "passed",
                          [{"kind": "promql", "title": "up", "at": started + 2, "step": "2",
                            "polls": 7, "body": [{"labels": {"job": "x"}, "value": 1.0}]}])],
        timeline=_timeline().to_json())
    skipped = ScenarioResult(
        nodeid="steps/test_scenarios.py::test_loki[promtail]", feature="Logs",
        feature_file="features/log_ingestion.feature", name="Lines arrive",
        variant="log agent promtail", outcome="skipped", reason="loki unavailable: binary 'loki' not found. How to get it: x",
        steps=[StepResult("Given", "Loki and the log agent under test are running")])
    return RunResults(started_at=started, backend="process", time_scale=60,
                      scenarios=[fired, skipped])


def test_a_polled_query_keeps_its_last_answer_per_step() -> None:
    log = evidence.begin()
    try:
        evidence.set_step("0")
        for value in (1, 2, 3):
            evidence.record("promql", "up", [value], key="up")
        evidence.set_step("1")
        evidence.record("promql", "up", [4], key="up")
    finally:
        assert evidence.end() is log
    assert [(e.step, e.body, e.polls) for e in log.items] == [("0", [3], 3), ("1", [4], 1)]
    evidence.record("promql", "outside any scenario", [])  # a no-op, not an error


def test_every_alert_rule_has_a_measure_and_threshold() -> None:
    rules = sorted((ROOT / "stack" / "prometheus" / "rules").glob("*.yml"))
    for name in ("ServiceDown", "HighLatency", "HighErrorRate", "LoginFailuresBurst", "HighCPU"):
        found = alert_rules(rules, name)
        assert found, name
    high_cpu = alert_rules(rules, "HighCPU")
    assert len(high_cpu) == 2
    assert split_threshold("x", "sum(rate(a[5m])) > 0.05") is not None
    assert split_threshold("x", "up == 0").threshold == 0  # type: ignore[union-attr]
    assert split_threshold("x", "absent(up)") is None


def test_the_plot_shows_measure_threshold_and_the_three_moments() -> None:
    svg = plot.svg(_timeline())
    assert svg.startswith("<svg")
    assert 'class="measure"' in svg
    assert 'class="threshold"' in svg
    assert "threshold 0.05" in svg
    for marker in ("fault", "firing", "notified"):
        assert f'class="marker {marker}"' in svg
    assert "firing +3.5 s" in svg  # relative to the fault


def test_the_log_lines_behind_the_alert_share_its_timeline() -> None:
    base = _timeline()
    assert base.fault_at is not None
    assert 'class="log-lines"' not in plot.svg(base)
    base.log_times = [base.fault_at + 0.5, base.fault_at + 1.0, base.fault_at + 9.0]
    base.log_label = "3 error lines of flask-app in Loki (10.0% of requests)"
    svg = plot.svg(base)
    ticks = svg.split('class="log-lines" d="')[1].split('"')[0]
    assert ticks.count("M") == 3
    assert "3 error lines of flask-app in Loki (10.0% of requests)" in svg
    # A line after every other mark widens the time axis: the last tick is at its right edge.
    assert float(ticks.split("M")[-1].split(",")[0]) == plot.WIDTH - plot.RIGHT
    assert Timeline.from_json(base.to_json()) == base


def test_a_plot_without_samples_says_so() -> None:
    empty = Timeline("HighCPU", "node-app", "m", ">", 0.8)
    assert "Prometheus returned no sample" in plot.svg(empty)


def test_html_lists_what_was_not_proven_first_with_its_reason() -> None:
    page = html.render(_results(), {"Global architecture": "flowchart LR\n  a --> b"})
    assert page.index("Not proven in this run") < page.index("Feature: Alerting")
    assert "binary &#x27;loki&#x27; not found" in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="timeline"') == 1
    assert "polled 7 times" in page
    assert "<pre class='mermaid'>flowchart LR" in page


def test_results_survive_a_round_trip(tmp_path: Path) -> None:
    results = _results()
    results.save(tmp_path)
    again = RunResults.load(tmp_path)
    assert again.scenarios[0].steps[1].evidence == results.scenarios[0].steps[1].evidence
    # The scenario's words and its variant, never the pytest id.
    assert again.scenarios[1].title == "Lines arrive (with log agent promtail)"
    assert again.counts() == {"passed": 1, "skipped": 1}


def test_cucumber_json_gets_the_evidence_as_embeddings(tmp_path: Path) -> None:
    report = tmp_path / "cucumber.json"
    steps = [{"keyword": "Given", "name": "s", "result": {"status": "passed"}} for _ in range(3)]
    report.write_text(json.dumps([{"elements": [{"id": "test_alert_fires", "steps": steps}]}]))
    added = cucumber.embed(report, _results())
    assert added == 3  # two records and the plot
    written = json.loads(report.read_text())[0]["elements"][0]["steps"]
    fault = json.loads(base64.b64decode(written[1]["embeddings"][0]["data"]))
    assert fault["kind"] == "fault"
    assert written[2]["embeddings"][-1]["mime_type"] == "image/svg+xml"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(default_manifest_path())


def test_the_committed_diagrams_are_the_generated_ones(manifest: Manifest) -> None:
    committed = ROOT / "docs" / "architecture.md"
    fresh = diagrams.markdown(diagrams.all_diagrams(manifest))
    assert committed.read_text() == fresh, (
        "docs/architecture.md is stale: run `obsharness diagrams` (make validate does)")


def test_the_diagrams_and_the_manifest_agree(manifest: Manifest) -> None:
    drawn = diagrams.all_diagrams(manifest)
    known = set(manifest.components) | set(manifest.sinks)
    architecture = diagrams.named_components(drawn["Global architecture"])
    assert architecture == known
    for title, source in drawn.items():
        assert diagrams.named_components(source) <= known, title
    deployed = diagrams.named_components(drawn["Deployment"])
    assert deployed == set(manifest.components) - {"promtail"}  # Alloy is the deployed agent
    found = diagrams.edges(manifest)
    assert diagrams.Edge("app", "fastapi-app", "postgres", "PostgreSQL :5432") in found
    scraped = {e.target for e in found if e.label.startswith("scrapes")}
    assert scraped == {"prometheus", "alertmanager", "flask-app", "node-app", "fastapi-app",
                       "postgres-exporter", "node-exporter"}
    assert {e.source for e in found if e.target == "loki"} == {"grafana", "promtail", "alloy"}


def test_the_report_lists_what_time_compression_changed_in_meaning() -> None:
    results = _results()
    assert "id='time-compression'" not in html.render(results)
    results.time_compression = {
        "not_equivalent": ["rules/x.yml group g rule BackupTooOld: the plain number 3600 ..."],
        "horizons": [], "floors": ["a floor"]}
    page = html.render(results)
    section = page.split("id='time-compression'")[1].split("</section>")[0]
    assert "Rules whose compressed behaviour is not production&#x27;s (1)" in section
    assert "BackupTooOld: the plain number 3600" in section
    assert "predict_linear horizons" not in section  # an empty list gets no heading
    assert section.index("not production") < section.index("raised to a floor")


def test_reports_of_several_runners_merge_into_one_living_document(tmp_path: Path) -> None:
    from obsharness import cli

    whole = _results()
    fired, skipped = whole.scenarios
    for index, scenario in enumerate((fired, skipped), start=1):
        part = RunResults(started_at=whole.started_at + index, finished_at=whole.started_at + 60,
                          backend="process", time_scale=60, scenarios=[scenario])
        folder = tmp_path / f"group-{index}"
        part.save(folder)
        (folder / "cucumber.json").write_text(json.dumps([{
            "uri": scenario.feature_file, "name": scenario.feature,
            "elements": [{"name": scenario.name}]}]))
    out = tmp_path / "merged"
    assert cli.main(["report", "--reports-dir", str(out),
                     "--merge", str(tmp_path / "group-1"), str(tmp_path / "group-2")]) == 0
    merged = RunResults.load(out)
    assert [s.nodeid for s in merged.scenarios] == [fired.nodeid, skipped.nodeid]
    assert merged.started_at == whole.started_at + 1
    # Evidence and plots travel along (JSON keeps the plot's points as lists).
    assert merged.scenarios[0].timeline == json.loads(json.dumps(fired.timeline))
    page = (out / "index.html").read_text()
    assert fired.name in page
    assert "Not proven in this run" in page  # the other runner's skip is listed too
    features = json.loads((out / "cucumber.json").read_text())
    assert sorted(e["name"] for f in features for e in f["elements"]) == sorted(
        [fired.name, skipped.name])


def test_a_verdict_shows_alertmanagers_answer_beside_the_expected_one() -> None:
    from obsharness.report.html import _evidence
    body = {"columns": ["labels", "expected", "Alertmanager"],
            "rows": [["alertname=A", "yes", "yes"], ["alertname=<B>", "no", "yes"]]}
    html = _evidence({"kind": "verdict", "title": "inhibition", "body": body, "at": 1.0}, 1.0)
    assert html.count("<tr") == 3
    assert '<tr style="background:#fee2e2"><td>✘</td><td>alertname=&lt;B&gt;</td>' in html
    assert "<tr><td>✔</td><td>alertname=A</td>" in html


def test_a_skipped_step_is_grey_and_a_failure_leads_with_its_message() -> None:
    results = _results()
    skipped = results.scenarios[1]
    skipped.steps[0].status = "skipped"
    results.scenarios.append(ScenarioResult(
        nodeid="steps/test_scenarios.py::test_x", feature="Alerting", feature_file="f",
        name="A failure", outcome="failed", reason="AssertionError: the step's own words",
        traceback="fixturefunc = <function ...>\n    def call_fixture_func(",
        steps=[StepResult("Then", "the error ratio stays under 5%", "failed",
                          [{"kind": "promql", "title": "service:error_ratio", "at": 1.0,
                            "step": "0", "polls": 12, "body": [{"labels": {}, "value": 0.2}]}])]))
    page = html.render(results)
    assert '<li class="st-skipped">' in page
    lead = page.index("AssertionError: the step&#x27;s own words")
    fold = page.index("<summary>pytest's traceback</summary>")
    saw = page.index("What “the error ratio stays under 5%” saw")
    assert lead < saw < fold  # the message, what the step saw, then pytest's internals
    assert page.index("<h2>Failed (1)</h2>") < page.index("<h2>Not proven in this run (1)")
    assert html.summary_line(results) == "1 proven, 1 not proven (1 loki unavailable), 1 failed"


def test_the_proof_table_tells_end_to_end_from_a_static_check() -> None:
    from obsharness.report import proof

    results = _results()
    results.alerts = [{"alert": "HighErrorRate", "file": "stack/prometheus/rules/alerts.yml",
                       "unit_tests": ["alerts.test.yml"]},
                      {"alert": "ServiceDown", "file": "x", "unit_tests": []}]
    results.scenarios.append(ScenarioResult(
        nodeid="n1", feature="Config", feature_file="f", name="A new ServiceDown", outcome="passed",
        steps=[StepResult("Then", "Alertmanager's first notification of an alert with "
                          "alertname=ServiceDown, severity=critical leaves within 30s", "passed"),
               StepResult("Then", "promtool sees exactly these alerts:", "passed",
                          table=[["at", "alert", "labels"], ["5m", "ServiceDown", "none"]])]))
    rows = {r.alert: r for r in proof.rows(results, {"mutants": [
        {"description": "HighErrorRate: > 0.05 -> > 0.5", "outcome": "caught by behaviour"},
        {"description": "HighErrorRate: for 2m -> 20m", "outcome": "survived"},
        {"description": "HighErrorRate: x", "outcome": "out of reach"}]})}
    assert [s.nodeid for s in rows["HighErrorRate"].end_to_end] == [
        "steps/test_scenarios.py::test_alert_fires"]  # "a firing HighErrorRate notification"
    assert rows["HighErrorRate"].mutants == (1, 2)  # out of reach is not judged
    down = rows["ServiceDown"]
    assert down.end_to_end == []  # a waiting time read from the config is not delivery
    assert [s.nodeid for s in down.routing] == ["n1"]
    assert [s.nodeid for s in down.timing_tables] == ["n1"]


def test_the_replay_section_shows_each_replayed_test_and_its_differences() -> None:
    replay = {"replayed": 2, "differences": 1, "tests": [
        {"file": "/x/stack/prometheus/tests/alerts.test.yml", "test": "HighErrorRate fires",
         "checks": 2, "differences": [],
         "deliveries": [{"alertname": "HighErrorRate", "labels": {}, "receivers":
                         ["oncall-critical"], "delivered": ["oncall-critical"]}]},
        {"file": "/x/bad.test.yml", "test": "wrong labels", "checks": 1, "deliveries": [],
         "differences": [{"alertname": "LoginFailuresBurst", "eval_time": "4m",
                          "what": "expected firing ['{severity=critical}']"}]}]}
    page = html.render(_results(), replay=replay)
    assert "promtool tests replayed end to end (2, 1 difference(s))" in page
    assert "alerts.test.yml: HighErrorRate fires" in page
    assert "oncall-critical" in page
    assert "LoginFailuresBurst at 4m: expected firing" in page


def test_a_replayed_delivery_covers_its_rule_and_its_route(tmp_path: Path) -> None:
    from obsharness.report import coverage

    results = _results()
    results.alerts = [{"alert": "PostgresqlDown", "file": "stack/prometheus/rules/fleet.yml",
                       "labels": {"severity": "critical"}, "unit_tests": []},
                      {"alert": "NeverTried", "file": "x.yml", "labels": {}, "unit_tests": []}]
    replay = {"tests": [{"test": "pg down", "deliveries": [
        {"alertname": "PostgresqlDown", "receivers": ["oncall-critical"],
         "delivered": ["oncall-critical"]}]}]}
    found = coverage.compute(results, replay, STACK / "alertmanager" / "alertmanager.yml")
    lines = {r["alert"]: r for r in found["rules"]}
    assert lines["PostgresqlDown"]["replays"] == ["pg down"]
    assert lines["PostgresqlDown"]["covered"] is True
    assert lines["NeverTried"]["status"] == "not exercised"
    assert (found["covered"], found["total"]) == (1, 2)
    critical = next(r for r in found["routes"] if r["receiver"] == "oncall-critical")
    assert critical["reached_by"] == ["PostgresqlDown"]
    page = html.render(results, replay=replay)
    assert "Rule coverage: <b>1 of 2</b>" in page
    assert "not exercised: NeverTried" in page
