"""Time compression: durations in Prometheus/Alertmanager syntax, scaled by a factor.

Production configs say `for: 2m` and `[5m]`; a test cannot wait that long. A
duration is divided by the time scale and rounded to whole milliseconds (the
finest unit both tools accept). Floors keep the meaning of a duration when the
division would make it too small: a range window keeps at least four scrapes,
an interval stays above a minimum the tools can honour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_UNITS_MS: dict[str, int] = {
    "y": 365 * 24 * 3600 * 1000,
    "w": 7 * 24 * 3600 * 1000,
    "d": 24 * 3600 * 1000,
    "h": 3600 * 1000,
    "m": 60 * 1000,
    "s": 1000,
    "ms": 1,
}
_UNIT_ORDER = ("y", "w", "d", "h", "m", "s", "ms")

# Prometheus' duration grammar: units in descending order, each at most once.
DURATION_PATTERN = (
    r"(?=\d)(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m(?!s))?(?:\d+s)?(?:\d+ms)?"
)
_DURATION_RE = re.compile(rf"^{DURATION_PATTERN}$")
_PART_RE = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")

# Lower bounds for compressed durations; below these the tools misbehave or
# the machine spends its time scraping.
MIN_INTERVAL_MS = 100
RANGE_MIN_SCRAPES = 4


class DurationError(ValueError):
    """Text that is not a Prometheus duration."""


def parse_duration(text: str) -> int:
    """Parse a Prometheus duration ("1h30m", "250ms", "0s") into milliseconds."""
    text = text.strip()
    if not text or not _DURATION_RE.match(text):
        raise DurationError(f"not a duration: {text!r} (expected e.g. 15s, 5m, 1h30m, 250ms)")
    return _in_range(text, sum(int(n) * _UNITS_MS[unit] for n, unit in _PART_RE.findall(text)))


# Go's time.Duration is int64 nanoseconds: about 292 years.
MAX_DURATION_MS = (2**63 - 1) // 1_000_000


def _in_range(text: str, ms: int) -> int:
    if ms > MAX_DURATION_MS:
        raise DurationError(f"duration out of range: {text!r} (at most about 292 years)")
    return ms


def format_duration(ms: int) -> str:
    """Format milliseconds as the shortest exact Prometheus duration."""
    if ms < 0:
        raise DurationError(f"negative duration: {ms} ms")
    if ms == 0:
        return "0s"
    parts: list[str] = []
    rest = ms
    for unit in _UNIT_ORDER:
        size = _UNITS_MS[unit]
        if rest >= size:
            count, rest = divmod(rest, size)
            parts.append(f"{count}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class FloorApplied:
    """Record of a compressed duration raised to its floor, for warnings and the report."""

    where: str
    original: str
    compressed_ms: int
    floor_ms: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.where}: {self.original} / scale = {format_duration(self.compressed_ms)} "
            f"raised to {format_duration(self.floor_ms)} ({self.reason})"
        )


@dataclass
class TimeScaler:
    """Divides durations by `scale` and records every floor it had to apply."""

    scale: float
    floors: list[FloorApplied] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.scale >= 1:
            raise ValueError(f"time scale must be >= 1 (1 = production timing), got {self.scale}")

    def scale_ms(self, ms: int, *, floor_ms: int = 0, where: str = "", reason: str = "") -> int:
        """Scale a duration in ms; zero stays zero, anything else respects `floor_ms`."""
        if ms == 0:
            return 0
        compressed = max(1, round(ms / self.scale))
        if compressed < floor_ms:
            # A floor never raises a duration above its production value.
            floored = min(floor_ms, ms)
            if floored > compressed:
                self.floors.append(
                    FloorApplied(where, format_duration(ms), compressed, floored, reason)
                )
                return floored
        return compressed

    def scale_text(
        self, text: str, *, floor_ms: int = 0, where: str = "", reason: str = ""
    ) -> str:
        return format_duration(
            self.scale_ms(parse_duration(text), floor_ms=floor_ms, where=where, reason=reason)
        )


# Prometheus 3 also reads a plain number as seconds where PromQL takes a duration:
# `[300]`, `[1.5]`, `[0x10]`, `offset 300`.
_SECONDS = r"(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
_PROMQL_DURATION = rf"(?:{DURATION_PATTERN}(?![\d.eExX])|{_SECONDS})"
_SECONDS_RE = re.compile(rf"^{_SECONDS}$")

# PromQL: a range selector or subquery `[5m]`, `[5m:1m]`, `[5m:]`, and `offset 5m`.
_RANGE_RE = re.compile(rf"\[\s*({_PROMQL_DURATION})\s*(?::\s*({_PROMQL_DURATION})?\s*)?\]")
_OFFSET_RE = re.compile(rf"(\boffset\s+-?)({_PROMQL_DURATION})(?![\w.])")


def promql_duration_ms(text: str) -> int:
    """A duration where PromQL takes one: Prometheus' units, or a number of seconds."""
    if _DURATION_RE.match(text) or not _SECONDS_RE.match(text):
        return parse_duration(text)
    # As Go reads a PromQL number: hex, octal for a leading 0 (010 is 8), underscores.
    digits = text.replace("_", "")
    if digits.lower().startswith("0x"):
        seconds = float(int(digits, 16))
    elif re.fullmatch(r"0[0-7]+", digits):
        seconds = float(int(digits, 8))
    else:
        seconds = float(digits)
    return _in_range(text, round(seconds * 1000))


