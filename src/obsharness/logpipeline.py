"""Promtail's pipeline stages, interpreted for one line: which labels would Loki index?

Only the stages this stack uses (json, labels, labeldrop), with Promtail's
semantics: json extracts fields into the extracted map, labels promotes
extracted values (missing or empty ones are skipped), labeldrop removes
labels. It lets CI prove the label set without a Promtail binary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def labels_for(line: str, stages: Sequence[Mapping[str, Any]],
               target_labels: Mapping[str, str] | None = None) -> dict[str, str]:
    labels = dict(target_labels or {})
    extracted: dict[str, Any] = {}
    for stage in stages:
        (kind, config), = stage.items()
        if kind == "json":
            try:
                record = json.loads(line)
            except ValueError:
                continue  # Promtail logs the failure and passes the line on unlabelled
            if isinstance(record, dict):
                for name, field in (config.get("expressions") or {}).items():
                    value = record.get(field or name)
                    if value is not None:
                        extracted[name] = value
        elif kind == "labels":
            for name, source in (config or {}).items():
                value = extracted.get(source or name)
                if value not in (None, ""):
                    labels[name] = str(value)
        elif kind == "labeldrop":
            for name in config:
                labels.pop(name, None)
        else:
            raise ValueError(f"stage {kind!r} is not interpreted here; extend logpipeline")
    return labels
