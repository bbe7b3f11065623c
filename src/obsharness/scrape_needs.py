"""What each scrape job really needs to answer, so that compression never breaks a scrape.

At 60x a 15s interval is 250 ms, and a scrape timeout with it: postgres_exporter needs
about a second while its database is down, so `pg_up` would go absent instead of 0
and `pg_up == 0` could never fire. Every stack the harness runs measures, when it
stops, the longest `scrape_duration_seconds` of each job over its run that came close
to its timeout (faults the scenarios injected included) and keeps the maximum per job in
.cache/obsharness/scrape-needs.json beside stack/. The next render keeps each job's
timeout at SCRAPE_MARGIN times that need, raising its interval with it where the
compressed interval is shorter, and says so in a TimeCompressionFloorWarning naming
the job and the floor.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from obsharness.clients.prometheus import PrometheusAPIError, PrometheusClient
from obsharness.timing import parse_duration

SCRAPE_MARGIN = 1.5
# Needs under this are not recorded: every compressed timeout is above it.
MINIMUM_S = 0.05
AT_RISK = 0.8  # a scrape this close to its timeout is one load spike from failing
ARTEFACT = 1.2  # longer than its timeout: the machine paused, the target did not answer
IGNORED_JOBS = frozenset({"obsharness-replay"})  # the replay states its own need


def path_for(stack_dir: Path) -> Path:
    """$OBSHARNESS_SCRAPE_NEEDS, else the project's own .cache/: what one repository's
    targets need is its own (and the harness's own tests keep theirs apart)."""
    env = os.environ.get("OBSHARNESS_SCRAPE_NEEDS")
    if env:
        return Path(env)
    from obsharness.stack.manifest import project_dir_of

    manifest = stack_dir / "obsharness.yaml"
    project = project_dir_of(manifest if manifest.is_file() else stack_dir / "stack.yaml")
    return project / ".cache" / "obsharness" / "scrape-needs.json"


def load(stack_dir: Path) -> dict[str, float]:
    try:
        data = json.loads(path_for(stack_dir).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def rendered_jobs(config_path: Path) -> dict[str, tuple[float, set[str]]]:
    """Each static scrape job of a rendered prometheus.yml: (its timeout in seconds, the
    addresses of its targets). Replay targets and discovered ones are left out."""
    data = yaml.safe_load(config_path.read_text()) or {}
    glob = data.get("global") or {}
    default_interval = parse_duration(str(glob.get("scrape_interval") or "1m"))
    default_timeout = parse_duration(str(glob["scrape_timeout"])) if glob.get(
        "scrape_timeout") else min(10_000, default_interval)
    jobs = {}
    for job in data.get("scrape_configs") or []:
        name = str(job.get("job_name"))
        if name in IGNORED_JOBS:
            continue
        interval = parse_duration(str(job.get("scrape_interval") or "0s")) or default_interval
        timeout = parse_duration(str(job["scrape_timeout"])) if job.get("scrape_timeout") \
            else min(default_timeout, interval)
        targets = {str(t) for static in job.get("static_configs") or []
                   for t in static.get("targets") or []}
        jobs[name] = (timeout / 1000, targets)
    return jobs


def measure(prometheus: PrometheusClient, window_s: float,
            jobs: Mapping[str, tuple[float, set[str]]]) -> dict[str, float]:
    """The longest scrape of each job over the last `window_s` seconds that came close to
    its timeout (AT_RISK of it): the target needs more than the compressed clock gives.
    A scrape longer than its timeout is not a target's answer time but a pause of the
    whole machine (a frozen stack, a collector's pause) and is left out."""
    end = time.time()
    found: dict[str, float] = {}
    for job, (timeout_s, targets) in jobs.items():
        try:
            series = prometheus.query_range(
                f'scrape_duration_seconds{{job="{job}"}}', end - max(window_s, 1.0), end,
                max(timeout_s, 0.1))
        except (PrometheusAPIError, OSError):
            continue
        values = [v for labels, points in series if labels.get("instance") in targets
                  for _, v in points if v <= ARTEFACT * timeout_s]
        if values and max(values) >= AT_RISK * timeout_s:
            found[job] = max(values)
    return found


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
