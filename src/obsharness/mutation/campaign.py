"""`obsharness mutate`: how much of the monitoring would the suite notice breaking?

A campaign generates the mutants from the project (reading only), gives each
of its `workers` pytest sessions (obsharness.mutation.session) a copy of
stack/ and infra/ and a share of the mutants, each run against that session's
one stack reloaded in place, and writes reports/mutation.json with the score
per flow and every survivor's diff. stack/ itself is never written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsharness.binaries import cache_dir
from obsharness.errors import MutationError, ObsharnessError
from obsharness.infra.checkov import CHECKOV_ENV, find_checkov
from obsharness.interrupts import terminate_like_ctrl_c
from obsharness.mutation.generate import all_mutants, select
from obsharness.mutation.layout import layout_of
from obsharness.mutation.model import FLOWS, Mutant
from obsharness.mutation.progress import Progress

SURVIVORS_FILE = "mutation-survivors.yml"
CAUGHT = ("caught by validation", "caught by behaviour")


def parse_budget(text: str) -> float:
    """'30m', '1h', '90s' or a number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise MutationError(f"--budget {text!r}: give a duration such as 30m, 1h or 600s")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


@dataclass
class Options:
    project: Path
    reports_dir: Path
    budget_s: float = 1800.0
    only: tuple[str, ...] = ()
    max_mutants: int | None = None
    seed: int = 0
    scenarios_per_mutant: int = 3
    time_scale: float | None = None
    ids: tuple[str, ...] = ()  # exactly these mutants (e.g. to rerun a survivor)
    workers: int = 1  # sessions side by side, each with its own workspace and stack
    quiet: bool = False  # no line per mutant while it runs, only the table at the end
    shard: tuple[int, int] | None = None  # (K, N): this runner judges the K-th of N parts


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise MutationError(f"--shard {text!r}: give K/N with 1 <= K <= N, such as 2/4")
    return int(match[1]), int(match[2])


def shard_of(mutant_id: str, shards: int) -> int:
    """Which of N shards (1-based) judges a mutant: by its id alone, so every runner of
    a matrix agrees without talking to the others, and a mutant keeps its shard while
    its file and mistake stay the same."""
    return int(hashlib.sha256(mutant_id.encode()).hexdigest(), 16) % shards + 1


def make_workspace(project: Path, into: Path) -> Path:
    """A copy of the project's monitoring code that mutants may be written to."""
    workspace = into / "project"
    layout_of(project).copy_into(workspace)
    return workspace


def load_reasons(project: Path) -> dict[str, str]:
    """Survivors the team has looked at: mutant id -> why it is left (equivalent
    mutant, out of reach here)."""
    path = layout_of(project).stack_dir / SURVIVORS_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise MutationError(f"{path}: expected a mapping of mutant id to reason")
    return {str(k): str(v) for k, v in data.items()}


def _plan(mutants: list[Mutant], workspace: Path, work: Path, options: Options,
          deadline: float) -> Path:
    folder = work / "mutants"
    folder.mkdir()
    entries = []
    for mutant in mutants:
        mutated = folder / f"{mutant.id}.mutant"
        original = folder / f"{mutant.id}.original"
        mutated.write_text(mutant.mutated)
        original.write_text((workspace / mutant.path).read_text())
        entries.append({"id": mutant.id, "flow": mutant.flow, "path": mutant.path,
                        "subjects": list(mutant.subjects), "mutated_file": str(mutated),
                        "original_file": str(original)})
    plan = work / "plan.json"
    plan.write_text(json.dumps({
        "project": str(workspace), "results": str(work / "results.json"),
        "deadline": deadline, "scenarios_per_mutant": options.scenarios_per_mutant,
        "mutants": entries}, indent=1))
    return plan


def choose(generated: list[Mutant], options: Options) -> list[Mutant]:
    if options.ids:
        unknown = set(options.ids) - {m.id for m in generated}
        if unknown:
            raise MutationError(f"--mutant: no such mutant {', '.join(sorted(unknown))} "
                                "(ids change when the file or the mistake changes)")
        chosen = [m for m in generated if m.id in options.ids]
    else:
        chosen = select(generated, options.only, options.max_mutants, options.seed)
    if options.shard is None:
        return chosen
    index, shards = options.shard
    return [m for m in chosen if shard_of(m.id, shards) == index]


