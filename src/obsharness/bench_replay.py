"""`make bench`'s replay numbers: how long a replayed alert takes to reach the webhook
against its compressed floor, and how long a 100-alert pack takes in one stack run."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from obsharness.replay.command import pipeline_for
from obsharness.replay.notation import parse_series
from obsharness.replay.session import Replay
from obsharness.stack.manifest import Manifest, load_manifest
from obsharness.waiting import eventually

# InstanceDown of stack/prometheus/rules/fleet.yml: `up == 0` for 5m.
FOR_5M_ALERT = "InstanceDown"
PACK_SIZE = 100


def measure_replay_alert(manifest: Manifest, scale: float, trials: int) -> dict[str, Any]:
    """From the replay's first scrape (its time zero) to the webhook's receipt, each trial
    through a pipeline of its own (a new incident every time, as in production)."""
    samples = []
    floor_s = 0.0
    for trial in range(trials):
        with tempfile.TemporaryDirectory(prefix="obsharness-bench-replay-") as tmp, \
                pipeline_for(manifest, Path(tmp), time_scale=scale) as pipe:
            row = parse_series(f'up{{job="node-exporter",instance="bench-{trial}:9100"}}', "0x30")
            replay = Replay(pipe.server, [row], 60_000, pipe.scaler, name="bench")
            started = replay.start()
            try:
                match = pipe.webhook.wait_for(
                    FOR_5M_ALERT, labels={"instance": f"bench-{trial}:9100"}, timeout=60)
            finally:
                replay.stop()
            samples.append(match.notification.received_at - started)
            # The least the config allows from the first bad sample: `for` + group_wait,
            # compressed (the first evaluation after the scrape adds 0 to 1 interval).
            floor_s = (pipe.scaler.scale_ms(300_000) + pipe.group_wait_ms) / 1000
    p50 = statistics.median(samples)
    return {"alert": FOR_5M_ALERT, "p50": round(p50, 3), "samples": [round(s, 3) for s in samples],
            "floor_s": round(floor_s, 3), "p50_over_floor": round(p50 / floor_s, 3)}


def _pack(size: int) -> str:
    rules = [{"alert": f"PackAlert{n:03d}", "expr": f'pack_metric{{pack="{n}"}} > 0',
              "for": "1m", "labels": {"severity": "warning"}} for n in range(size)]
    return yaml.safe_dump({"groups": [{"name": "bench-pack", "rules": rules}]})


def measure_replay_pack(stack_dir: Path, scale: float, size: int = PACK_SIZE) -> dict[str, Any]:
    """A pack of `size` alerts, each fed by its own replayed series, in one stack run:
    from the replay's first scrape until every alert reached the webhook."""
    with tempfile.TemporaryDirectory(prefix="obsharness-bench-pack-") as tmp:
        stack = Path(tmp) / "stack"
        shutil.copytree(stack_dir, stack, ignore=shutil.ignore_patterns(
            "node_modules", "__pycache__", "apps"))
        (stack / "apps").symlink_to(stack_dir.resolve() / "apps")  # read, never run here
        (stack / "prometheus" / "rules" / "bench-pack.yml").write_text(_pack(size))
        with pipeline_for(load_manifest(stack / "stack.yaml"), Path(tmp) / "run",
                          time_scale=scale) as pipe:
            rows = [parse_series(f'pack_metric{{job="pack",instance="host-{n % 10}",'
                                 f'pack="{n}"}}', "1x20") for n in range(size)]
            replay = Replay(pipe.server, rows, 60_000, pipe.scaler, name="pack")
            started = replay.start()
            try:
                eventually(lambda: {a["labels"]["alertname"] for n in pipe.webhook.notifications()
                                    for a in n.alerts if a.get("status") == "firing"},
                           lambda names: len(names) >= size,
                           what=f"all {size} alerts of the pack at the webhook", timeout=120)
            finally:
                replay.stop()
            took = time.time() - started
    return {"alerts": size, "seconds": round(took, 3)}
