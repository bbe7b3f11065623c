"""reports/index.html: the living documentation of one run, one static file.

Readable offline and without JavaScript: what was not proven (and why)
first, then every feature in Gherkin with each step's status and evidence,
the alert scenarios' timelines as inline SVG, and the architecture drawn
from the manifest.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from obsharness.report import coverage, mutation_section, plot, proof
from obsharness.report.results import NOT_RUN, RunResults, ScenarioResult, StepResult
from obsharness.report.timeline import Timeline

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1f2937;
 line-height:1.45;padding:0 1rem}
h1{margin-bottom:.2rem} .muted{color:#6b7280}
.summary span{display:inline-block;margin-right:1rem;font-weight:600}
.badge{display:inline-block;border-radius:4px;padding:0 .45rem;font-size:.8rem;font-weight:700;
 color:#fff;margin-right:.4rem}
.badge.passed{background:#16a34a}.badge.failed{background:#dc2626}
.badge.skipped{background:#9ca3af}.badge.unknown{background:#6b7280}
article.failed{border-color:#dc2626} article.skipped{border-style:dashed}
section.feature{border-top:2px solid #e5e7eb;margin-top:2rem}
article.scenario{border:1px solid #e5e7eb;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}
article.scenario h3{margin:.2rem 0;font-size:1.05rem}
ol.steps{list-style:none;padding-left:0} ol.steps li{margin:.25rem 0}
.kw{font-weight:700;color:#7c3aed} .st-passed::before{content:"✔ ";color:#16a34a}
.st-failed::before{content:"✘ ";color:#dc2626} .st-notrun::before{content:"- ";color:#9ca3af}
.st-skipped{color:#6b7280} .st-skipped::before{content:"⊘ ";color:#9ca3af}
.lead{background:#fee2e2;border-left:4px solid #dc2626;padding:.4rem .6rem;white-space:pre-wrap;
 overflow-wrap:anywhere;font-family:ui-monospace,monospace;font-size:.85rem}
ul.verdict li{margin:.3rem 0} .count{font-weight:700}
div.diagram{overflow-x:auto;border:1px solid #e5e7eb;margin:.5rem 0}
table.proof td.no{color:#9ca3af} table.proof td.yes{color:#15803d}
pre{background:#f3f4f6;padding:.5rem;overflow:auto;font-size:.8rem;max-height:22rem;
 white-space:pre-wrap;overflow-wrap:anywhere}
code,li,td,p,h3,summary{overflow-wrap:anywhere}
details{margin:.2rem 0 .2rem 1.4rem} summary{cursor:pointer;font-size:.85rem;color:#374151}
.reason{background:#fef3c7;border-left:4px solid #d97706;padding:.4rem .6rem;font-size:.9rem}
.failure{background:#fee2e2;border-left:4px solid #dc2626;padding:.4rem .6rem}
pre.mermaid{max-height:none;background:#fff;border:0;white-space:pre;overflow-wrap:normal}
table{border-collapse:collapse;font-size:.85rem} td,th{border:1px solid #e5e7eb;padding:.2rem .5rem}
"""


def _badge(outcome: str) -> str:
    return f'<span class="badge {escape(outcome)}">{escape(outcome)}</span>'


def _evidence(item: dict[str, Any], started: float) -> str:
    kind, title, body = item["kind"], str(item["title"]), item["body"]
    when = f"+{item['at'] - started:.1f} s" if started else ""
    polls = f", polled {item['polls']} times" if item.get("polls", 1) > 1 else ""
    head = f"{escape(kind)}: {escape(title[:160])} <span class='muted'>({when}{polls})</span>"
    if kind == "timeline":
        return f'<div class="plot">{plot.svg(Timeline.from_json(body))}</div>'
    if kind == "verdict" and isinstance(body, dict):
        return (f'<details class="evidence verdict" open><summary>{head}</summary>'
                f"{_verdict_table(body)}</details>")
    if kind == "email" and isinstance(body, dict):
        content = (f"From: {body.get('from')}\nTo: {', '.join(body.get('to', []))}\n"
                   f"Subject: {body.get('subject')}\n\n{body.get('text')}")
    elif kind == "promql" and isinstance(body, list):
        content = "\n".join(f"{_labels(r.get('labels', {}))} = {r.get('value')}"
                            if isinstance(r, dict) else str(r) for r in body) or "(empty result)"
    elif kind == "logql" and isinstance(body, list):
        content = "\n".join(r.get("line", "") if isinstance(r, dict) else str(r)
                            for r in body) or "(no line)"
    elif isinstance(body, str):
        content = body
    else:
        content = json.dumps(body, indent=1, default=str)
    return (f'<details class="evidence {escape(kind)}"><summary>{head}</summary>'
            f"<pre>{escape(content)}</pre></details>")