def run(options: Options, echo: Any = print) -> dict[str, Any]:
    """Run a campaign; returns (and writes) the mutation report."""
    began = time.time()
    deadline = began + options.budget_s
    generated = all_mutants(options.project)  # reads only; mutants go to workspaces
    chosen = choose(generated, options)
    workers = max(1, min(options.workers, len(chosen)))
    echo(f"obsharness mutate: {len(generated)} mutants generated, {len(chosen)} chosen "
         f"(seed {options.seed}), {workers} session(s), budget {options.budget_s:.0f} s")
    with tempfile.TemporaryDirectory(prefix="obsharness-mutate-") as tmp:
        sessions = []
        for index in range(workers):
            work = Path(tmp) / f"s{index}"
            workspace = make_workspace(options.project, work)
            # Round robin keeps every session's share of each flow (and of slow ones).
            plan = _plan(chosen[index::workers], workspace, work, options, deadline)
            sessions.append((work, _argv(plan, work, options), _env(workspace)))
        progress = None if options.quiet else Progress(
            {m.id: m.flow for m in chosen}, deadline, lambda done: _score(done)["score"], echo)
        outputs = _sessions(sessions, options.project, progress)
        results: dict[str, dict[str, Any]] = {}
        for (work, _, _), output in zip(sessions, outputs, strict=True):
            results_path = work / "results.json"
            if not results_path.is_file():
                raise MutationError("a mutation session ended before its first mutant:\n"
                                    + output[-3000:])
            finished = json.loads(results_path.read_text())
            planned = len(json.loads((work / "plan.json").read_text())["mutants"])
            if len(finished) < planned:  # a session that died says why
                echo(f"obsharness mutate: session {work.name} stopped after {len(finished)} "
                     f"of {planned} mutants; its last lines:\n{output[-2000:]}")
            results.update({r["id"]: r for r in finished})
    report = build_report(chosen, results, load_reasons(options.project), generated,
                          options, time.time() - began)
    options.reports_dir.mkdir(parents=True, exist_ok=True)
    (options.reports_dir / "mutation.json").write_text(json.dumps(report, indent=1))
    return report


def _env(workspace: Path) -> dict[str, str]:
    """The workspace is another project root: the team's binary cache and checkov
    (in the project's own virtualenv) are named so the scenarios find them."""
    env = {**os.environ, "OBSHARNESS_STACK": str(workspace / layout_of(workspace).manifest),
           "OBSHARNESS_CACHE": str(cache_dir())}
    with contextlib.suppress(ObsharnessError):
        env.setdefault(CHECKOV_ENV, str(find_checkov()))
    return env


def _argv(plan: Path, work: Path, options: Options) -> list[str]:
    # The project's own testpaths (pytest.ini): steps/ here, a team's obsharness/.
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
            "-p", "obsharness.mutation.session", f"--mutation-plan={plan}",
            f"--run-dir={work / 'reports' / 'run'}", "-q", "-n", "0",
            # Reloading in place is the process backend's (ProcessStack.reload).
            "--stack-backend=process",
            "-o", f"addopts=--junitxml={work / 'junit.xml'} "
            "--cucumberjson=" + str(work / "cucumber.json")]
    if options.time_scale:
        argv.append(f"--time-scale={options.time_scale}")
    return argv


# How often a running campaign looks for finished mutants to print.
PROGRESS_POLL_S = 2.0


def _sessions(sessions: list[tuple[Path, list[str], dict[str, str]]], cwd: Path,
              progress: Progress | None = None) -> list[str]:
    """Run the pytest sessions side by side, printing each mutant as it finishes; on
    Ctrl-C or SIGTERM each is stopped the way pytest tears its stack down (SIGTERM,
    then wait), never left running."""
    children: list[subprocess.Popen[str]] = []
    previous = signal.signal(signal.SIGTERM, terminate_like_ctrl_c) \
        if threading.current_thread() is threading.main_thread() else None
    try:
        for work, argv, env in sessions:
            with (work / "session.log").open("w") as out:
                children.append(subprocess.Popen(argv, cwd=cwd, env=env, stdout=out,
                                                 stderr=subprocess.STDOUT, text=True))
        if progress is None:
            for child in children:
                child.wait()
        else:
            results = [work / "results.json" for work, _, _ in sessions]
            while any(child.poll() is None for child in children):
                progress.poll(results)
                time.sleep(PROGRESS_POLL_S)
            progress.poll(results)
    except BaseException:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=120)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return [(work / "session.log").read_text() for work, _, _ in sessions]




