"""How long each phase of `make test` took, printed at the end (stdlib only: it also
times the set-up, before the virtualenv exists).

    python -m obsharness.phases run NAME -- COMMAND...   # run, record, keep its status
    python -m obsharness.phases summary                  # the table
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

PHASES_FILE = Path("reports/phases.json")


def _load(path: Path) -> list[dict[str, object]]:
    try:
        return list(json.loads(path.read_text()))
    except (OSError, ValueError):
        return []


def run(name: str, argv: list[str], path: Path = PHASES_FILE) -> int:
    began = time.monotonic()
    status = subprocess.call(argv)
    phases = _load(path)
    phases.append({"phase": name, "seconds": round(time.monotonic() - began, 1),
                   "status": status})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(phases, indent=1))
    return status


def summary(path: Path = PHASES_FILE) -> str:
    phases = _load(path)
    width = max([len(str(p["phase"])) for p in phases] + [5])
    lines = [f"{'phase':<{width}}  seconds  result"]
    for p in phases:
        result = "ok" if p["status"] == 0 else f"failed ({p['status']})"
        lines.append(f"{p['phase']!s:<{width}}  {float(str(p['seconds'])):>7.1f}  {result}")
    total = sum(float(str(p["seconds"])) for p in phases)
    lines.append(f"{'total':<{width}}  {total:>7.1f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"] and len(argv) >= 4 and argv[2] == "--":
        return run(argv[1], argv[3:])
    if argv == ["summary"]:
        print(summary())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
