"""The `obsharness` command: up, report, diagrams, and progress on long waits."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from obsharness import waiting
from obsharness.cli import main
from obsharness.ports import holder_of, is_free
from obsharness.up import cmd_up
from tests.test_report import _results


@pytest.mark.slow
def test_up_prints_every_url_and_stops_clean(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    outcome: list[int] = []
    runner = threading.Thread(target=lambda: outcome.append(
        cmd_up("process", 60, tmp_path / "up", stop=stop)))
    runner.start()
    deadline = time.monotonic() + 90
    printed = ""
    while "Ctrl-C stops everything" not in printed and time.monotonic() < deadline:
        time.sleep(0.1)
        printed += capsys.readouterr().out
    stop.set()
    runner.join(timeout=60)
    printed += capsys.readouterr().out
    assert "Ctrl-C stops everything" in printed, printed
    urls = dict(re.findall(r"^  ([\w-]+)\s+(http://127\.0\.0\.1:\d+)", printed, re.MULTILINE))
    assert {"prometheus", "alertmanager", "flask-app", "node-app", "fastapi-app",
            "alert-webhook"} <= set(urls), printed
    assert "grafana" in printed  # listed as not running, with how to get it
    assert outcome == [0]
    assert "stopped; nothing left running." in printed
    assert all(is_free(int(url.rsplit(":", 1)[1])) for url in urls.values())


def test_report_is_rebuilt_from_the_last_results(tmp_path: Path) -> None:
    _results().save(tmp_path)
    assert main(["report", "--reports-dir", str(tmp_path)]) == 0
    page = (tmp_path / "index.html").read_text()
    assert "Errors above 5% page the on-call" in page


def test_report_without_a_run_says_what_to_do(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--reports-dir", str(tmp_path)]) == 1
    assert "run the scenarios first" in capsys.readouterr().err


def test_diagrams_are_written_and_checked(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "architecture.md"
    assert main(["diagrams", "--out", str(out), "--check"]) == 0
    assert out.read_text().count("```mermaid") == 5
    # A check says what it checked, not only that it wrote a file.
    first = capsys.readouterr().out
    assert "checked 5 diagram(s) against the manifest: they agree" in first
    assert main(["diagrams", "--out", str(out), "--check"]) == 0
    assert f"{out} up to date" in capsys.readouterr().out
    out.write_text(out.read_text().replace("prometheus", "prometheus-old", 1))
    assert main(["diagrams", "--out", str(out), "--check"]) == 0
    assert f"{out} was stale, regenerated: " in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "to_pytest"), [
    (["validate", "-m", "alerting"], ["-m", "alerting"]),  # the help's own example
    (["validate", "-k", "HighCPU", "-x"], ["-k", "HighCPU", "-x"]),
    (["validate", "--", "-k", "HighCPU"], ["-k", "HighCPU"]),
    (["validate"], []),
    (["validate", "--help"], None),  # validate's own help
    (["doctor"], None),
])
def test_validate_hands_pytests_options_over_as_typed(argv: list[str],
                                                      to_pytest: list[str] | None) -> None:
    from obsharness.cli import pytest_args_of_validate

    assert pytest_args_of_validate(argv) == to_pytest


def test_long_waits_report_what_they_await() -> None:
    lines: list[str] = []
    waiting.set_progress(lines.append, every_s=0.05)
    try:
        with pytest.raises(waiting.WaitTimeout):
            waiting.eventually(lambda: 41, lambda v: v == 42, what="the answer",
                               timeout=0.3, interval=0.02)
    finally:
        waiting.set_progress(None)
    assert lines
    assert lines[0].startswith("waiting for the answer: 0 s of 0 s, last value: 41")


def test_doctor_lists_the_images_the_docker_backend_would_run(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from obsharness import cli
    from obsharness.backends import BackendChoice

    images = tmp_path / "images.yml"
    images.write_text("prometheus: obsharness-local/prometheus:2.42\n")
    monkeypatch.setenv("OBSHARNESS_IMAGES", str(images))
    monkeypatch.setattr(cli, "choose_backend",
                        lambda _: BackendChoice("docker", "auto: Docker engine answers"))
    cli.cmd_doctor("auto")
    out = capsys.readouterr().out
    assert "backend: docker (auto: Docker engine answers)" in out
    assert "prometheus        obsharness-local/prometheus:2.42" in out
    assert "grafana           grafana/grafana:13.0.1" in out
    # The one version table both backends follow is shown first.
    assert "versions: prometheus 3.5.3 (prom/prometheus:v3.5.3), alertmanager 0.33.1" in out


@pytest.mark.slow
def test_up_starts_part_of_the_stack_and_survives_a_component_that_dies(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`up --only`: only those components and what they need; one that dies is said and
    left down, the rest keeps running, and `restart NAME` brings it back."""
    import os
    import queue
    import signal

    import requests

    stop = threading.Event()
    commands: queue.Queue[str] = queue.Queue()
    outcome: list[int] = []
    runner = threading.Thread(target=lambda: outcome.append(cmd_up(
        "process", 60, tmp_path / "up", stop=stop, only=["flask-app", "prometheus"],
        commands=commands)))
    runner.start()
    printed = ""

    def until(text: str, timeout: float = 60) -> None:
        nonlocal printed
        deadline = time.monotonic() + timeout
        while text not in printed and time.monotonic() < deadline:
            time.sleep(0.1)
            printed += capsys.readouterr().out
        assert text in printed, printed

    try:
        until("Ctrl-C stops everything")
        urls = dict(re.findall(r"^  ([\w-]+)\s+(http://127\.0\.0\.1:\d+)", printed, re.M))
        # Prometheus needs Alertmanager (depends_on); nothing else starts.
        assert set(urls) == {"flask-app", "prometheus", "alertmanager", "alert-webhook"}, printed
        # Crash this run's flask-app (its own process group), found by its port.
        holder = holder_of(int(urls["flask-app"].rsplit(":", 1)[1]))
        assert holder is not None
        assert holder.startswith("pid "), holder
        os.killpg(os.getpgid(int(holder.split()[1])), signal.SIGKILL)
        until("flask-app is down; the rest keeps running")
        assert requests.get(urls["prometheus"] + "/-/ready", timeout=5).status_code == 200
        commands.put("restart flask-app")
        until("flask-app restarted")
        assert requests.get(urls["flask-app"] + "/health", timeout=5).status_code == 200
    finally:
        stop.set()
        runner.join(timeout=60)
    printed += capsys.readouterr().out
    assert outcome == [0], printed
    assert "stopped; nothing left running." in printed


