"""Time compression's PromQL rewrite held to promtool's own parser (hypothesis): the
rewritten expression parses, and promtool's canonical form of it differs from the
original's only in the durations of ranges, subquery steps and offsets, each scaled
as the harness says (never a string, a label value or a number)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from obsharness.binaries import resolve
from obsharness.timing import (
    RANGE_MIN_SCRAPES,
    TimeScaler,
    format_duration,
    parse_duration,
    scale_promql,
)

UNITS = ["ms", "s", "m", "h", "d", "w"]
DURATIONS = st.builds(lambda n, u, extra: f"{n}{u}{extra}", st.integers(1, 90),
                      st.sampled_from(UNITS[1:]), st.sampled_from(["", "30s", "15m"]))
# Label values that look like PromQL durations, ranges and offsets: never touched.
VALUES = st.sampled_from(["5m", "[5m]", "offset 1h", "a:b", "x[1h:5m]", "café", 'say "hi"'])
SCRAPE_MS = 15_000


def _valid(duration: str) -> bool:
    """Go's duration order: 1h30m, never 30s15m (a compound must shrink)."""
    units = re.findall(r"\d+(ms|s|m|h|d|w|y)", duration)
    order = [UNITS.index(u) for u in units]
    return order == sorted(set(order), reverse=True)


@st.composite
def selectors(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(["up", "http_requests_total", "node_cpu_seconds_total"]))
    value = draw(VALUES).replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}{{job="{value}"}}'


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    duration = draw(DURATIONS.filter(_valid))
    selector = draw(selectors())
    offset = ""
    if draw(st.booleans()):
        offset = f" offset {draw(st.sampled_from(['', '-']))}{draw(DURATIONS.filter(_valid))}"
    kind = draw(st.sampled_from(["range", "subquery", "bare", "binary", "aggregate"]))
    if kind == "range":
        expr = f"{draw(st.sampled_from(['rate', 'increase', 'avg_over_time']))}" \
               f"({selector}[{duration}]{offset})"
    elif kind == "subquery":
        step = draw(st.sampled_from(["", "1m", "30s", "5m"]))
        expr = f"max_over_time(rate({selector}[{duration}])[1h:{step}])"
    elif kind == "binary" and depth < 2:
        expr = f"{draw(expressions(depth + 1))} / {draw(expressions(depth + 1))}"
    elif kind == "aggregate" and depth < 2:
        expr = f"sum by (job) ({draw(expressions(depth + 1))})"
    else:
        expr = selector + offset
    return expr


def _canonical(expr: str) -> str:
    promtool = resolve("promtool")
    result = subprocess.run([str(promtool.path), "--experimental", "promql", "format", expr],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, f"promtool refuses {expr!r}: {result.stderr}"
    return result.stdout.strip()


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_DURATION = re.compile(r"(?<=\[)[0-9a-z]+(?=[:\]])|(?<=:)[0-9a-z]+(?=\])|(?<=offset )-?[0-9a-z]+")


def _skeleton(canonical: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    """(text with durations as @, [(kind, duration)], string literals)."""
    strings = _STRING.findall(canonical)
    # promtool breaks long expressions over lines; the rewrite changes lengths.
    text = re.sub(r"\s+", " ", _STRING.sub('""', canonical))
    text = re.sub(r"\( ", "(", re.sub(r" \)", ")", text))
    found: list[tuple[str, str]] = []

    def mark(match: re.Match[str]) -> str:
        before = text[:match.start()]
        kind = "offset" if before.endswith("offset ") else \
            "step" if before.endswith(":") else "range"
        found.append((kind, match.group(0)))
        return "@"

    return _DURATION.sub(mark, text), found, strings


def _expected(kind: str, duration: str, scaler: TimeScaler) -> int:
    ms = parse_duration(duration.lstrip("-"))
    floor = {"range": RANGE_MIN_SCRAPES * SCRAPE_MS, "step": SCRAPE_MS, "offset": 0}[kind]
    return scaler.scale_ms(ms, floor_ms=floor)


@settings(max_examples=60, deadline=None)
@given(expr=expressions(), scale=st.sampled_from([1, 2, 10, 60, 600]))
def test_the_rewrite_parses_and_changes_only_durations(expr: str, scale: float) -> None:
    rewritten = scale_promql(expr, TimeScaler(scale), scrape_interval_ms=SCRAPE_MS)
    before, after = _skeleton(_canonical(expr)), _skeleton(_canonical(rewritten))
    assert after[0] == before[0], (expr, rewritten)  # same structure, per promtool
    assert after[2] == before[2], (expr, rewritten)  # string literals untouched
    assert len(after[1]) == len(before[1])
    scaler = TimeScaler(scale)
    for (kind, old), (_, new) in zip(before[1], after[1], strict=True):
        assert parse_duration(new.lstrip("-")) == _expected(kind, old, scaler), \
            (expr, rewritten, kind, old, new)
        assert new.startswith("-") == old.startswith("-")


def test_the_canonical_skeleton_finds_every_kind_of_duration() -> None:
    text, durations, strings = _skeleton(
        'max_over_time(rate(up{job="[5m]"}[5m])[1h:30s]) offset -1h30m')
    assert text == 'max_over_time(rate(up{job=""}[@])[@:@]) offset @'
    assert durations == [("range", "5m"), ("range", "1h"), ("step", "30s"),
                         ("offset", "-1h30m")]
    assert strings == ['"[5m]"']
    assert format_duration(parse_duration("1h30m")) == "1h30m"
    assert Path(resolve("promtool").path).exists()
