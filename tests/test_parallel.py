"""Parallel workers: turns of the machine, longest-first order, one merged report."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from obsharness import durations
from obsharness.report.results import RunResults, ScenarioResult, merge

WORKER = r'''
import contextlib, os, sys, time
from pathlib import Path
from obsharness.turns import Turns

lock, worker, workers, plan, log = sys.argv[1:]

def say(event):
    with open(log, "a") as out:
        out.write(f"{time.monotonic():.3f} w{worker} {event}\n")

@contextlib.contextmanager
def frozen():
    say("frozen")
    yield
    say("thawed")

turns = Turns(Path(lock), int(worker), int(workers))
for step in plan.split(","):
    kind, seconds = step[0], float(step[1:])
    turns.begin(exclusive=kind == "X", while_waiting=frozen)
    say(f"start {kind}")
    time.sleep(seconds)
    say(f"end {kind}")
    turns.end()
'''


def _events(log: Path) -> list[tuple[float, str]]:
    lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
    return [(float(at), event) for at, event in lines]


def test_an_exclusive_test_waits_for_the_others_and_runs_while_their_stacks_are_frozen(
        tmp_path: Path) -> None:
    lock, log = tmp_path / "turns.lock", tmp_path / "log"
    shared = subprocess.Popen([sys.executable, "-c", WORKER, str(lock), "0", "2", "S1.0,S0.2",
                               str(log)])
    time.sleep(0.4)  # worker 0 is inside its first test
    alone = subprocess.Popen([sys.executable, "-c", WORKER, str(lock), "1", "2", "X0.6",
                              str(log)])
    assert shared.wait(20) == 0
    assert alone.wait(20) == 0
    events = _events(log)
    at = {event: when for when, event in events}  # the last time of each event
    first_end = next(when for when, event in events if event == "w0 end S")
    # The exclusive test waited for the running one, and for worker 0 to freeze...
    assert at["w1 start X"] >= first_end
    assert at["w0 frozen"] <= at["w1 start X"]
    # ...which stayed frozen, its next test not started, until the exclusive one ended.
    assert at["w0 thawed"] >= at["w1 end X"]
    assert at["w0 start S"] >= at["w1 end X"]
    assert [event for _, event in events].count("w0 start S") == 2


def test_shared_turns_run_side_by_side_and_nobody_freezes(tmp_path: Path) -> None:
    lock, log = tmp_path / "turns.lock", tmp_path / "log"
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(lock), str(w), "2", "S0.8",
                                 str(log)]) for w in (0, 1)]
    assert [w.wait(20) for w in workers] == [0, 0]
    events = _events(log)
    starts = [when for when, event in events if event.endswith("start S")]
    ends = [when for when, event in events if event.endswith("end S")]
    assert max(starts) < min(ends)  # they overlapped
    assert not [event for _, event in events if "frozen" in event]


class _Item:
    def __init__(self, nodeid: str, exclusive: bool = False) -> None:
        self.nodeid, self.exclusive = nodeid, exclusive


def test_longest_first_new_tests_count_as_long_and_exclusive_ones_go_last() -> None:
    items = [_Item("short"), _Item("burn", exclusive=True), _Item("long"), _Item("new"),
             _Item("mid")]
    recorded = {"short": 1.0, "burn": 15.0, "long": 24.0, "mid": 8.0}
    order = durations.longest_first(items, recorded, last=lambda item: item.exclusive)
    assert [items[i].nodeid for i in order] == ["long", "new", "mid", "short", "burn"]
    assert durations.longest_first(items, {}) == [0, 1, 2, 3, 4]  # nothing recorded: as is


def test_tests_of_one_module_move_together_ordered_by_the_modules_total() -> None:
    items = [_Item("a.py::one"), _Item("a.py::two"), _Item("b.py::big"), _Item("c.py::x"),
             _Item("c.py::y")]
    recorded = {"a.py::one": 1.0, "a.py::two": 2.0, "b.py::big": 5.0, "c.py::x": 3.0,
                "c.py::y": 3.0}
    order = durations.longest_first(items, recorded, group=lambda i: i.nodeid.split("::")[0])
    assert [items[i].nodeid for i in order] == [
        "c.py::x", "c.py::y", "b.py::big", "a.py::one", "a.py::two"]


def test_recorded_durations_that_are_missing_or_not_json_are_none(tmp_path: Path) -> None:
    assert durations.load(tmp_path / "absent") == {}
    (tmp_path / "bad").write_text("{not json")
    assert durations.load(tmp_path / "bad") == {}
    (tmp_path / "ok").write_text('{"a::b": 1.5, "c": "x"}')
    assert durations.load(tmp_path / "ok") == {"a::b": 1.5}


def _scenario(nodeid: str, outcome: str) -> ScenarioResult:
    return ScenarioResult(nodeid=nodeid, feature="F", feature_file="f.feature", name=nodeid,
                          outcome=outcome)


def test_workers_reports_merge_into_one_with_each_scenario_from_the_worker_that_ran_it() -> None:
    gw0 = RunResults(scenarios=[_scenario("a", "passed"), _scenario("b", "unknown"),
                                _scenario("c", "unknown")])
    gw1 = RunResults(scenarios=[_scenario("a", "unknown"), _scenario("b", "failed"),
                                _scenario("c", "skipped")])
    merged = merge([gw0, gw1])
    assert [(s.nodeid, s.outcome) for s in merged.scenarios] == [
        ("a", "passed"), ("b", "failed"), ("c", "skipped")]


def test_the_group_suffix_of_loadgroup_is_not_confused_with_an_at_in_parameters() -> None:
    from obsharness.pytest_plugin import _recorded_nodeid

    grouped = _Item("tests/test_x.py::test_a[mail-oncall@example.com]@tests/test_x.py")
    plain = _Item("steps/test_scenarios.py::test_b[oncall@example.com]")
    assert _recorded_nodeid(grouped) == "tests/test_x.py::test_a[mail-oncall@example.com]"  # type: ignore[arg-type]
    assert _recorded_nodeid(plain) == plain.nodeid  # type: ignore[arg-type]
