"""The campaign's pieces without a stack: workspace, which components a file
reloads, the score, the report and its living-document section."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from obsharness.errors import MutationError
from obsharness.mutation import campaign
from obsharness.mutation.generate import mutants_of_file
from obsharness.mutation.session import components_of
from obsharness.report import mutation_section
from obsharness.stack.manifest import Manifest

ROOT = Path(__file__).resolve().parents[1]

RULE = """\
groups:
  - name: g
    rules:
      - alert: Down
        expr: up == 0
        for: 1m
        labels: {severity: critical}
"""


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("1h", 3600), ("90s", 90),
                                               ("600", 600), ("1.5h", 5400)])
def test_budget_parses_durations(text: str, seconds: float) -> None:
    assert campaign.parse_budget(text) == seconds


def test_a_budget_that_does_not_parse_is_refused() -> None:
    with pytest.raises(MutationError, match=r"--budget '30 minutes'"):
        campaign.parse_budget("30 minutes")


def test_the_workspace_is_a_copy_that_links_installed_trees(tmp_path: Path) -> None:
    workspace = campaign.make_workspace(ROOT, tmp_path)
    rules = workspace / "stack" / "prometheus" / "rules" / "alerts.yml"
    original = (ROOT / "stack" / "prometheus" / "rules" / "alerts.yml").read_text()
    assert rules.read_text() == original
    assert not rules.is_symlink()
    rules.write_text("broken")  # a mutant written to the copy ...
    assert (ROOT / "stack" / "prometheus" / "rules" / "alerts.yml").read_text() == original
    modules = workspace / "stack" / "apps" / "node_app" / "node_modules"
    if (ROOT / "stack" / "apps" / "node_app" / "node_modules").exists():
        assert modules.is_symlink()
    assert (workspace / "infra" / "terraform" / "main.tf").is_file()


def test_a_project_without_a_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MutationError, match="no obsharness.yaml nor stack/stack.yaml"):
        campaign.make_workspace(tmp_path, tmp_path / "ws")


def test_a_file_reloads_the_components_that_read_it(manifest: Manifest) -> None:
    assert components_of(manifest, "prometheus/rules/alerts.yml") == {"prometheus"}
    assert components_of(manifest, "alertmanager/alertmanager.yml") == {"alertmanager"}
    assert components_of(manifest, "promtail/promtail.yml") == {"promtail"}
    # A rule file outside the Prometheus folder (a team's monitoring/, a PrometheusRule
    # under deploy/): every Prometheus renders the manifest's rule sources.
    elsewhere = manifest.stack_dir / "prometheus" / "rules" / "alerts.yml"
    assert elsewhere.is_file()
    assert components_of(manifest, "../stack/prometheus/rules/alerts.yml") == {"prometheus"}
    assert components_of(manifest, "apps/node_app/server.js") == {"node-app"}
    # The apps' shared contract module: every app that runs from apps/.
    assert components_of(manifest, "apps/contract/obs_contract.py") >= {"flask-app",
                                                                          "fastapi-app"}
    assert components_of(manifest, "grafana/dashboards/application.json") == {"grafana"}


def _report(outcomes: dict[str, str], reasons: dict[str, str] | None = None
            ) -> dict[str, object]:
    mutants = list(mutants_of_file("stack/prometheus/rules/r.yml", RULE))
    results = {m.id: {"outcome": outcomes.get(m.operator, "caught by validation"),
                      "by": "steps/test_scenarios.py::test_x"} for m in mutants}
    for m in mutants:
        if results[m.id]["outcome"] == "survived":
            results[m.id]["should_have_caught"] = "steps/test_scenarios.py::test_down"
    options = campaign.Options(project=ROOT, reports_dir=ROOT / "reports", seed=3)
    reasons = {m.id: reasons[m.operator] for m in mutants if reasons and m.operator in reasons}
    return campaign.build_report(mutants, results, reasons, mutants, options, 12.5)


def test_score_counts_validation_and_behaviour_apart_and_lists_survivors() -> None:
    report = _report({"severity changed": "survived", "for changed": "caught by behaviour",
                      "rule deleted": "not run"})
    score = report["score"]
    assert isinstance(score, dict)
    assert score["run"] == score["caught by validation"] + 2
    assert score["caught by behaviour"] == 1
    assert score["survived"] == 1
    assert score["not run"] == 1
    assert score["score"] == round((score["run"] - 1) / score["run"], 4)
    unexplained = report["unexplained_survivors"]
    assert isinstance(unexplained, list)
    assert len(unexplained) == 1
    text = campaign.summary(report)
    assert "severity critical -> warning (no reason recorded)" in text
    explained = _report({"severity changed": "survived"},
                        {"severity changed": "equivalent: one receiver for both"})
    assert explained["unexplained_survivors"] == []
    assert "(equivalent: one receiver for both)" in campaign.summary(explained)


def test_the_living_document_shows_the_score_and_each_survivors_diff() -> None:
    report = _report({"severity changed": "survived"})
    page = mutation_section.render(report)  # type: ignore[arg-type]
    assert "Would the suite notice?" in page
    assert "<td>all</td>" in page
    assert "Down: severity critical -&gt; warning" in page
    assert "-        labels: {severity: critical}" in page  # the diff
    assert "+        labels: {severity: warning}" in page
    assert "steps/test_scenarios.py::test_down" in page
    assert "no reason recorded" in page


def test_survivor_reasons_come_from_the_teams_file(tmp_path: Path) -> None:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "stack.yaml").write_text("version: 1\n")
    assert campaign.load_reasons(tmp_path) == {}
    (tmp_path / "stack" / campaign.SURVIVORS_FILE).write_text(
        "rules-0123456789: equivalent, the route has one receiver\n")
    assert campaign.load_reasons(tmp_path) == {
        "rules-0123456789": "equivalent, the route has one receiver"}
    (tmp_path / "stack" / campaign.SURVIVORS_FILE).write_text("- a list\n")
    with pytest.raises(MutationError, match="mapping of mutant id to reason"):
        campaign.load_reasons(tmp_path)


def test_a_team_repository_keeps_its_survivors_beside_its_manifest(tmp_path: Path) -> None:
    (tmp_path / "obsharness.yaml").write_text("version: 1\n")
    (tmp_path / campaign.SURVIVORS_FILE).write_text("rules-0123456789: equivalent\n")
    assert campaign.load_reasons(tmp_path) == {"rules-0123456789": "equivalent"}


def test_a_team_layout_mutates_its_own_files_and_copies_what_runs_read(tmp_path: Path) -> None:
    from obsharness.mutation.layout import layout_of

    (tmp_path / "obsharness.yaml").write_text("version: 1\n")
    layout = layout_of(tmp_path)
    assert not layout.reference
    assert layout.stack_prefix == ""
    assert not layout.skipped(Path("deploy/k8s/rules.yaml"))
    assert layout.skipped(Path("obsharness/prometheus/prometheus.yml"))  # the harness's own
    assert layout.skipped(Path(".venv/lib/x.yml"))
    assert layout.skipped(Path("reports/results.json"))
    (tmp_path / "monitoring").mkdir()
    (tmp_path / "monitoring" / "rules.yml").write_text("groups: []\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "results.json").write_text("{}")
    workspace = campaign.make_workspace(tmp_path, tmp_path.parent / "ws")
    assert (workspace / "monitoring" / "rules.yml").is_file()
    assert (workspace / "obsharness.yaml").is_file()
    assert not (workspace / "reports").exists()


def test_a_scenario_that_fails_on_the_unmutated_stack_too_is_no_catch() -> None:
    report = _report({"severity changed": "undecided", "rule deleted": "caught by behaviour"})
    score = report["score"]
    assert isinstance(score, dict)
    assert score["undecided"] == 1
    assert score["run"] == score["caught by validation"] + 1  # undecided is not scored
    assert score["score"] == 1.0
    assert "undecided: " in campaign.summary(report)


def test_a_scenario_red_on_the_unmutated_stack_is_named_last_with_its_own_message() -> None:
    """Whether at a session's start (its mutants not run) or after a seeming catch
    (undecided): one entry per scenario, its message at the end of the table."""
    mutants = list(mutants_of_file("stack/prometheus/rules/r.yml", RULE))[:4]
    flaky = "steps/test_scenarios.py::test_burst[a, b]"
    message = "TimeoutError: no firing LoginFailuresBurst within 25.2 s\nlast seen: []"
    results = {
        mutants[0].id: {"outcome": "undecided", "by": flaky, "unmutated_failure": message,
                        "detail": "caught\n-- and on the unmutated stack it failed too:\n"
                                  + message},
        mutants[1].id: {"outcome": "undecided", "by": flaky, "unmutated_failure": message,
                        "detail": "..."},
        mutants[2].id: {"outcome": "not run", "by": flaky, "unmutated_failure": message,
                        "detail": f"the unmutated stack failed {flaky}, so no mutant can be "
                                  f"judged:\n{message}"},
        mutants[3].id: {"outcome": "caught by validation", "by": "t"}}
    report = campaign.build_report(mutants, results, {}, mutants,
                                   campaign.Options(project=ROOT, reports_dir=ROOT), 1.0)
    [failure] = report["unmutated_failures"]
    assert failure["scenario"] == flaky  # a parametrized id with a comma stays whole
    assert failure["mutants"] == [m.id for m in mutants[:3]]
    assert failure["message"] == message
    text = campaign.summary(report)
    tail = text.splitlines()[-3:]
    assert tail[0].startswith(f"  FAILED on the unmutated stack: {flaky} (3 mutant(s)")
    assert tail[1:] == ["      TimeoutError: no firing LoginFailuresBurst within 25.2 s",
                        "      last seen: []"]
    clean = _report({"rule deleted": "caught by behaviour"})
    assert clean["unmutated_failures"] == []
    assert "FAILED" not in campaign.summary(clean)
    page = mutation_section.render(report)  # type: ignore[arg-type]
    assert "Failed on the unmutated stack:" in page
    assert "no firing LoginFailuresBurst within 25.2 s" in page


def test_an_out_of_reach_mutant_carries_the_skip_reason() -> None:
    [mutant, *_] = list(mutants_of_file("stack/prometheus/rules/r.yml", RULE))
    skip = "alloy is not available here, so ...: set OBSHARNESS_ALLOY_BIN"
    report = campaign.build_report(
        [mutant], {mutant.id: {"outcome": "out of reach", "detail": skip}},
        {"rules-0000000000": "a mutant of an older file"}, [mutant],
        campaign.Options(project=ROOT, reports_dir=ROOT / "reports"), 1.0)
    [entry] = report["mutants"]
    assert entry["reason"] == f"out of reach here: {skip}"
    assert report["unexplained_survivors"] == []
    assert report["stale_reasons"] == ["rules-0000000000"]
    assert "stale reason: rules-0000000000" in campaign.summary(report)


def test_out_of_reach_mutants_are_counted_apart_from_the_score_one_line_per_reason() -> None:
    mutants = list(mutants_of_file("stack/prometheus/rules/r.yml", RULE))[:4]
    skip = "loki is not available: binary 'loki' not found. To get it: download Loki"
    results = {mutants[0].id: {"outcome": "caught by validation", "by": "t"},
               mutants[1].id: {"outcome": "survived"},
               mutants[2].id: {"outcome": "out of reach", "detail": skip},
               mutants[3].id: {"outcome": "out of reach", "detail": skip}}
    report = campaign.build_report(
        mutants, results, {mutants[1].id: "equivalent"}, mutants,
        campaign.Options(project=ROOT, reports_dir=ROOT / "reports"), 1.0)
    score = report["score"]
    assert (score["run"], score["judged"], score["out of reach"]) == (4, 2, 2)
    assert score["score"] == 0.5  # one caught of the two this machine could judge
    text = campaign.summary(report)
    assert text.count("out of reach (") == 1
    assert f"2 out of reach ({mutants[2].id}, {mutants[3].id}): out of reach here: {skip}" in text
    # Nothing judged at all: no score rather than 0%.
    only_unreached = campaign.build_report(
        mutants[2:], results, {}, mutants,
        campaign.Options(project=ROOT, reports_dir=ROOT / "reports"), 1.0)
    assert only_unreached["score"]["score"] is None


def test_progress_prints_each_finished_mutant_once_with_the_score_so_far(tmp_path: Path) -> None:
    from obsharness.mutation.progress import Progress

    lines: list[str] = []
    flows = {"rules-1": "rules", "logs-2": "logs", "apps-3": "apps"}
    progress = Progress(flows, deadline=time.time() + 600,
                        score=lambda done: campaign._score(done)["score"], echo=lines.append)
    one, two = tmp_path / "s0.json", tmp_path / "s1.json"
    one.write_text('[{"id": "rules-1", "outcome": "caught by validation", "seconds": 2.5}]')
    two.write_text('[{"id": "logs-2", "outcome": "out of')  # being written: read next time
    progress.poll([one, two, tmp_path / "not-yet.json"])
    assert lines == ["[1/3] rules-1 rules: caught by validation 2.5 s; score so far 100%, "
                     f"{lines[0].rsplit(', ', 1)[1]}"]
    assert lines[0].endswith("s of budget left")
    two.write_text(json.dumps([{"id": "logs-2", "outcome": "out of reach", "seconds": 1},
                               {"id": "apps-3", "outcome": "survived", "seconds": 9}]))
    progress.poll([one, two])
    progress.poll([one, two])  # nothing new: nothing printed
    assert len(lines) == 3
    # Out of reach is not judged: one caught of the two judged.
    assert lines[1].startswith("[2/3] logs-2 logs: out of reach 1.0 s; score so far 100%")
    assert lines[2].startswith("[3/3] apps-3 apps: survived 9.0 s; score so far 50%")


def test_sessions_report_mutants_while_they_run_not_only_at_the_end(tmp_path: Path) -> None:
    from obsharness.mutation.progress import Progress

    work = tmp_path / "s0"
    work.mkdir()
    # A stand-in session: two results, a second apart, then a marker that it went on.
    script = (
        "import json, time, pathlib\n"
        f"out = pathlib.Path({str(work / 'results.json')!r})\n"
        "out.write_text(json.dumps([{'id': 'a', 'outcome': 'survived'}]))\n"
        "time.sleep(3)\n"
        "out.write_text(json.dumps([{'id': 'a', 'outcome': 'survived'},"
        " {'id': 'b', 'outcome': 'caught by behaviour'}]))\n")
    seen_at: list[float] = []
    lines: list[str] = []

    def echo(text: str) -> None:
        lines.append(text)
        seen_at.append(time.monotonic())

    began = time.monotonic()
    campaign._sessions([(work, [sys.executable, "-c", script], dict(os.environ))], tmp_path,
                       Progress({"a": "rules", "b": "apps"}, time.time() + 60,
                                lambda done: campaign._score(done)["score"], echo))
    ended = time.monotonic()
    assert [line.split()[1] for line in lines] == ["a", "b"]
    assert seen_at[0] - began < ended - began - 1  # the first line came before the end


def test_shards_partition_the_campaign_by_mutant_id_and_merge_into_its_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from obsharness.cli import main

    mutants = campaign.all_mutants(ROOT)
    options = campaign.Options(project=ROOT, reports_dir=tmp_path, max_mutants=40, seed=5)
    whole = campaign.choose(mutants, options)
    parts = [campaign.choose(mutants, campaign.Options(
        project=ROOT, reports_dir=tmp_path, max_mutants=40, seed=5, shard=(k, 3)))
        for k in (1, 2, 3)]
    # Every mutant in exactly one shard; the same answer on every runner (by id only).
    assert sorted(m.id for part in parts for m in part) == sorted(m.id for m in whole)
    assert all(parts)
    # By id alone: the second shard of a campaign listed in another order is the same set.
    reordered = campaign.choose(list(reversed(mutants)), campaign.Options(
        project=ROOT, reports_dir=tmp_path, ids=tuple(m.id for m in whole), shard=(2, 3)))
    assert {m.id for m in reordered} == {m.id for m in parts[1]}
    folders = []
    for k, part in enumerate(parts, 1):
        shard_options = campaign.Options(project=ROOT, reports_dir=tmp_path / f"s{k}",
                                         max_mutants=40, seed=5, shard=(k, 3))
        results = {m.id: {"outcome": "caught by validation" if i % 4 else "caught by behaviour",
                          "by": "steps/test_scenarios.py::test_x"} for i, m in enumerate(part)}
        report = campaign.build_report(part, results, {}, mutants, shard_options, 10.0 + k)
        (tmp_path / f"s{k}").mkdir()
        (tmp_path / f"s{k}" / "mutation.json").write_text(json.dumps(report))
        folders.append(str(tmp_path / f"s{k}"))
    merged_dir = tmp_path / "merged"
    assert main(["mutate", "--merge", *folders, "--reports-dir", str(merged_dir)]) == 0
    merged = json.loads((merged_dir / "mutation.json").read_text())
    assert merged["chosen"] == len(whole)
    assert sorted(e["id"] for e in merged["mutants"]) == sorted(m.id for m in whole)
    assert merged["score"]["score"] == 1.0
    assert merged["duration_s"] == 13.0  # the slowest runner's
    out = capsys.readouterr().out
    assert "merged 3 shard(s)" in out
    assert "no results.json in" in out  # no living document there to add the section to
    # Beside the night's scenario report, the living document gains its mutation section.
    from obsharness.report.results import RunResults

    RunResults().save(merged_dir)
    assert main(["mutate", "--merge", *folders, "--reports-dir", str(merged_dir)]) == 0
    assert "Would the suite notice? (mutation testing)" in (merged_dir / "index.html").read_text()
    capsys.readouterr()
    # A merge without every shard would pass off part of the campaign as all of it.
    assert main(["mutate", "--merge", *folders[:2], "--reports-dir", str(merged_dir)]) == 1
    assert "every shard 1..N of one campaign is needed" in capsys.readouterr().err


def test_a_shard_that_does_not_parse_is_refused() -> None:
    assert campaign.parse_shard("2/4") == (2, 4)
    for bad in ("0/3", "4/3", "2", "a/b"):
        with pytest.raises(MutationError, match="--shard"):
            campaign.parse_shard(bad)
