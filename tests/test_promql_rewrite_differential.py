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
from obsharness.plain_durations import scale_predict_linear
from obsharness.timing import (
    RANGE_MIN_SCRAPES,
    TimeScaler,
    format_duration,
    parse_duration,
    promql_duration_ms,
    scale_promql,
)

UNITS = ["ms", "s", "m", "h", "d", "w"]
DURATIONS = st.one_of(
    st.builds(lambda n, u, extra: f"{n}{u}{extra}", st.integers(1, 90),
              st.sampled_from(UNITS[1:]), st.sampled_from(["", "30s", "15m"])),
    # Prometheus 3 reads a plain number as seconds.
    st.sampled_from(["300", "1.5", "0x10", "90", "1e3", "3600.5"]))
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
_DURATION = re.compile(r"(?<=\[)[0-9a-z.]+(?=[:\]])|(?<=:)[0-9a-z.]+(?=\])|(?<=offset )-?[0-9a-z.]+")


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
    ms = promql_duration_ms(duration.lstrip("-"))
    floor = {"range": RANGE_MIN_SCRAPES * SCRAPE_MS, "step": SCRAPE_MS, "offset": 0}[kind]
    return scaler.scale_ms(ms, floor_ms=floor)


@settings(max_examples=40, deadline=None)
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


DURATION_TEXTS = st.one_of(
    st.builds("".join, st.lists(st.builds(
        lambda n, u: f"{n}{u}", st.integers(0, 400), st.sampled_from([*UNITS, "y", "x", ""])),
        min_size=1, max_size=3)),
    st.sampled_from(["", "5", "1.5h", "-5m", "5M", "1h1h", "0s", "90s", "1h90m", "1w2d",
                     "010", "09", "1_0", "0x1f", "007"]))


@settings(max_examples=40, deadline=None)
@given(text=DURATION_TEXTS)
def test_durations_are_read_as_prometheus_reads_them(text: str) -> None:
    """promql_duration_ms accepts what promtool accepts in a range and nothing else, and
    means what promtool means (its canonical form of the same duration)."""
    result = subprocess.run([str(resolve("promtool").path), "--experimental", "promql",
                             "format", f"x[{text}]"], capture_output=True, text=True,
                            timeout=30, check=False)
    try:
        ours: int | None = promql_duration_ms(text)
    except ValueError:
        ours = None
    if result.returncode != 0:
        assert ours is None or ours == 0, (text, result.stderr)  # [0s] is refused as a range
        return
    canonical = result.stdout.strip()[2:-1]
    if ours is not None and ours > 10 * 365 * 86_400_000:
        # Decades: promtool's formatting drops the milliseconds (35y1ms prints 35y).
        assert abs(ours - parse_duration(canonical)) < 1000, (text, canonical)
        return
    assert ours == parse_duration(canonical), (text, canonical)


@settings(max_examples=15, deadline=None)
@given(window=DURATIONS.filter(_valid), horizon=st.sampled_from(["3600", "4 * 3600", "86400",
                                                                 "1.5e3", "3600 * 24"]),
       scale=st.sampled_from([2, 60, 600]))
def test_a_predict_linear_horizon_scales_with_its_window(window: str, horizon: str,
                                                         scale: float) -> None:
    expr = f'predict_linear(node_filesystem_free_bytes{{mountpoint="/"}}[{window}], {horizon}) < 0'
    rewritten, changes = scale_predict_linear(expr, scale)
    assert len(changes) == 1
    canonical = _canonical(rewritten)  # promtool reads it
    new_horizon = canonical.split(", ", 1)[1].rsplit(")", 1)[0]
    assert abs(float(eval(new_horizon)) - float(eval(horizon)) / scale) < 1e-6, canonical