def _verdict_table(body: dict[str, Any]) -> str:
    """Expected and Alertmanager's answer side by side (the last two columns)."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in body.get("columns", []))
    rows = []
    for row in body.get("rows", []):
        differs = len(row) >= 2 and row[-1] != row[-2]
        style = ' style="background:#fee2e2"' if differs else ""
        cells = "".join(f"<td>{escape(str(c))}</td>" for c in row)
        rows.append(f"<tr{style}><td>{'✘' if differs else '✔'}</td>{cells}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"


def _labels(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _step(step: StepResult, started: float) -> str:
    css = {"passed": "st-passed", "failed": "st-failed",
           "skipped": "st-skipped"}.get(step.status, "st-notrun")
    evidence = "".join(_evidence(e, started) for e in step.evidence)
    table = ""
    if step.table:
        head, *rows = step.table
        table = ("<table><tr>" + "".join(f"<th>{escape(c)}</th>" for c in head) + "</tr>"
                 + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                           for row in rows) + "</table>")
    return (f'<li class="{css}"><span class="kw">{escape(step.keyword)}</span> '
            f"{escape(step.text)}{table}{evidence}</li>")


def _scenario(scenario: ScenarioResult) -> str:
    started = min((e["at"] for s in scenario.steps for e in s.evidence), default=0.0)
    parts = [f'<article class="scenario {escape(scenario.outcome)}" '
             f'id="{anchor(scenario)}" data-nodeid="{escape(scenario.nodeid)}">',
             f"<h3>{_badge(scenario.outcome)}{escape(scenario.title)} "
             f"<span class='muted'>({scenario.duration_s:.1f} s)</span></h3>"]
    if scenario.tags:
        parts.append(f"<div class='muted'>{' '.join('@' + escape(t) for t in scenario.tags)}</div>")
    if scenario.properties:
        parts.append("<div class='muted'>" + ", ".join(
            f"{escape(k)}: {escape(v)}" for k, v in scenario.properties.items()) + "</div>")
    if scenario.outcome == "skipped":
        label = "Not run" if scenario.not_run else "Not proven here"
        reason = scenario.reason.removeprefix(NOT_RUN)
        parts.append(f'<p class="reason">{label}: {escape(reason)}</p>')
    elif scenario.outcome == "failed":
        # The step's own message first, then what that step saw; pytest's traceback
        # behind a fold.
        parts.append(f'<div class="lead">{escape(scenario.reason)}</div>')
        failing = next((s for s in scenario.steps if s.status == "failed"), None)
        if failing is not None and failing.evidence:
            parts.append(f"<div class='saw'><strong>What “{escape(failing.text[:120])}” saw"
                         "</strong>" + "".join(_evidence(e, started) for e in failing.evidence)
                         + "</div>")
        if scenario.traceback:
            parts.append("<details class='traceback'><summary>pytest's traceback</summary>"
                         f"<pre>{escape(scenario.traceback)}</pre></details>")
    if scenario.timeline:
        parts.append(f'<div class="plot">{plot.svg(Timeline.from_json(scenario.timeline))}</div>')
    parts.append('<ol class="steps">' + "".join(_step(s, started) for s in scenario.steps)
                 + "</ol>")
    parts.extend(_evidence(e, started) for e in scenario.evidence)
    parts.append("</article>")
    return "\n".join(parts)


def anchor(scenario: ScenarioResult) -> str:
    """A link target that survives any node id (spaces, `%`, brackets, quotes)."""
    return "s-" + hashlib.sha256(scenario.nodeid.encode()).hexdigest()[:12]


def _by_feature(scenarios: Iterable[ScenarioResult]) -> dict[str, list[ScenarioResult]]:
    features: dict[str, list[ScenarioResult]] = {}
    for scenario in scenarios:
        features.setdefault(scenario.feature, []).append(scenario)
    return features


# Key in RunResults.time_compression -> heading; the first is what people must read.
TIME_COMPRESSION_SECTIONS = (
    ("not_equivalent", "Rules whose compressed behaviour is not production's"),
    ("horizons", "predict_linear horizons scaled with their windows"),
    ("floors", "Durations raised to a floor that keeps their meaning"),
)


def reason_group(reason: str) -> str:
    """What skipped scenarios have in common: the component and why, without the long
    list of places tried ("loki unavailable"), or the broken config ("not run: ...")."""
    if reason.startswith(NOT_RUN):  # one broken file, whichever tool tripped over it
        broken = re.match(rf"{NOT_RUN}(.+?)(?::\d+)? is invalid", reason)
        return f"{NOT_RUN}{broken[1]} is invalid" if broken else reason.split(" (see", 1)[0]
    return reason.split(". How to get it:", maxsplit=1)[0].split(":", 1)[0]


def how_to_get(reason: str) -> str:
    return reason.split("How to get it:", 1)[1].strip() if "How to get it:" in reason else ""


def summary_line(results: RunResults) -> str:
    """"N proven, M not proven (reasons), K failed": the run's verdict in one line."""
    passed = [s for s in results.scenarios if s.outcome == "passed"]
    failed = [s for s in results.scenarios if s.outcome == "failed"]
    skipped = [s for s in results.scenarios if s.outcome == "skipped"]
    groups: dict[str, int] = {}
    for scenario in skipped:
        group = reason_group(scenario.reason)
        groups[group] = groups.get(group, 0) + 1
    reasons = "; ".join(f"{n} {g}" for g, n in sorted(groups.items(), key=lambda kv: -kv[1]))
    not_proven = f"{len(skipped)} not proven" + (f" ({reasons})" if reasons else "")
    return f"{len(passed)} proven, {not_proven}, {len(failed)} failed"


