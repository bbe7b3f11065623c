"""LogQL built from parameters: label values and line filters are always escaped."""

from __future__ import annotations

import re

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def quote(value: str) -> str:
    """A LogQL (Go) double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def selector(**labels: str) -> str:
    """{service="flask-app", log_type="error"}; label names are checked, values escaped."""
    if not labels:
        raise ValueError("a LogQL stream selector needs at least one label matcher")
    for name in labels:
        if not _LABEL_NAME.match(name):
            raise ValueError(f"not a label name: {name!r}")
    return "{" + ", ".join(f"{name}={quote(value)}" for name, value in labels.items()) + "}"


def contains(stream: str, text: str) -> str:
    """Keep lines that contain `text` (a line filter, not a label)."""
    return f"{stream} |= {quote(text)}"


def count_over_time(expr: str, window: str) -> str:
    if not re.fullmatch(r"\d+(ms|s|m|h|d)", window):
        raise ValueError(f"not a LogQL range: {window!r}")
    return f"sum(count_over_time({expr} [{window}]))"