# Not in the score: never started (budget), or a scenario that failed on the
# unmutated stack too (a loaded machine, not a catch).
UNSCORED = ("not run", "undecided")


def _score(entries: list[dict[str, Any]]) -> dict[str, Any]:
    ran = [e for e in entries if e["outcome"] not in UNSCORED]
    counts = {outcome: sum(1 for e in entries if e["outcome"] == outcome)
              for outcome in (*CAUGHT, "survived", "out of reach", *UNSCORED)}
    caught = counts[CAUGHT[0]] + counts[CAUGHT[1]]
    # Out of reach (every scenario that sees it skipped: no Loki here) is neither caught
    # nor missed: the score is over the mutants this machine could judge, counted apart.
    judged = len(ran) - counts["out of reach"]
    return {**counts, "run": len(ran), "judged": judged,
            "score": round(caught / judged, 4) if judged else None}


def _allowed_elsewhere(mutant: Mutant, project: Path) -> tuple[str, str] | None:
    """(rule, reason) when the mutant's rule is in the reach allowlist."""
    from obsharness.errors import ObsharnessError
    from obsharness.rule_reach import load_allowlist

    try:
        allowlist = load_allowlist(layout_of(project).stack_dir)
    except ObsharnessError:
        return None
    return next(((name, allowlist[name]) for name in mutant.subjects if name in allowlist),
                None)


def build_report(chosen: list[Mutant], results: dict[str, dict[str, Any]],
                 reasons: dict[str, str], generated: list[Mutant], options: Options,
                 seconds: float) -> dict[str, Any]:
    entries = []
    for mutant in chosen:
        result = results.get(mutant.id, {"outcome": "not run",
                                         "detail": "the session stopped before it"})
        entry = {**mutant.as_dict(), **result}
        elsewhere = _allowed_elsewhere(mutant, options.project)
        if entry["outcome"] == "survived" and elsewhere and mutant.id not in reasons:
            # A rule the team keeps for another environment: nothing here feeds it, so
            # no scenario of this stack can see its mistake (a replay scenario can).
            entry["outcome"] = "out of reach"
            entry["detail"] = f"{elsewhere[0]} is allowed elsewhere: {elsewhere[1]}"
        if entry["outcome"] == "survived":
            entry["reason"] = reasons.get(mutant.id)
        elif entry["outcome"] == "out of reach":
            # The skip says why: a component this machine cannot run.
            entry["reason"] = reasons.get(mutant.id) or (
                f"out of reach here: {entry['detail']}" if entry.get("detail") else None)
        entries.append(entry)
    return {
        "generated": len(generated), "chosen": len(chosen), "seed": options.seed,
        "only": list(options.only), "max_mutants": options.max_mutants,
        "shard": {"index": options.shard[0], "of": options.shard[1]} if options.shard else None,
        "budget_s": options.budget_s, "duration_s": round(seconds, 1),
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        # Reasons kept for mutants no longer generated: the file or the mistake changed.
        "stale_reasons": sorted(set(reasons) - {m.id for m in generated}),
        **_tally(entries),
    }