def _link(scenario: ScenarioResult) -> str:
    return (f"<a href='#{anchor(scenario)}'>{escape(scenario.feature)}: "
            f"{escape(scenario.title)}</a>")


def _verdict(results: RunResults, mutation: dict[str, Any] | None,
             replay: dict[str, Any] | None = None) -> list[str]:
    """What failed, what was not proven and why, what proved each alert, and per flow
    what was proven: the part read every morning, before the detail."""
    failed = [s for s in results.scenarios if s.outcome == "failed"]
    skipped = [s for s in results.scenarios if s.outcome == "skipped"]
    body = [f"<p class='summary' id='summary'>{escape(summary_line(results))}</p>"]
    body.append(f"<section id='failed'><h2>Failed ({len(failed)})</h2>")
    if failed:
        body.append("<ul class='verdict'>")
        body.extend(f"<li>{_link(s)}<div class='lead'>"
                    f"{escape(s.reason.strip().splitlines()[0] if s.reason.strip() else '')}"
                    "</div></li>" for s in failed)
        body.append("</ul>")
    else:
        body.append("<p>Nothing failed.</p>")
    body.append("</section>")
    groups: dict[str, list[ScenarioResult]] = {}
    for scenario in skipped:
        groups.setdefault(reason_group(scenario.reason), []).append(scenario)
    body.append(f"<section id='not-proven'><h2>Not proven in this run ({len(skipped)})</h2>")
    for group, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        how = how_to_get(members[0].reason)
        fold = " open" if len(members) <= 5 else ""  # a long list stays folded
        body.append(f"<details{fold}><summary><span class='count'>{len(members)}</span> "
                    f"scenario(s): {escape(group)}" + (f" — how to get it: {escape(how)}"
                                                       if how else "") + "</summary><ul>")
        body.extend(f"<li>{_link(s)}</li>" for s in members)
        body.append("</ul></details>")
    body.append("</section>")
    body.extend(_proof_table(results, mutation, replay))
    body.append("<section id='proven'><h2>Proven, per flow</h2><ul>")
    for feature, scenarios in _by_feature(results.scenarios).items():
        passed = [s for s in scenarios if s.outcome == "passed"]
        body.append(f"<li><strong>{escape(feature)}</strong>: {len(passed)} of "
                    f"{len(scenarios)} proven<details><summary>which</summary><ul>"
                    + "".join(f"<li>{_link(s)}</li>" for s in passed) + "</ul></details></li>")
    body.append("</ul></section>")
    return body


