"""reports/index.html: the living documentation of one run, one static file.

Readable offline and without JavaScript: what was not proven (and why)
first, then every feature in Gherkin with each step's status and evidence,
the alert scenarios' timelines as inline SVG, and the architecture drawn
from the manifest.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from obsharness.report import mutation_section, plot
from obsharness.report.results import RunResults, ScenarioResult, StepResult
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
pre{background:#f3f4f6;padding:.5rem;overflow-x:auto;font-size:.8rem;max-height:22rem}
details{margin:.2rem 0 .2rem 1.4rem} summary{cursor:pointer;font-size:.85rem;color:#374151}
.reason{background:#fef3c7;border-left:4px solid #d97706;padding:.4rem .6rem;font-size:.9rem}
.failure{background:#fee2e2;border-left:4px solid #dc2626;padding:.4rem .6rem}
pre.mermaid{max-height:none;background:#fff;border:1px solid #e5e7eb}
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
    css = {"passed": "st-passed", "failed": "st-failed"}.get(step.status, "st-notrun")
    evidence = "".join(_evidence(e, started) for e in step.evidence)
    return (f'<li class="{css}"><span class="kw">{escape(step.keyword)}</span> '
            f"{escape(step.text)}{evidence}</li>")


def _scenario(scenario: ScenarioResult) -> str:
    started = min((e["at"] for s in scenario.steps for e in s.evidence), default=0.0)
    parts = [f'<article class="scenario {escape(scenario.outcome)}" '
             f'id="{escape(scenario.nodeid)}">',
             f"<h3>{_badge(scenario.outcome)}{escape(scenario.title)} "
             f"<span class='muted'>({scenario.duration_s:.1f} s)</span></h3>"]
    if scenario.tags:
        parts.append(f"<div class='muted'>{' '.join('@' + escape(t) for t in scenario.tags)}</div>")
    if scenario.properties:
        parts.append("<div class='muted'>" + ", ".join(
            f"{escape(k)}: {escape(v)}" for k, v in scenario.properties.items()) + "</div>")
    if scenario.outcome == "skipped":
        parts.append(f'<p class="reason">Not proven here: {escape(scenario.reason)}</p>')
    elif scenario.outcome == "failed":
        parts.append(f'<pre class="failure">{escape(scenario.reason)}</pre>')
    if scenario.timeline:
        parts.append(f'<div class="plot">{plot.svg(Timeline.from_json(scenario.timeline))}</div>')
    parts.append('<ol class="steps">' + "".join(_step(s, started) for s in scenario.steps)
                 + "</ol>")
    parts.extend(_evidence(e, started) for e in scenario.evidence)
    parts.append("</article>")
    return "\n".join(parts)


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


def render(results: RunResults, diagrams: dict[str, str] | None = None,
           draw_diagrams: bool = False, mutation: dict[str, Any] | None = None) -> str:
    counts = results.counts()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(results.started_at))
    skipped = [s for s in results.scenarios if s.outcome == "skipped"]
    body = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>obsharness — what the observability stack proved</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>What the observability stack proved</h1>",
        f"<p class='muted'>Run of {when}, backend {escape(results.backend or '?')}, "
        f"time compressed {results.time_scale:g} times. Every scenario below ran against the real "
        "components listed in the README; evidence is what the components answered.</p>",
        "<p class='summary'>" + "".join(
            f"<span class='{k}'>{_badge(k)}{v}</span>" for k, v in sorted(counts.items())) + "</p>",
    ]
    if skipped:
        body.append("<section id='not-proven'><h2>Not proven in this run</h2><ul>")
        body.extend(f"<li><a href='#{escape(s.nodeid)}'>{escape(s.feature)}: "
                    f"{escape(s.title)}</a><div class='reason'>{escape(s.reason)}</div></li>"
                    for s in skipped)
        body.append("</ul></section>")
    for feature, scenarios in _by_feature(results.scenarios).items():
        description = scenarios[0].feature_description
        body.append(f"<section class='feature'><h2>Feature: {escape(feature)}</h2>")
        if description:
            body.append(f"<p class='muted'>{escape(description)}</p>")
        # Skipped first, with their reason: what is not proven is read first.
        ordered = sorted(scenarios, key=lambda s: s.outcome != "skipped")
        body.extend(_scenario(s) for s in ordered)
        body.append("</section>")
    if mutation:
        body.append(mutation_section.render(mutation))
    if diagrams:
        body.append("<section id='architecture'><h2>Architecture (generated from the manifest)"
                    "</h2>")
        for title, source in diagrams.items():
            body.append(f"<h3>{escape(title)}</h3><pre class='mermaid'>{escape(source)}</pre>")
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
    if results.configs:
        body.append("<section id='configs'><h2>Rendered configs this run used</h2><ul>")
        body.extend(f"<li>{escape(name)}: <code>{escape(path)}</code></li>"
                    for name, path in sorted(results.configs.items()))
        body.append("</ul></section>")
    if diagrams and draw_diagrams:
        # Mermaid (npm, copied next to the page by write()) draws them offline;
        # without it the diagrams stay readable as their source text.
        body.append("<script src='mermaid.min.js'></script>"
                    "<script>mermaid.initialize({startOnLoad: true, securityLevel: 'strict'});"
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
                           mutation=mutation_section.load(reports_dir)))
    return path
