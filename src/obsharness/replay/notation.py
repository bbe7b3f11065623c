"""promtool's series notation: `name{label="value"}` and expanding values.

Values follow promtool's unit-test notation: `a+bxn` (n+1 samples a, a+b, ...,
a+n*b), `a-bxn`, `axn` (a, n+1 times), `_` (no sample), `_xn` (n missing samples),
`stale` (a staleness marker), plain numbers, `Inf`, `NaN`. Native histograms
(`{{schema:0 ...}}`) cannot be carried by the text exposition a scrape reads: they
are refused naming the row, never dropped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import promql_parser

# A sample: a number, MISSING (the scrape does not carry the series) or STALE.
MISSING = None
STALE = "stale"
NO_SAMPLE = "_"  # promtool: this scrape has no sample of the series
Sample = float | str | None

_NUMBER = (r"[-+]?(?:\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[Ii]nf|NaN"
           r"|0x[0-9a-fA-F]+)")
_EXPANDING = re.compile(
    rf"^(?P<start>{_NUMBER})(?:(?P<sign>[-+])(?P<step>{_NUMBER}))?x(?P<count>\d+)$")
_MISSING_RUN = re.compile(r"^_x(?P<count>\d+)$")


class NotationError(ValueError):
    """A row promtool's notation does not describe, or a scrape cannot carry."""


def _number(text: str) -> float:
    lowered = text.lower().lstrip("+")
    if lowered in ("inf", "-inf"):
        return math.inf if not lowered.startswith("-") else -math.inf
    if lowered == "nan":
        return math.nan
    if lowered.lstrip("-").startswith("0x"):
        return float(int(text, 16))
    return float(text)


def expand(values: str) -> list[Sample]:
    """The samples `values` stands for, one per interval."""
    if "{{" in values:
        raise NotationError(
            f"values {values!r} hold a native histogram: the text exposition a scrape reads "
            "cannot carry one (state the classic _bucket/_sum/_count series instead)")
    samples: list[Sample] = []
    for token in values.split():
        if token == NO_SAMPLE:
            samples.append(MISSING)
        elif token == STALE:
            samples.append(STALE)
        elif (run := _MISSING_RUN.match(token)) is not None:
            samples.extend([MISSING] * int(run["count"]))
        elif (expanding := _EXPANDING.match(token)) is not None:
            start = _number(expanding["start"])
            step = _number(expanding["step"]) if expanding["step"] else 0.0
            if expanding["sign"] == "-":
                step = -step
            samples.extend(start + k * step for k in range(int(expanding["count"]) + 1))
        else:
            try:
                samples.append(_number(token))
            except ValueError:
                raise NotationError(f"{token!r} in values {values!r} is not promtool's "
                                    "notation (a, a+bxn, a-bxn, axn, _, _xn, stale)") from None
    return samples


@dataclass(frozen=True)
class Series:
    """One input row: its metric name, exactly the labels it states, its samples."""

    name: str
    labels: tuple[tuple[str, str], ...]
    samples: tuple[Sample, ...]
    text: str  # as written, for messages

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)


def parse_series(series: str, values: str) -> Series:
    """A row of promtool's `input_series`."""
    try:
        node = promql_parser.parse(series)
    except ValueError as exc:
        raise NotationError(f"series {series!r} is not a series selector: {exc}") from None
    if not isinstance(node, promql_parser.VectorSelector):
        raise NotationError(f"series {series!r} is not a series (name{{label=\"value\"}})")
    name = node.name
    labels: dict[str, str] = {}
    for matcher in node.matchers.matchers:
        if str(matcher.op) != "MatchOp.Equal":
            raise NotationError(f"series {series!r}: {matcher.name} must be given with =, "
                                "as a series states its labels")
        if matcher.name == "__name__":
            name = matcher.value
        else:
            labels[matcher.name] = matcher.value
    if not name:
        raise NotationError(f"series {series!r} has no metric name")
    try:
        samples = expand(values)
    except NotationError as exc:
        raise NotationError(f"series {series!r}: {exc}") from None
    return Series(name, tuple(sorted(labels.items())), tuple(samples), series)
