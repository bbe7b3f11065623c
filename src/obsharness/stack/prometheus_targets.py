"""After a reload, wait until Prometheus scrapes what its new config says.

`POST /-/reload` returns once the config is read, but the scrape manager takes
the new targets on its next tick (up to 5 s) and scrapes them after that:
until then /api/v1/targets still shows the old ones, healthy. A check made in
that window would judge the old config.

Rules are the same: the reload swaps the rule groups, but a deleted or changed
recording rule's old series is only marked stale by the new group's first
evaluation. Until then it answers instant queries, so a check made at once would
see the old rule's data.
"""

from __future__ import annotations

import re
from datetime import datetime
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


Group = tuple[str, str, int]  # rule file, group name, number of rules


def expected_groups(config_path: Path) -> set[Group]:
    """The rule groups a rendered Prometheus config loads."""
    from obsharness.stack.render import rule_files_of

    found: set[Group] = set()
    for path in rule_files_of(config_path):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            found.add((str(path.resolve()), str(group.get("name")), len(group.get("rules") or [])))
    return found


_FRACTION = re.compile(r"(\.\d{6})\d+")


def evaluated_at(text: str) -> float:
    """A group's lastEvaluation (RFC 3339, nanoseconds) as a Unix time; 0 for never."""
    moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    return max(moment.timestamp(), 0.0)


def wait_until_rules_current(url: str, config_path: Path, since: float,
                             timeout: float = 30.0) -> None:
    """Until Prometheus holds the rendered config's rule groups and each has evaluated
    since `since` (so a deleted rule's old series carries its staleness marker)."""
    wanted = expected_groups(config_path)

    def current() -> tuple[set[Group], float]:
        answer = requests.get(f"{url}/api/v1/rules", timeout=5)
        answer.raise_for_status()
        groups = answer.json()["data"]["groups"]
        seen = {(str(Path(g["file"]).resolve()), str(g["name"]), len(g.get("rules") or []))
                for g in groups}
        oldest = min((evaluated_at(g.get("lastEvaluation") or "0001-01-01T00:00:00Z")
                      for g in groups), default=float("inf"))
        return seen, oldest

    eventually(current, lambda got: got[0] == wanted and got[1] >= since,
               what=f"Prometheus at {url} evaluating the reloaded config's {len(wanted)} "
                    "rule groups once", timeout=timeout, interval=0.1)
