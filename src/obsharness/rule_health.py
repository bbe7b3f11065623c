"""Rule evaluation health: every rule group evaluates cleanly on real data.

No linter can see a many-to-many join, a duplicate series or a type mismatch that only
the data reveals; Prometheus says so in /api/v1/rules (`health`, `lastError`). Each
finding names the rule file, group and rule, with Prometheus' own error.
"""

from __future__ import annotations

from pathlib import Path

from obsharness import origins
from obsharness.clients.prometheus import PrometheusClient


def source_of(rendered: str, run_dir: Path | None, stack_dir: Path | None) -> str:
    """The team's file a rendered rule file is a compressed copy of."""
    path = Path(rendered)
    extracted = origins.lookup(path)
    if extracted is not None:
        return str(extracted)
    if run_dir is not None and stack_dir is not None and path.is_relative_to(run_dir):
        return str((stack_dir / path.relative_to(run_dir)).relative_to(stack_dir.parent))
    return rendered


def unhealthy(prometheus: PrometheusClient, run_dir: Path | None = None,
              stack_dir: Path | None = None) -> list[str]:
    found = []
    for group in prometheus.rules():
        for rule in group.get("rules", []):
            health = rule.get("health", "unknown")
            error = rule.get("lastError") or ""
            if health == "ok" and not error:
                continue
            if health == "unknown" and not error:
                continue  # not evaluated yet (a group's first interval)
            file = source_of(str(group.get("file", "")), run_dir, stack_dir)
            found.append(f"{file}: group {group.get('name')!r}, rule {rule.get('name')!r} is "
                         f"{health}: {error or 'no error given'}")
    return found


def evaluated(prometheus: PrometheusClient) -> bool:
    """Every rule evaluated at least once (its health is known)."""
    return all(rule.get("health") != "unknown" for group in prometheus.rules()
               for rule in group.get("rules", []))
