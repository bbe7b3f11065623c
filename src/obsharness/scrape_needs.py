"""What each scrape job really needs to answer, so that compression never breaks a scrape.

At 60x a 15s interval is 250 ms, and a scrape timeout with it: postgres_exporter needs
about a second while its database is down, so `pg_up` would go absent instead of 0
and `pg_up == 0` could never fire. Every stack the harness runs measures, when it
stops, the longest `scrape_duration_seconds` of each job over its run (faults the
scenarios injected included) and keeps the maximum per job in
.cache/obsharness/scrape-needs.json beside stack/. The next render keeps each job's
timeout at SCRAPE_MARGIN times that need, raising its interval with it where the
compressed interval is shorter, and says so in a TimeCompressionFloorWarning naming
the job and the floor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from obsharness.clients.prometheus import PrometheusAPIError, PrometheusClient

SCRAPE_MARGIN = 1.5
# Needs under this are not recorded: every compressed timeout is above it.
MINIMUM_S = 0.05
IGNORED_JOBS = frozenset({"obsharness-replay"})  # the replay states its own need


def path_for(stack_dir: Path) -> Path:
    return stack_dir.parent / ".cache" / "obsharness" / "scrape-needs.json"


def load(stack_dir: Path) -> dict[str, float]:
    try:
        data = json.loads(path_for(stack_dir).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def measure(prometheus: PrometheusClient, window_s: float) -> dict[str, float]:
    """The longest scrape of each job over the last `window_s` seconds."""
    window = max(1, int(window_s))
    try:
        samples = prometheus.query(
            f"max by (job) (max_over_time(scrape_duration_seconds[{window}s]))")
    except (PrometheusAPIError, OSError):
        return {}
    return {s.labels["job"]: s.value for s in samples
            if "job" in s.labels and s.labels["job"] not in IGNORED_JOBS}


def record(stack_dir: Path, measured: Mapping[str, float]) -> None:
    """Keeps the maximum seen per job."""
    known = load(stack_dir)
    changed = False
    for job, seconds in measured.items():
        if seconds >= MINIMUM_S and seconds > known.get(job, 0.0):
            known[job] = round(seconds, 3)
            changed = True
    if changed:
        target = path_for(stack_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_text(json.dumps(dict(sorted(known.items())), indent=1) + "\n")
        partial.replace(target)


def floor_ms(need_s: float | None) -> int:
    return round(need_s * SCRAPE_MARGIN * 1000) if need_s else 0
