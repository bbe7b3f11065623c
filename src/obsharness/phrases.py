"""Numbers as scenarios write them: "20%", "1500 ms", "2 s"."""

from __future__ import annotations

import re

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|seconds?|minutes?|m)\s*$")


def percent(text: str) -> float:
    """'20%' -> 0.2"""
    match = _PERCENT.match(text)
    if not match:
        raise ValueError(f"expected a percentage such as 5% or 2.5%, got {text!r}")
    return float(match.group(1)) / 100


percent.pattern = r"\d+(?:\.\d+)?\s*%"  # type: ignore[attr-defined]


def seconds(text: str) -> float:
    """'1500 ms' -> 1.5, '2 s' -> 2.0, '1 minute' -> 60.0"""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration such as 1500 ms or 2 s, got {text!r}")
    value, unit = float(match.group(1)), match.group(2)
    if unit == "ms":
        return value / 1000
    if unit.startswith("m"):
        return value * 60
    return value


seconds.pattern = r"\d+(?:\.\d+)?\s*(?:ms|s|seconds?|minutes?|m)"  # type: ignore[attr-defined]


_DESCRIBED = re.compile(r"(\d+(?:\.\d+)?)(%|s\b)")


def described_value(text: str) -> float | None:
    """The first measured value an alert description states: '68.75%' -> 0.6875, '2.45s' -> 2.45."""
    match = _DESCRIBED.search(text)
    if not match:
        return None
    number = float(match.group(1))
    return number / 100 if match.group(2) == "%" else number
