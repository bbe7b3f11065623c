"""After a reload, wait until Prometheus scrapes what its new config says.

`POST /-/reload` returns once the config is read, but the scrape manager takes
the new targets on its next tick (up to 5 s) and scrapes them after that:
until then /api/v1/targets still shows the old ones, healthy. A check made in
that window would judge the old config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import yaml

from obsharness.waiting import eventually

Target = tuple[str, str, str]  # job, address, metrics path


def expected_targets(config: dict[str, Any]) -> set[Target]:
    """The static targets of a rendered Prometheus config."""
    found: set[Target] = set()
    for job in config.get("scrape_configs") or []:
        path = str(job.get("metrics_path") or "/metrics")
        for static in job.get("static_configs") or []:
            for address in static.get("targets") or []:
                found.add((str(job.get("job_name")), str(address), path))
    return found


def _active(url: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{url}/api/v1/targets", params={"state": "active"}, timeout=5)
    answer.raise_for_status()
    return list(answer.json()["data"]["activeTargets"])


def wait_until_current(url: str, config_path: Path, timeout: float = 30.0) -> None:
    """Until the active static targets are the config's and each was scraped once."""
    wanted = expected_targets(yaml.safe_load(config_path.read_text()) or {})
    jobs = {job for job, _, _ in wanted}

    def current() -> tuple[set[Target], bool]:
        targets = [t for t in _active(url) if t["labels"].get("job") in jobs]
        seen = {(t["labels"]["job"], t["discoveredLabels"].get("__address__", ""),
                 t["discoveredLabels"].get("__metrics_path__", "/metrics")) for t in targets}
        scraped = all(t.get("health") != "unknown" for t in targets)
        return seen, scraped

    eventually(current, lambda got: got[0] == wanted and got[1],
               what=f"Prometheus at {url} scraping the reloaded config's {len(wanted)} targets",
               timeout=timeout, interval=0.1)