def split_literals(expr: str) -> list[tuple[bool, str]]:
    """Split PromQL into (is_string_literal, text) chunks so regexes never touch strings."""
    chunks: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch in "\"'`":
            if start < i:
                chunks.append((False, expr[start:i]))
            j = i + 1
            while j < n and expr[j] != ch:
                j += 2 if expr[j] == "\\" and ch != "`" else 1
            chunks.append((True, expr[i : j + 1]))
            i = start = j + 1
            continue
        if ch == "#":  # comment to end of line
            end = expr.find("\n", i)
            end = n if end == -1 else end
            if start < i:
                chunks.append((False, expr[start:i]))
            chunks.append((True, expr[i:end]))
            i = start = end
            continue
        i += 1
    if start < n:
        chunks.append((False, expr[start:]))
    return chunks


def scale_promql(
    expr: str, scaler: TimeScaler, *, scrape_interval_ms: int, where: str = "expr"
) -> str:
    """Scale range selectors, subquery steps and offsets in a PromQL expression.

    A range window keeps at least RANGE_MIN_SCRAPES scrapes so rate() and
    friends still see enough samples.
    """
    range_floor = RANGE_MIN_SCRAPES * scrape_interval_ms

    def scaled(text: str, floor_ms: int, where: str, reason: str) -> str:
        return format_duration(scaler.scale_ms(promql_duration_ms(text), floor_ms=floor_ms,
                                               where=where, reason=reason))

    def _range(match: re.Match[str]) -> str:
        window = scaled(
            match.group(1),
            floor_ms=range_floor,
            where=f"{where} [{match.group(1)}]",
            reason=f"a range window keeps at least {RANGE_MIN_SCRAPES} scrapes",
        )
        if ":" not in match.group(0):
            return f"[{window}]"
        step = match.group(2)
        if not step:
            return f"[{window}:]"
        scaled_step = scaled(
            step,
            floor_ms=scrape_interval_ms,
            where=f"{where} subquery step {step}",
            reason="a subquery step is at least one scrape interval",
        )
        return f"[{window}:{scaled_step}]"

    def _offset(match: re.Match[str]) -> str:
        return match.group(1) + scaled(match.group(2), 0, f"{where} offset", "")

    out: list[str] = []
    for is_literal, chunk in split_literals(expr):
        if is_literal:
            out.append(chunk)
        else:
            out.append(_OFFSET_RE.sub(_offset, _RANGE_RE.sub(_range, chunk)))
    return "".join(out)
