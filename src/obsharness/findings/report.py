"""Findings where reviewers look: GitHub workflow annotations on the changed line, and
SARIF 2.1.0 for code scanning (reports/findings.sarif)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from obsharness.findings.catalog import BY_ID
from obsharness.findings.model import Finding, relative

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DOCS = "https://github.com/obsharness/obsharness/blob/main/docs/checks"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    # The workflow-command encoding of a message (runner's toolkit: %, CR, LF).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(findings: Sequence[Finding], root: Path) -> list[str]:
    """`::error file=…,line=…,title=…::message` per finding, as GitHub Actions reads
    them from a step's output."""
    lines = []
    for f in findings:
        props = []
        if f.path is not None:
            props.append(f"file={_escape_property(relative(f.path, root))}")
            if f.line:
                props.append(f"line={f.line}")
        title = f.check + (f" ({f.subject})" if f.subject else "")
        props.append(f"title={_escape_property(title)}")
        lines.append(f"::{_COMMAND[f.severity]} {','.join(props)}::{_escape_data(f.message)}")
    return lines


def sarif(findings: Sequence[Finding], root: Path, version: str) -> dict[str, Any]:
    used = sorted({f.check for f in findings})
    rules = [{"id": check, "name": check.replace("/", "-"),
              "shortDescription": {"text": BY_ID[check].summary},
              "helpUri": f"{DOCS}/{BY_ID[check].family}.md",
              "defaultConfiguration": {"level": _LEVEL[BY_ID[check].severity]},
              "properties": {"tool": BY_ID[check].tool}} for check in used]
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.check, "ruleIndex": used.index(f.check), "level": _LEVEL[f.severity],
            "message": {"text": f.message + (f" [{f.subject}]" if f.subject else "")}}
        if f.path is not None:
            location: dict[str, Any] = {"artifactLocation": {
                "uri": relative(f.path, root), "uriBaseId": "%SRCROOT%"}}
            if f.line:
                location["region"] = {"startLine": f.line}
            result["locations"] = [{"physicalLocation": location}]
        results.append(result)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "obsharness", "version": version,
                            "informationUri": DOCS, "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
        "results": results}]}