def _tally(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """What a report says of its mutants: a campaign's, or every shard's together."""
    return {
        "score": _score(entries),
        "per_flow": {flow: _score([e for e in entries if e["flow"] == flow])
                     for flow in FLOWS if any(e["flow"] == flow for e in entries)},
        "unmutated_failures": unmutated_failures(entries),
        "unexplained_survivors": [e["id"] for e in entries
                                  if e["outcome"] in ("survived", "out of reach")
                                  and not e.get("reason")],
        "mutants": entries,
    }


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One report from the shards of a campaign: every mutant once, the score and the
    per-flow table over all of them. A missing or foreign shard is an error: a merged
    score over part of the mutants would read as the whole campaign's."""
    shards = [p.get("shard") for p in parts]
    if not parts or any(s is None for s in shards):
        raise MutationError("--merge takes the mutation.json of every shard of one "
                            "campaign (run with --shard K/N)")
    total = {s["of"] for s in shards if s}
    indices = sorted(s["index"] for s in shards if s)
    if len(total) != 1 or indices != list(range(1, next(iter(total)) + 1)):
        raise MutationError(f"--merge: shards {indices} of {sorted(total)}; every shard "
                            f"1..N of one campaign is needed, once each")
    if len({(p["generated"], p["seed"], tuple(p["only"]), p["max_mutants"]) for p in parts}) > 1:
        raise MutationError("--merge: the shards ran different campaigns (generated "
                            "mutants, --seed, --only or --max-mutants differ)")
    entries = sorted((e for p in parts for e in p["mutants"]), key=lambda e: e["id"])
    first = parts[0]
    return {
        **{k: first[k] for k in ("generated", "seed", "only", "max_mutants", "budget_s",
                                 "stale_reasons")},
        "chosen": sum(p["chosen"] for p in parts), "shard": None,
        "shards": [{"index": p["shard"]["index"], "chosen": p["chosen"],
                    "duration_s": p["duration_s"]} for p in parts],
        "duration_s": max(p["duration_s"] for p in parts),
        "finished_at": max(p["finished_at"] for p in parts),
        **_tally(entries),
    }


def unmutated_failures(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Scenarios that failed with no mutant in place: at a session's start (its mutants
    were not run) or right after a mutant seemed caught (undecided). One entry per
    scenario, with its own message: the suite is red there, whatever the mutants."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if "unmutated_failure" not in entry:
            continue
        scenario = entry.get("by") or "?"
        seen = found.setdefault(scenario, {"scenario": scenario, "mutants": [],
                                           "message": entry["unmutated_failure"]})
        seen["mutants"].append(entry["id"])
    return list(found.values())


def summary(report: dict[str, Any]) -> str:
    """The table printed at the end of a campaign."""
    lines = [f"{'flow':<13} {'run':>4} {'validation':>10} {'behaviour':>9} {'survived':>8} "
             f"{'no reach':>8} {'undecided':>9} {'not run':>7} {'score':>6}"]
    for flow, s in [*report["per_flow"].items(), ("all", report["score"])]:
        score = f"{s['score']:.0%}" if s["score"] is not None else "-"
        lines.append(f"{flow:<13} {s['run']:>4} {s[CAUGHT[0]]:>10} {s[CAUGHT[1]]:>9} "
                     f"{s['survived']:>8} {s['out of reach']:>8} {s['undecided']:>9} "
                     f"{s['not run']:>7} {score:>6}")
    for stale in report.get("stale_reasons", []):
        lines.append(f"  stale reason: {stale} in stack/{SURVIVORS_FILE} is no mutant any more")
    for entry in report["mutants"]:
        if entry["outcome"] == "undecided":
            lines.append(f"  undecided: {entry['id']} {entry['path']}: {entry['description']} "
                         f"({entry['by']} failed on the unmutated stack too)")
        if entry["outcome"] == "survived":
            why = entry.get("reason") or "no reason recorded"
            lines.append(f"  {entry['outcome']}: {entry['id']} {entry['path']}: "
                         f"{entry['description']} ({why})")
    # One line per reason, not per mutant: "12 out of reach: loki is not available ...".
    unreached: dict[str, list[str]] = {}
    for entry in report["mutants"]:
        if entry["outcome"] == "out of reach":
            unreached.setdefault(entry.get("reason") or "no reason recorded",
                                 []).append(entry["id"])
    for why, ids in unreached.items():
        lines.append(f"  {len(ids)} out of reach ({', '.join(ids)}): {why}")
    # Last, where the eye lands: the suite itself failed, so those mutants are unjudged.
    for failure in report.get("unmutated_failures", []):
        lines.append(f"  FAILED on the unmutated stack: {failure['scenario']} "
                     f"({len(failure['mutants'])} mutant(s) left unjudged: "
                     f"{', '.join(failure['mutants'][:5])}"
                     f"{' ...' if len(failure['mutants']) > 5 else ''})")
        lines += [f"      {line}" for line in failure["message"].splitlines()]
    return "\n".join(lines)
