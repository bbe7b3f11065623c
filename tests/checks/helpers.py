"""What every family's check tests share: ways to break a stack copy, and the snapshot
of what `obsharness check` then says (tests/checks/snapshots/<family>/<check>.txt).

OBSHARNESS_UPDATE_SNAPSHOTS=1 rewrites the snapshots; read the diff before committing
it: a snapshot is the underlying tool's own words, as a reviewer will see them."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import yaml

from obsharness import static_check
from obsharness.findings.catalog import BY_ID
from obsharness.findings.model import Finding
from obsharness.stack.manifest import load_manifest

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
AM = Path("alertmanager/alertmanager.yml")
RULES = Path("prometheus/rules/alerts.yml")
Break = Callable[[Path], object]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def panel(stack: Path, **fields: object) -> None:
    board = stack / "grafana" / "dashboards" / "system.json"
    data = json.loads(board.read_text())
    data["panels"][0].update(fields)
    board.write_text(json.dumps(data, indent=2))


def target(stack: Path, expr: str) -> None:
    board = stack / "grafana" / "dashboards" / "system.json"
    data = json.loads(board.read_text())
    data["panels"][0]["targets"][0]["expr"] = expr
    board.write_text(json.dumps(data, indent=2))


def add_source(stack: Path, kind: str, glob: str) -> None:
    manifest = yaml.safe_load((stack / "stack.yaml").read_text())
    manifest["sources"].setdefault(kind, []).append(glob)
    (stack / "stack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def checked_by(check: str) -> tuple[str, ...]:
    """The part of `obsharness check` that produces a check id (each case runs only it)."""
    return {"rules/lint": ("lint",), "rules/unit-test": ("unit-tests",),
            "sources/unloaded": ("unloaded",)}.get(
        check, ("dashboards",) if check.startswith("dashboards/") else ("configs",))


def _shown(findings: list[Finding], stack: Path) -> str:
    """The findings as `obsharness check` prints them, the copy's path made stable."""
    root = stack.parent
    lines = sorted(f"{f.severity} {f.describe(root)}" for f in findings)
    text = "\n".join(lines) + "\n"
    for path in {str(stack.resolve()), str(stack)}:
        text = text.replace(path, "<stack>")
    return text


def assert_produces(check: str, broken: Break, stack: Path) -> list[Finding]:
    """Break the copy, run the part of `obsharness check` that decides `check`: it finds
    it, with its default severity, in the copy's own file, in the words of the snapshot."""
    broken(stack)
    result = static_check.run(load_manifest(stack / "stack.yaml"), only=checked_by(check))
    mine = [f for f in result.findings if f.check == check]
    assert mine, "\n".join(map(str, result.findings)) or "no finding at all"
    assert all(f.severity == BY_ID[check].severity for f in mine)
    if BY_ID[check].severity == "error":
        assert not result.ok
    located = [f for f in mine if f.path is not None]
    assert located or check == "dashboards/datasources-assumed", mine
    for f in located:
        assert f.path is not None
        assert f.path.resolve().is_relative_to(stack.resolve()), f
    family, name = check.split("/", 1)
    snapshot = SNAPSHOTS / family / f"{name}.txt"
    shown = _shown(mine, stack)
    if os.environ.get("OBSHARNESS_UPDATE_SNAPSHOTS") == "1":
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(shown)
    assert snapshot.is_file(), f"no snapshot {snapshot}: run with OBSHARNESS_UPDATE_SNAPSHOTS=1"
    assert shown == snapshot.read_text(), f"{check} now says (snapshot {snapshot}):\n{shown}"
    return mine