def _cell(scenarios: list[ScenarioResult]) -> str:
    if not scenarios:
        return "<td class='no'>—</td>"
    marks = {"passed": "✔", "failed": "✘", "skipped": "⊘"}
    return "<td class='yes'>" + " ".join(
        f"<a href='#{anchor(s)}' title='{escape(s.title)}'>{marks.get(s.outcome, '?')}</a>"
        for s in scenarios) + "</td>"


def _proof_table(results: RunResults, mutation: dict[str, Any] | None,
                 replay: dict[str, Any] | None = None) -> list[str]:
    rows = proof.rows(results, mutation)
    if not rows:
        return []
    covered = coverage.compute(results, replay, None)
    left = [r["alert"] for r in covered["rules"] if not r["covered"]]
    replays = {r["alert"]: r["replays"] for r in covered["rules"]}
    body = ["<section id='proof'><h2>What proved each alert</h2>",
            f"<p>Rule coverage: <b>{covered['covered']} of {covered['total']}</b> alerting "
            "rules exercised by a scenario, a promtool test, a timing table or a replay"
            + (f"; not exercised: {escape(', '.join(left))}" if left else "") + ".</p>",
            "<p class='muted'>✔ passed, ✘ failed, ⊘ not proven here; each links to its "
            "scenario. Unit tests are the promtool tests that expect the alert to fire; "
            "replayed are those `obsharness replay` delivered end to end; the "
            "mutation column counts the campaign's mutants of the rule that a check caught."
            "</p><table class='proof'><tr><th>alert</th><th>kept in</th><th>unit test</th>"
            "<th>replayed</th><th>timing table</th><th>end to end</th><th>routing</th>"
            "<th>mutants caught</th></tr>"]
    names = [r.alert for r in rows]
    for row in rows:
        units = ", ".join(row.unit_tests)
        # Two rules of one name (per service, per host) are told apart by what differs.
        twins = [r for r in rows if r.alert == row.alert and r is not row]
        differs = {k: v for k, v in row.labels.items()
                   if any(t.labels.get(k) != v for t in twins)} if names.count(row.alert) > 1 \
            else {}
        shown = row.alert + (" {" + ", ".join(f"{k}={v}" for k, v in sorted(differs.items()))
                             + "}" if differs else "")
        mutants = f"{row.mutants[0]} of {row.mutants[1]}" if row.mutants else "—"
        body.append(f"<tr><td>{escape(shown)}</td><td><code>{escape(row.file)}</code></td>"
                    f"<td class='{'yes' if units else 'no'}'>{escape(units or '—')}</td>"
                    f"<td class='{'yes' if replays.get(row.alert) else 'no'}'>"
                    f"{len(replays.get(row.alert) or []) or '—'}</td>"
                    f"{_cell(row.timing_tables)}{_cell(row.end_to_end)}{_cell(row.routing)}"
                    f"<td>{mutants}</td></tr>")
    body.append("</table></section>")
    return body


def _replay_section(replay: dict[str, Any]) -> list[str]:
    """`obsharness replay`'s last results: each promtool alert test replayed end to end."""
    tests = replay.get("tests") or []
    body = ["<section id='replay'><h2>promtool tests replayed end to end "
            f"({len(tests)}, {replay.get('differences', 0)} difference(s))</h2>",
            "<p class='muted'>Each alert test of the stack's promtool tests through a real "
            "Prometheus and Alertmanager (<code>obsharness replay</code>): firing at its "
            "eval_time with exactly its labels, and delivered to every receiver the "
            "real Alertmanager routed it to.</p><table><tr><th>test</th><th>checks</th>"
            "<th>delivered to</th><th>differences</th></tr>"]
    for test in tests:
        receivers = sorted({r for d in test.get("deliveries") or []
                            for r in d.get("receivers") or []})
        differences = test.get("differences") or []
        said = "<br>".join(escape(f"{d.get('alertname')} at {d.get('eval_time')}: "
                                  f"{d.get('what')}")
                           for d in differences) or "none"
        body.append(f"<tr><td>{escape(Path(str(test.get('file', '?'))).name)}: "
                    f"{escape(str(test.get('test', '?')))}</td><td>{test.get('checks', 0)}</td>"
                    f"<td>{escape(', '.join(receivers) or '—')}</td>"
                    f"<td class='{'no' if differences else 'yes'}'>{said}</td></tr>")
    body.append("</table></section>")
    return body


