"""Evidence into reports/cucumber.json: each step gets its records as embeddings.

pytest-bdd writes the Cucumber JSON without embeddings; this adds them after
it has written the file (the Cucumber format's `embeddings`: mime type and
base64 data), so any Cucumber report tool shows the evidence too.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from obsharness.report import plot
from obsharness.report.results import RunResults
from obsharness.report.timeline import Timeline


def _embedding(mime: str, data: str) -> dict[str, str]:
    return {"mime_type": mime, "data": base64.b64encode(data.encode()).decode()}


def embed(cucumber_file: Path, results: RunResults) -> int:
    """Add evidence to the matching steps; returns how many embeddings were added."""
    if not cucumber_file.is_file():
        return 0
    features: list[dict[str, Any]] = json.loads(cucumber_file.read_text() or "[]")
    by_test = {s.nodeid.rsplit("::", 1)[-1]: s for s in results.scenarios}
    added = 0
    for feature in features:
        for element in feature.get("elements", []):
            scenario = by_test.get(str(element.get("id")))
            if scenario is None:
                continue
            steps = element.get("steps", [])
            for step, result in zip(steps, scenario.steps, strict=False):
                items = [_embedding("application/json", json.dumps(e, default=str))
                         for e in result.evidence]
                if items:
                    step.setdefault("embeddings", []).extend(items)
                    added += len(items)
            if scenario.timeline and steps:
                svg = plot.svg(Timeline.from_json(scenario.timeline))
                steps[-1].setdefault("embeddings", []).append(_embedding("image/svg+xml", svg))
                added += 1
    cucumber_file.write_text(json.dumps(features, indent=1))
    return added


def merge(files: list[Path], out: Path) -> int:
    """Cucumber JSON of several runners as one: a feature's scenarios side by side."""
    features: dict[str, dict[str, Any]] = {}
    for path in files:
        for feature in json.loads(path.read_text() or "[]"):
            key = str(feature.get("uri") or feature.get("id"))
            if key in features:
                features[key]["elements"] = [*features[key].get("elements", []),
                                             *feature.get("elements", [])]
            else:
                features[key] = feature
    out.write_text(json.dumps(list(features.values()), indent=1))
    return sum(len(f.get("elements", [])) for f in features.values())
