"""The private Alertmanager that judges behaviour tables, and the Python models
that remain (routing, inhibition, time intervals) held to it by hypothesis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsharness import alertrouting, am_matchers, am_tables
from obsharness.am_judge import AlertmanagerJudge, JudgeError, features_of, sanitized
from obsharness.errors import ConfigError
from obsharness.ports import is_free
from tests.test_am_matchers import NAMES, OPS

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
KUBE_PROMETHEUS = FIXTURES / "kube-prometheus.yaml"
STACK_AM = Path(__file__).parent.parent / "stack" / "alertmanager" / "alertmanager.yml"
SHARED = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertmanagerJudge]:
    with AlertmanagerJudge(workdir=tmp_path_factory.mktemp("judge")) as running:
        yield running


def _write(tmp_path: Path, config: dict[str, Any], name: str = "am.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_the_loaded_copy_can_page_nobody() -> None:
    raw = yaml.safe_load(STACK_AM.read_text())
    copy = sanitized(raw, "http://127.0.0.1:1/x")
    assert "global" not in copy
    assert "templates" not in copy
    integrations = [(k, c) for r in copy["receivers"] for k, cs in r.items() if k != "name"
                    for c in cs]
    assert integrations
    assert {(k, c["url"]) for k, c in integrations} == {("webhook_configs",
                                                         "http://127.0.0.1:1/x")}
    assert {r["name"] for r in copy["receivers"]} == {r["name"] for r in raw["receivers"]}


def test_feature_flags_are_read_from_the_command_line() -> None:
    assert features_of(["--config.file=x", "--enable-feature=utf8-strict-mode,foo",
                        "--enable-feature", "classic-mode"]) == \
        ["utf8-strict-mode", "foo", "classic-mode"]


def test_kube_prometheus_answers_routing_inhibition_and_groups(judge: AlertmanagerJudge) -> None:
    alerts = [{"alertname": "Watchdog", "severity": "none"},
              {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "a"},
              {"alertname": "InfoInhibitor", "severity": "none", "namespace": "a"},
              {"alertname": "KubeCPUOvercommit", "severity": "info", "namespace": "a"},
              {"alertname": "KubeCPUOvercommit", "severity": "info", "namespace": "b"}]
    answers = judge.answer(KUBE_PROMETHEUS, alerts)
    model = alertrouting.load(KUBE_PROMETHEUS)
    assert [list(a.receivers) for a in answers] == [model.receivers_for(a) for a in alerts]
    assert [bool(a.inhibited_by) for a in answers] == model.inhibited(alerts)
    assert answers[3].inhibited_by == (alerts[2],)  # InfoInhibitor mutes namespace a's info
    assert not answers[4].inhibited_by


def test_a_wrong_expectation_fails_with_both_answers_side_by_side(
        judge: AlertmanagerJudge) -> None:
    rows = [({"alertname": "ServiceDown", "severity": "critical", "service": "flask-app"}, False),
            ({"alertname": "HighCPU", "severity": "warning", "service": "flask-app"}, False)]
    with pytest.raises(AssertionError) as caught:
        am_tables.inhibition(judge, STACK_AM, rows)
    text = str(caught.value)
    assert "1 of 2 rows" in text
    lines = text.splitlines()
    assert lines[2].startswith("  alertname=ServiceDown")
    assert lines[2].split()[-1] == "no"
    assert lines[3].startswith("✘ alertname=HighCPU")
    assert lines[3].split()[-3:] == ["no", "|", "yes"]
    assert "alertname=ServiceDown, service=flask-app, severity=critical" in lines[3]


def test_grouping_follows_group_by(judge: AlertmanagerJudge, tmp_path: Path) -> None:
    config = _write(tmp_path, {
        "route": {"receiver": "a", "group_by": ["service"], "routes": [
            {"receiver": "b", "matchers": ['team="db"'], "group_by": ["..."]}]},
        "receivers": [{"name": "a"}, {"name": "b"}]})
    am_tables.grouping(judge, config, [
        ({"alertname": "X", "service": "s1"}, "s1"), ({"alertname": "Y", "service": "s1"}, "s1"),
        ({"alertname": "X", "service": "s2"}, "s2"),
        ({"alertname": "X", "team": "db", "i": "1"}, "db1"),
        ({"alertname": "X", "team": "db", "i": "2"}, "db2")])
    with pytest.raises(AssertionError, match="groups"):
        am_tables.grouping(judge, config, [({"alertname": "X", "service": "s1"}, "one"),
                                           ({"alertname": "X", "service": "s2"}, "one")])


def test_a_silence_is_read_as_alertmanager_reads_matchers(judge: AlertmanagerJudge) -> None:
    am_tables.silence(judge, STACK_AM, '"service.name"=~"caf.*", severity!="critical"', [
        ({"alertname": "A", "service.name": "café"}, True),
        ({"alertname": "A", "service.name": "café", "severity": "critical"}, False),
        ({"alertname": "A", "service.name": "web"}, False)])


def test_a_config_alertmanager_refuses_on_reload_names_the_file(
        judge: AlertmanagerJudge, tmp_path: Path) -> None:
    judge.answer(STACK_AM, [{"alertname": "A"}])
    bad = _write(tmp_path, {"route": {"receiver": "nobody"}, "receivers": [{"name": "a"}]})
    with pytest.raises(ConfigError, match=r"am\.yml.*nobody"):
        judge.answer(bad, [{"alertname": "A"}])
    assert judge.answer(STACK_AM, [{"alertname": "A"}])[0].receivers == ("oncall-webhook",)


def test_teardown_leaves_no_process_port_or_directory() -> None:
    judge = AlertmanagerJudge()
    judge.answer(STACK_AM, [{"alertname": "A"}])
    assert judge._proc is not None
    assert judge.workdir is not None
    pid, port, workdir = judge._proc.pid, judge._proc.port, judge.workdir
    judge.close()
    assert not Path(f"/proc/{pid}").exists()
    assert is_free(port)
    assert not workdir.exists()


def test_a_dead_judge_is_said(tmp_path: Path) -> None:
    with AlertmanagerJudge(workdir=tmp_path / "j") as judge:
        judge.answer(STACK_AM, [{"alertname": "A"}])
        assert judge._proc is not None
        assert judge._proc.pid is not None
        os.kill(judge._proc.pid, 9)
        judge._proc.process.wait()  # type: ignore[union-attr]
        with pytest.raises(JudgeError, match="died"):
            judge.answer(STACK_AM, [{"alertname": "A"}])


# --- differential: the Python routing and inhibition models against Alertmanager ---

VALUES = st.sampled_from(["a", "b", "café", "web-1", "a b", 'say "hi"', "ü", "back\\slash"])
REGEXES = st.sampled_from([".+", "a|b", "caf.*", "w.*", "ü?", ".*"])


@st.composite
def matcher_texts(draw: st.DrawFn) -> str:
    name, op = draw(NAMES), draw(OPS)
    value = draw(REGEXES if op in ("=~", "!~") else VALUES)
    name_text = name if am_matchers.is_classic_name(name) else am_matchers.quote(name)
    return f"{name_text}{op}{am_matchers.quote(value)}"


@st.composite
def route_trees(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": f"r{draw(st.integers(0, 4))}",
                             "matchers": draw(st.lists(matcher_texts(), min_size=1, max_size=2)),
                             "continue": draw(st.booleans())}
    if depth < 1 and draw(st.booleans()):
        route["routes"] = draw(st.lists(route_trees(depth + 1), min_size=1, max_size=2))
    return route


LABEL_SETS = st.lists(st.dictionaries(NAMES, VALUES, min_size=1, max_size=3), min_size=10,
                      max_size=10, unique_by=lambda d: tuple(sorted(d.items())))
RECEIVERS = [{"name": "default"}] + [{"name": f"r{i}"} for i in range(5)]


@settings(SHARED, max_examples=50)
@given(routes=st.lists(route_trees(), min_size=1, max_size=4), label_sets=LABEL_SETS)
def test_routing_agrees_with_alertmanager(judge: AlertmanagerJudge, tmp_path: Path,
                                          routes: list[dict[str, Any]],
                                          label_sets: list[dict[str, str]]) -> None:
    """50 random trees x 10 label sets, UTF-8 names and non-ASCII values among them."""
    config = _write(tmp_path, {"route": {"receiver": "default", "routes": routes},
                               "receivers": RECEIVERS})
    model = alertrouting.load(config)
    answers = judge.answer(config, label_sets)
    assert [model.receivers_for(labels) for labels in label_sets] == \
        [list(a.receivers) for a in answers], config.read_text()


@settings(SHARED, max_examples=25)
@given(rules=st.lists(st.fixed_dictionaries({
    "source_matchers": st.lists(matcher_texts(), min_size=1, max_size=2),
    "target_matchers": st.lists(matcher_texts(), min_size=1, max_size=2),
    "equal": st.lists(NAMES, max_size=2, unique=True)}), min_size=1, max_size=2),
    label_sets=LABEL_SETS)
def test_inhibition_agrees_with_alertmanager(judge: AlertmanagerJudge, tmp_path: Path,
                                             rules: list[dict[str, Any]],
                                             label_sets: list[dict[str, str]]) -> None:
    config = _write(tmp_path, {"route": {"receiver": "default"}, "receivers": RECEIVERS,
                               "inhibit_rules": rules})
    expected = alertrouting.load(config).inhibited(label_sets)
    assert [bool(a.inhibited_by) for a in judge.answer(config, label_sets)] == expected, \
        config.read_text()


# --- differential: the time interval model against Alertmanager at the wall clock ---

ZONES = st.sampled_from([None, "UTC", "Europe/Berlin", "Australia/Sydney", "America/New_York",
                         "Asia/Kolkata", "Pacific/Chatham"])
WEEKDAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december"]


def _pair(draw: st.DrawFn, low: int, high: int) -> tuple[int, int]:
    a, b = draw(st.integers(low, high)), draw(st.integers(low, high))
    return min(a, b), max(a, b)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def intervals(draw: st.DrawFn) -> dict[str, Any]:
    """One time interval entry, its fields often near this very moment."""
    out: dict[str, Any] = {}
    zone = draw(ZONES)
    if zone:
        out["location"] = zone
    here = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo(zone or "UTC"))
    if draw(st.booleans()):
        minute = here.hour * 60 + here.minute
        start = draw(st.integers(max(0, minute - 120), min(1439, minute + 120)))
        end = draw(st.integers(start + 1, min(1440, start + 240)))
        out["times"] = [{"start_time": _clock(start), "end_time": _clock(end)}]
    if draw(st.booleans()):
        begin, end = _pair(draw, 0, 6)
        out["weekdays"] = [f"{WEEKDAY_NAMES[begin]}:{WEEKDAY_NAMES[end]}"]
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["positive", "negative", "mixed"]))
        if kind == "positive":
            begin, end = _pair(draw, 1, 31)
        elif kind == "negative":
            begin, end = _pair(draw, -31, -1)
        else:
            begin = draw(st.integers(1, 27))
            end = draw(st.integers(begin - 28, -1))
        out["days_of_month"] = [f"{begin}:{end}"]
    if draw(st.booleans()):
        begin, end = _pair(draw, 1, 12)
        out["months"] = [f"{MONTH_NAMES[begin - 1]}:{end}"]
    if draw(st.booleans()):
        begin, end = _pair(draw, here.year - 1, here.year + 1)
        out["years"] = [f"{begin}:{end}"]
    return out


@st.composite
def timed_routes(draw: st.DrawFn) -> dict[str, Any]:
    names = ["i0", "i1", "i2"]
    defined = [{"name": n, "time_intervals": draw(st.lists(intervals(), min_size=1, max_size=2))}
               for n in names]
    routes = []
    for case in range(4):
        route: dict[str, Any] = {"receiver": "r0", "matchers": [f'case="{case}"']}
        chosen = draw(st.sampled_from(["mute", "active", "both"]))
        if chosen in ("mute", "both"):
            route["mute_time_intervals"] = draw(st.lists(st.sampled_from(names), min_size=1,
                                                         max_size=2, unique=True))
        if chosen in ("active", "both"):
            route["active_time_intervals"] = draw(st.lists(st.sampled_from(names), min_size=1,
                                                           max_size=2, unique=True))
        routes.append(route)
    key = draw(st.sampled_from(["time_intervals", "mute_time_intervals"]))  # and the legacy key
    return {"route": {"receiver": "default", "routes": routes}, "receivers": RECEIVERS,
            key: defined}


@settings(SHARED, max_examples=12)
@given(config=timed_routes())
def test_time_intervals_agree_with_alertmanager_now(judge: AlertmanagerJudge, tmp_path: Path,
                                                    config: dict[str, Any]) -> None:
    path = _write(tmp_path, config)
    model = alertrouting.load(path)
    alerts = [{"alertname": "T", "case": str(case)} for case in range(4)]
    before = datetime.now(UTC)
    answers = judge.answer(path, alerts, flush=True)
    after = datetime.now(UTC)
    for alert, answer in zip(alerts, answers, strict=True):
        then, now = model.muted_by(alert, before), model.muted_by(alert, after)
        if then != now:
            continue  # an interval began or ended during the flush
        assert sorted(now["r0"]) == sorted(answer.muted_by), (alert, path.read_text())
