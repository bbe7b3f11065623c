"""Promtail's pipeline stages, interpreted for one line: which labels would Loki index?

Only the stages this stack uses (json, labels, labeldrop), with Promtail's
semantics: json extracts fields into the extracted map, labels promotes
extracted values (missing or empty ones are skipped), labeldrop removes
labels. It lets CI prove the label set without a Promtail binary; where a
binary is given, tests/test_promtail_differential.py holds it to Promtail's
own --dry-run output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def label_text(value: Any) -> str | None:
    """An extracted value as Promtail's labels stage writes it (its getString): strings,
    booleans and numbers (Go's shortest form); anything else is no label."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    return value if isinstance(value, str) else None


def _json_stage(line: str, config: Mapping[str, Any]) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        return {}  # Promtail logs the failure and passes the line on unlabelled
    found: dict[str, Any] = {}
    if isinstance(record, dict):
        for name, field in (config.get("expressions") or {}).items():
            if not _PLAIN.match(field or name):
                raise ValueError(f"JMESPath {field!r} is not interpreted here; "
                                 "extend logpipeline")
            value = record.get(field or name)
            if value is not None:
                found[name] = value
    return found


def labels_for(line: str, stages: Sequence[Mapping[str, Any]],
               target_labels: Mapping[str, str] | None = None) -> dict[str, str]:
    labels = dict(target_labels or {})
    extracted: dict[str, Any] = {}
    for stage in stages:
        (kind, config), = stage.items()
        if kind == "json":
            extracted.update(_json_stage(line, config))
        elif kind == "labels":
            for name, source in (config or {}).items():
                text = label_text(extracted.get(source or name))
                if text:  # missing, empty or not a scalar: Promtail skips the label
                    labels[name] = text
        elif kind == "labeldrop":
            for name in config:
                labels.pop(name, None)
        else:
            raise ValueError(f"stage {kind!r} is not interpreted here; extend logpipeline")
    return labels