def test_every_option_of_every_command_has_a_help_line() -> None:
    import argparse

    from obsharness.cli import _parser

    missing = []
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                assert sub.format_help(), name
                missing += [f"{name} {a.option_strings or a.dest}" for a in sub._actions
                            if a.dest != "help" and not a.help]
    assert missing == []


def test_check_runs_every_static_check_without_a_stack(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1].startswith("0 error(s), ")
    for check in ("configs (promtool, amtool", "promtool rule lint", "promtool rule unit tests",
                  "dashboards", "files no source loads"):
        assert check in out


def test_check_fails_on_a_broken_rule_with_promtools_words(
        stack_copy: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    rules = stack_copy / "prometheus" / "rules" / "alerts.yml"
    rules.write_text(rules.read_text().replace("> 0.05", "> > 0.05", 1))
    monkeypatch.setenv("OBSHARNESS_STACK", str(stack_copy / "stack.yaml"))
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "ERROR rules/invalid: stack/prometheus/rules/alerts.yml:" in out
    assert "could not parse expression" in out


def test_steps_lists_every_sentence_with_parameters_and_examples(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steps"]) == 0
    out = capsys.readouterr().out
    assert "Then a firing {alertname} notification for {service} reaches the webhook\n" \
           "    parameters: alertname, service\n    e.g. features/" in out
    # The committed list is the registry's: a new step without docs/steps.md fails here.
    root = Path(__file__).resolve().parents[1]
    assert main(["steps", "--out", str(root / "docs" / "steps.md"), "--check"]) == 0


def test_pre_commit_runs_the_check_on_monitoring_files() -> None:
    import yaml

    root = Path(__file__).resolve().parents[1]
    [hook] = yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "obsharness-check"
    assert hook["entry"] == "obsharness check"
    assert hook["language"] == "python"  # pre-commit installs this package, entry point included
    assert hook["pass_filenames"] is False  # the check reads the whole stack, as a run does
    assert re.search(hook["files"], "stack/prometheus/rules/alerts.yml")
    assert re.search(hook["files"], "k8s/dashboards.json")
    assert not re.search(hook["files"], "README.md")


@pytest.mark.slow
def test_doctor_exits_0_with_optional_parts_absent_and_1_when_the_backend_cannot_run(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from obsharness import cli
    from obsharness.backends import BackendChoice

    # Loki, the agents and Grafana missing, as on this machine: advice, not a failure.
    monkeypatch.setenv("OBSHARNESS_ABSENT", "loki,promtail,alloy,grafana")
    monkeypatch.setattr(cli, "choose_backend",
                        lambda _: BackendChoice("process", "auto: no Docker engine"))
    assert cli.cmd_doctor("auto") == 0
    out = capsys.readouterr().out
    assert "absent    loki" in out
    assert "(optional; its scenarios skip)" in out
    assert "sources:" in out  # what each source of monitoring code holds
    monkeypatch.setattr(cli, "choose_backend", lambda _: BackendChoice(
        "docker", "asked for", unsupported_reason="no Docker engine answers"))
    assert cli.cmd_doctor("docker") == 1
    assert "not usable: no Docker engine answers" in capsys.readouterr().out