def render(results: RunResults, diagrams: dict[str, str] | None = None,
           draw_diagrams: bool = False, mutation: dict[str, Any] | None = None,
           replay: dict[str, Any] | None = None) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(results.started_at))
    body = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>obsharness — what the observability stack proved</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>What the observability stack proved</h1>",
        f"<p class='muted'>Run of {when}, backend {escape(results.backend or '?')}, "
        f"time compressed {results.time_scale:g} times. Every scenario below ran against the real "
        "components listed in the README; evidence is what the components answered.</p>",
        *_verdict(results, mutation, replay),
    ]
    for feature, scenarios in _by_feature(results.scenarios).items():
        description = scenarios[0].feature_description
        body.append(f"<section class='feature'><h2>Feature: {escape(feature)}</h2>")
        if description:
            body.append(f"<p class='muted'>{escape(description)}</p>")
        # Failed first, then what was not proven: read before what passed.
        order = {"failed": 0, "skipped": 1}
        ordered = sorted(scenarios, key=lambda s: order.get(s.outcome, 2))
        body.extend(_scenario(s) for s in ordered)
        body.append("</section>")
    if replay and replay.get("tests"):
        body.extend(_replay_section(replay))
    if mutation:
        body.append(mutation_section.render(mutation))
    if diagrams:
        body.append("<section id='architecture'><h2>Architecture (generated from the manifest)"
                    "</h2>")
        for title, source in diagrams.items():
            # Drawn at their own width inside a scrolling box: readable, never squeezed.
            body.append(f"<h3>{escape(title)}</h3><div class='diagram'>"
                        f"<pre class='mermaid'>{escape(source)}</pre></div>")
        body.append("</section>")
    if any(results.time_compression.values()):
        body.append(f"<section id='time-compression'><h2>Time compression ({results.time_scale:g}"
                    "x): what it changed</h2>")
        for key, heading in TIME_COMPRESSION_SECTIONS:
            found = results.time_compression.get(key) or []
            if found:
                body.append(f"<h3>{escape(heading)} ({len(found)})</h3><ul>")
                body.extend(f"<li>{escape(line)}</li>" for line in found)
                body.append("</ul>")
        body.append("</section>")
    if results.stand_ins:
        # A run pages no one: say which real endpoints the sinks answered for.
        body.append("<section id='stand-ins'><h2>Receivers the harness stood in for "
                    f"({len(results.stand_ins)})</h2><p>Their routing, names and email "
                    "fields are the team's; their integrations went to the harness's "
                    "sinks, so no one was paged and nothing left this machine.</p><ul>")
        body.extend(f"<li>{escape(line)}</li>" for line in results.stand_ins)
        body.append("</ul></section>")
    if results.configs:
        body.append("<section id='configs'><h2>Rendered configs this run used</h2><ul>")
        body.extend(f"<li>{escape(name)}: <code>{escape(path)}</code></li>"
                    for name, path in sorted(results.configs.items()))
        body.append("</ul></section>")
    if diagrams and draw_diagrams:
        # Mermaid (npm, copied next to the page by write()) draws them offline;
        # without it the diagrams stay readable as their source text.
        body.append("<script src='mermaid.min.js'></script>"
                    "<script>mermaid.initialize({startOnLoad: true, securityLevel: 'strict', "
                    "flowchart: {useMaxWidth: false}, sequence: {useMaxWidth: false}});"
                    "</script>")
    body.append("</body></html>")
    return "\n".join(body)


def mermaid_script() -> Path | None:
    """Mermaid's browser bundle, installed by `make setup` (tools/report-assets)."""
    from obsharness.binaries import project_root

    bundle = (project_root() / "tools" / "report-assets" / "node_modules" / "mermaid" / "dist"
              / "mermaid.min.js")
    return bundle if bundle.is_file() else None


def write(results: RunResults, reports_dir: Path,
          diagrams: dict[str, str] | None = None) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    bundle = mermaid_script() if diagrams else None
    if bundle is not None:
        shutil.copyfile(bundle, reports_dir / "mermaid.min.js")
    path = reports_dir / "index.html"
    path.write_text(render(results, diagrams, draw_diagrams=bundle is not None,
                           mutation=mutation_section.load(reports_dir),
                           replay=coverage.load_replay(reports_dir)))
    return path
