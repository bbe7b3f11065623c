"""`make bench`: how fast the stack starts, how fast an alert arrives, how long the suite takes.

Writes and prints reports/bench.json. Numbers, not pass/fail: CI machines are
noisy, so targets are read by people (see the README), not asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from obsharness.clients.alertmanager import AlertmanagerClient
from obsharness.clients.prometheus import PrometheusClient
from obsharness.faults import ChaosClient
from obsharness.load import TrafficGenerator
from obsharness.scenario import Quiescence
from obsharness.sinks.webhook import WebhookSink
from obsharness.stack.manifest import Manifest, default_manifest_path, load_manifest
from obsharness.stack.process import ProcessStack

ALERT = "HighErrorRate"
APP = "flask-app"
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


def measure_starts(manifest: Manifest, sink: WebhookSink, scale: float, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="obsharness-bench-") as tmp:
            began = time.monotonic()
            with ProcessStack(manifest, Path(tmp), time_scale=scale,
                              sink_addresses={"alert-webhook": sink.address}):
                times.append(time.monotonic() - began)
    return times


def measure_time_to_alert(
    manifest: Manifest, sink: WebhookSink, scale: float, trials: int, run_dir: Path
) -> tuple[list[float], float]:
    samples: list[float] = []
    with ProcessStack(manifest, run_dir, time_scale=scale,
                      sink_addresses={"alert-webhook": sink.address}) as stack:
        timing = stack.rendered.timing
        chaos = ChaosClient(APP, stack.url(APP))
        quiet = Quiescence(PrometheusClient(stack.url("prometheus")),
                           AlertmanagerClient(stack.url("alertmanager")), timing)
        traffic = TrafficGenerator(stack.url(APP), rate_per_s=40).start()
        try:
            time.sleep(timing.alert_window_ms[ALERT] / 1000)  # a full window of clean traffic
            for trial in range(trials):
                sink.clear()
                fault = chaos.inject(error_rate=0.2)
                match = sink.wait_for(ALERT, status="firing", labels={"service": APP},
                                      not_before=fault.at,
                                      timeout=timing.fire_deadline_s(ALERT))
                samples.append(match.notification.received_at - fault.at)
                print(f"  trial {trial + 1}/{trials}: time to alert {samples[-1]:.2f} s",
                      flush=True)
                chaos.clear()
                cleared = time.time()
                sink.wait_for(ALERT, status="resolved", labels={"service": APP},
                              not_before=cleared, timeout=timing.resolve_deadline_s(ALERT))
                quiet.wait()
                if trial + 1 < trials:
                    time.sleep(GROUP_GC_S)
        finally:
            traffic.stop()
    return samples, timing.floor_s(ALERT)


def measure_suite(root: Path) -> float:
    began = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - began


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--skip-suite", action="store_true")
    parser.add_argument("--out", default="reports/bench.json")
    args = parser.parse_args(argv)
    manifest = load_manifest(default_manifest_path())
    root = manifest.stack_dir.parent
    out = root / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    with WebhookSink(path=manifest.sinks["alert-webhook"].path) as sink:
        print(f"stack start x{args.starts} ...", flush=True)
        starts = measure_starts(manifest, sink, args.time_scale, args.starts)
        print(f"time to alert x{args.trials} (trials {GROUP_GC_S:.0f} s apart) ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="obsharness-bench-") as tmp:
            alerts, floor = measure_time_to_alert(
                manifest, sink, args.time_scale, args.trials, Path(tmp)
            )
    result: dict[str, Any] = {
        "time_scale": args.time_scale,
        "stack_start_s": round(statistics.median(starts), 3),
        "stack_start_samples_s": [round(s, 3) for s in starts],
        "time_to_alert_s": _stats(alerts),
        "floor_s": round(floor, 3),
        "time_to_alert_p50_over_floor": round(percentile(alerts, 0.5) / floor, 3),
        "per_alert": {ALERT: {"time_to_alert_s": _stats(alerts), "floor_s": round(floor, 3)}},
    }
    if not args.skip_suite:
        print("scenario suite ...", flush=True)
        result["suite_s"] = round(measure_suite(root), 3)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
