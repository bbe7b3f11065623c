"""`make bench`: how fast the stack starts, how fast an alert arrives, how long the suite takes.

Writes and prints reports/bench.json. Numbers, not pass/fail: CI machines are
noisy, so targets are read by people (see the README), not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import requests
import yaml

from obsharness import logql
from obsharness.bench_replay import (
    FOR_5M_ALERT,
    PACK_SIZE,
    measure_replay_alert,
    measure_replay_pack,
)
from obsharness.bench_sources import measure_sources
from obsharness.binaries import resolve, version_of
from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.loki import LokiClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.faults import ChaosClient
from obsharness.interrupts import unwind_on_sigterm
from obsharness.load import TrafficGenerator
from obsharness.quiet import load_exemptions
from obsharness.scenario import Quiescence, wait_for_targets
from obsharness.sinks.smtp import SmtpSink
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import LOG_AGENTS, Manifest, default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack
from obsharness.waiting import WaitTimeout, eventually

HEADLINE_ALERT = "HighErrorRate"
APP_FOR_LOGS = "flask-app"
# (alert, service, fault): each alert caused the way the scenarios cause it.
ALERT_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("HighErrorRate", "flask-app", {"error_rate": 0.2}),
    ("ServiceDown", "flask-app", {"crash": True}),
    ("HighLatency", "node-app", {"latency_ms": 1500}),
    ("HighCPU", "flask-app", {"cpu_burn": 1.0}),
]
# Alertmanager (0.25-0.28) drops empty alert groups on a fixed 30 s tick; a new
# incident in a group that still exists waits for group_interval instead of
# group_wait. Trials are spaced so each one is a new incident, as in production.
GROUP_GC_S = 31.0


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {
        "p50": round(percentile(values, 0.5), 3),
        "p95": round(percentile(values, 0.95), 3),
        "n": len(values),
        "samples": [round(v, 3) for v in values],
    }


def measure_starts(manifest: Manifest, sinks: dict[str, str], scale: float,
                   runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="obsharness-bench-") as tmp:
            began = time.monotonic()
            with ProcessStack(manifest, Path(tmp), time_scale=scale, sink_addresses=sinks):
                times.append(time.monotonic() - began)
    return times


def measure_time_to_alert(
    manifest: Manifest, sink: WebhookSink, sinks: dict[str, str], scale: float, trials: int,
    run_dir: Path, cases: list[tuple[str, str, dict[str, Any]]],
) -> tuple[dict[str, tuple[list[float], float, int]], dict[str, Any]]:
    """Per alert: the samples (fault -> webhook receipt), the floor_s and the trials that
    missed the deadline; and the log ingestion latency where Loki and an agent run."""
    results: dict[str, tuple[list[float], float, int]] = {}
    missed: dict[str, int] = {}
    with ProcessStack(manifest, run_dir, time_scale=scale, sink_addresses=sinks) as stack:
        log_latency = measure_log_latency(stack, LOG_LINES)
        timing = stack.rendered.timing
        quiet = Quiescence(PrometheusClient(stack.url("prometheus")),
                           AlertmanagerClient(stack.url("alertmanager")), timing,
                           load_exemptions(manifest.stack_dir))
        wait_for_targets(PrometheusClient(stack.url("prometheus")),
                         set(stack.rendered.scrape_jobs), timeout=30)
        for alert, service, fault in cases:
            chaos = ChaosClient(service, stack.url(service), token=stack.chaos_token)
            traffic = TrafficGenerator(stack.url(service), rate_per_s=20).start()
            samples: list[float] = []
            try:
                time.sleep(timing.alert_window_ms[alert] / 1000)  # a window of clean traffic
                for trial in range(trials):
                    sink.clear()
                    if fault.get("crash"):
                        stack.kill(service)
                        fault_at = time.time()
                    else:
                        fault_at = chaos.inject(**fault).at
                    try:
                        match = sink.wait_for(alert, status="firing", labels={"service": service},
                                              not_before=fault_at,
                                              timeout=timing.fire_deadline_s(alert))
                    except WaitTimeout:
                        # A benchmark reports a miss and goes on (a starved machine can keep
                        # HighCPU under its threshold); the misses are in the output.
                        missed[alert] = missed.get(alert, 0) + 1
                        print(f"  {alert} trial {trial + 1}/{trials}: no notification within "
                              f"{timing.fire_deadline_s(alert):.1f} s", flush=True)
                        stack.restore()
                        chaos.clear()
                        quiet.wait()
                        continue
                    samples.append(match.notification.received_at - fault_at)
                    print(f"  {alert} trial {trial + 1}/{trials}: {samples[-1]:.2f} s", flush=True)
                    stack.restore()
                    chaos.clear()
                    cleared = time.time()
                    sink.wait_for(alert, status="resolved", labels={"service": service},
                                  not_before=cleared, timeout=timing.resolve_deadline_s(alert))
                    quiet.wait()
                    time.sleep(GROUP_GC_S)
            finally:
                traffic.stop()
            results[alert] = (samples, timing.floor_s(alert), missed.get(alert, 0))
    return results, log_latency


# Lines timed for log_latency_s: enough for a p95 that is not the maximum of five.
LOG_LINES = 20


def _batch_wait(stack: ProcessStack, agent: str) -> str:
    """The agent's batch wait as its rendered config says (Promtail's client batchwait)."""
    if agent != "promtail":
        return "see its config"
    config = yaml.safe_load(stack.rendered.configs["promtail"].read_text()) or {}
    clients = config.get("clients") or [{}]
    return str(clients[0].get("batchwait", "1s (Promtail's default)"))


def measure_log_latency(stack: ProcessStack, lines: int) -> dict[str, Any]:
    """Line written by an app -> queryable in Loki, by a request id only that line carries."""
    agents = [a for a in LOG_AGENTS if a in stack.components()]
    if "loki" in stack.unavailable or not agents:
        missing = stack.unavailable.get("loki") or stack.unavailable.get("promtail")
        return {"skipped": str(missing) if missing else "no log agent runs"}
    stack.use_only(agents[0], list(LOG_AGENTS))  # one agent, or every line arrives twice
    loki = LokiClient(stack.url("loki"))
    samples = []
    for line in range(lines):
        request_id = f"bench-{time.time_ns()}-{line}"
        began = time.time()
        requests.get(stack.url(APP_FOR_LOGS) + "/", headers={"X-Request-ID": request_id},
                     timeout=10)
        query = logql.contains(logql.selector(service=APP_FOR_LOGS), request_id)
        outcome = eventually(partial(loki.query_range, query, start_ns=int(began * 1e9)),
                             bool, what=f"a line for {query}", timeout=30, interval=0.05)
        samples.append(outcome.elapsed_s)
    return {**_stats(samples), "agent": agents[0],
            "agent_batch_wait": _batch_wait(stack, agents[0]),
            "loki": version_of(resolve("loki"))}


def log_latency_fields(measured: dict[str, Any]) -> dict[str, Any]:
    """bench.json's log fields: the numbers, or null and the reason with the way to get
    Loki or an agent (a machine without them measures everything else)."""
    skipped = measured.get("skipped")
    return {"log_latency_s": None if skipped else measured, "log_latency_skipped": skipped}


def measure_suite(root: Path, workers: int, *args: str) -> dict[str, Any]:
    """Wall time of one pytest run (the scenarios, or `tests` for the library's own) with
    `workers` parallel workers (0: serial), its reports kept out of reports/."""
    with tempfile.TemporaryDirectory(prefix="obsharness-bench-suite-") as tmp:
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers),
             f"--run-dir={tmp}/run", f"--junitxml={tmp}/junit.xml",
             f"--cucumberjson={tmp}/cucumber.json", *args],
            cwd=root, check=False, capture_output=True, text=True)
        seconds = time.monotonic() - began
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    return {"seconds": round(seconds, 1), "workers": workers, "exit": done.returncode,
            "summary": summary.strip("= ")}


def workers_like_make(extra: int) -> int:
    """What `make` uses: cores + extra workers on a multi-core machine, else serial."""
    cores = os.cpu_count() or 1
    return cores + extra if cores > 1 else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--skip-suite", action="store_true",
                        help="skip the suite timings (scenarios serial and parallel, unit tests)")
    parser.add_argument("--alert", action="append", default=[],
                        help="only these alerts (repeatable); default: all four")
    parser.add_argument("--out", default="reports/bench.json")
    args = parser.parse_args(argv)
    unwind_on_sigterm()  # a `timeout` or a CI deadline still removes the stacks' temp dirs
    manifest = load_manifest(default_manifest_path())
    root = manifest.stack_dir.parent
    out = root / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    with WebhookSink(path=manifest.sinks["alert-webhook"].path) as sink, SmtpSink() as smtp:
        sinks = {"alert-webhook": sink.address, "mail-relay": smtp.address}
        print(f"stack start x{args.starts} ...", flush=True)
        starts = measure_starts(manifest, sinks, args.time_scale, args.starts)
        print(f"time to alert x{args.trials} per alert (trials {GROUP_GC_S:.0f} s apart) ...",
              flush=True)
        cases = [c for c in ALERT_CASES if not args.alert or c[0] in args.alert]
        with tempfile.TemporaryDirectory(prefix="obsharness-bench-") as tmp:
            per_alert, log_latency = measure_time_to_alert(
                manifest, sink, sinks, args.time_scale, args.trials, Path(tmp), cases
            )
    headline = HEADLINE_ALERT if HEADLINE_ALERT in per_alert else next(iter(per_alert))
    alerts, floor, _ = per_alert[headline]
    result: dict[str, Any] = {
        "time_scale": args.time_scale,
        "stack_start_s": round(statistics.median(starts), 3),
        "stack_start_samples_s": [round(s, 3) for s in starts],
        "headline_alert": headline,
        "time_to_alert_s": _stats(alerts),
        "floor_s": round(floor, 3),
        "time_to_alert_p50_over_floor": round(percentile(alerts, 0.5) / floor, 3),
        **log_latency_fields(log_latency),
        "per_alert": {
            name: {"time_to_alert_s": _stats(samples) if samples else {"n": 0},
                   "floor_s": round(f, 3), "missed_trials": misses,
                   "p50_over_floor": round(percentile(samples, 0.5) / f, 3) if samples else None}
            for name, (samples, f, misses) in per_alert.items()
        },
    }
    print(f"replayed {FOR_5M_ALERT} (for: 5m) x{args.trials} and a {PACK_SIZE}-alert pack ...",
          flush=True)
    replayed = measure_replay_alert(manifest, args.time_scale, args.trials)
    result["replay_alert_s"] = replayed
    result["replay_pack_s"] = measure_replay_pack(manifest.stack_dir, args.time_scale)
    print("sources at kube-prometheus' scale ...", flush=True)
    result["sources"] = measure_sources(manifest.stack_dir)
    if not args.skip_suite:
        scenario_workers, unit_workers = workers_like_make(1), workers_like_make(2)
        print(f"scenario suite, serial and with {scenario_workers} workers ...", flush=True)
        result["suite_s"] = {"serial": measure_suite(root, 0),
                             "parallel": measure_suite(root, scenario_workers)}
        print(f"library tests with {unit_workers} workers ...", flush=True)
        result["unit_s"] = measure_suite(root, unit_workers, "tests")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(out.read_text())
    return 0


def _main() -> int:
    try:
        return main()
    except KeyboardInterrupt as stopped:
        print(f"obsharness bench: interrupted ({stopped or 'Ctrl-C'}); every stack and temp "
              "dir was removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(_main())
