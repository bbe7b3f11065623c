"""The living document's mutation section, from reports/mutation.json: the score
per flow, what caught each mutant (a validator or a behavioural scenario), and
every survivor with its diff, the scenario that should have caught it and why
it is left."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

MUTATION_FILE = "mutation.json"
_COLUMNS = (("run", "run"), ("caught by validation", "validation"),
            ("caught by behaviour", "behaviour"), ("survived", "survived"),
            ("out of reach", "out of reach"), ("undecided", "undecided"), ("not run", "not run"))


def load(reports_dir: Path) -> dict[str, Any] | None:
    path = reports_dir / MUTATION_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else None


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(report: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for _, title in _COLUMNS)
    rows = []
    for flow, counts in [*report["per_flow"].items(), ("all", report["score"])]:
        cells = "".join(f"<td>{counts.get(key, 0)}</td>" for key, _ in _COLUMNS)
        rows.append(f"<tr><td>{escape(flow)}</td>{cells}<td>{_score(counts['score'])}</td></tr>")
    parts = [
        "<section id='mutation'><h2>Would the suite notice? (mutation testing)</h2>",
        f"<p class='muted'>Campaign of {escape(str(report.get('finished_at', '?')))}: "
        f"{report['chosen']} of {report['generated']} generated mutants "
        f"(seed {report['seed']}) in {report['duration_s']} s, each a small mistake written "
        "into a copy of stack/ or infra/ and run against the scenarios that can see it. "
        "Caught by validation: a tool rejected the file or the stack refused it; caught by "
        "behaviour: a scenario failed, and passed again on the unmutated stack (undecided: "
        "it failed there too, so it proves nothing and is left out of the score). Out of "
        "reach: every scenario that could see it skipped on this machine (a component it "
        "lacks); counted apart, never as caught nor as missed.</p>",
        f"<table><tr><th>flow</th>{head}<th>score</th></tr>{''.join(rows)}</table>",
    ]
    # The suite itself red on unmutated files: the first thing to fix, so shown first.
    for failure in report.get("unmutated_failures", []):
        parts.append(
            f"<div class='failure'><p><strong>Failed on the unmutated stack:</strong> "
            f"<code>{escape(failure['scenario'])}</code> "
            f"({len(failure['mutants'])} mutant(s) left unjudged)</p>"
            f"<pre>{escape(failure['message'])}</pre></div>")
    left = [m for m in report["mutants"] if m["outcome"] in ("survived", "out of reach")]
    if left:
        parts.append(f"<h3>Survivors ({len(left)})</h3>")
    for mutant in left:
        reason = mutant.get("reason") or "no reason recorded: a scenario or check is missing"
        should = mutant.get("should_have_caught") or "no scenario of this flow names it"
        parts.append(
            f"<details class='survivor' id='{escape(mutant['id'])}'><summary>"
            f"{escape(mutant['outcome'])}: {escape(mutant['path'])}: "
            f"{escape(mutant['description'])}</summary>"
            f"<div class='reason'>{escape(reason)}</div>"
            f"<p>Should have been caught by: <code>{escape(should)}</code></p>"
            f"<pre>{escape(mutant['diff'])}</pre></details>")
    caught = [m for m in report["mutants"] if str(m["outcome"]).startswith("caught")]
    if caught:
        parts.append(f"<h3>Caught ({len(caught)})</h3><ul>")
        parts.extend(f"<li>{escape(m['path'])}: {escape(m['description'])} — "
                     f"{escape(m['outcome'])}: <code>{escape(str(m.get('by')))}</code></li>"
                     for m in caught)
        parts.append("</ul>")
    parts.append("</section>")
    return "\n".join(parts)
