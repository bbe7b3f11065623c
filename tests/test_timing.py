"""Duration parsing and time compression, including property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from obsharness.timing import (
    DurationError,
    TimeScaler,
    format_duration,
    parse_duration,
    scale_promql,
)

durations_ms = st.integers(min_value=0, max_value=10 * 365 * 24 * 3600 * 1000)
scales = st.floats(min_value=1, max_value=10_000, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("15s", 15_000), ("5m", 300_000), ("1h30m", 5_400_000), ("250ms", 250), ("0s", 0),
     ("1d", 86_400_000), ("2w", 1_209_600_000), ("1m500ms", 60_500)],
)
def test_parse_known_durations(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "5", "m5", "5x", "1.5m", "5s5m", "-5m"])
def test_parse_rejects_non_durations(text: str) -> None:
    with pytest.raises(DurationError, match="not a duration"):
        parse_duration(text)


@given(durations_ms)
def test_format_parse_roundtrip(ms: int) -> None:
    assert parse_duration(format_duration(ms)) == ms


@given(durations_ms)
def test_scale_one_is_identity(ms: int) -> None:
    assert TimeScaler(1).scale_ms(ms) == ms


@given(durations_ms, scales)
def test_scaled_is_division_rounded_to_ms(ms: int, scale: float) -> None:
    scaled = TimeScaler(scale).scale_ms(ms)
    if ms == 0:
        assert scaled == 0
    else:
        assert scaled >= 1
        assert abs(scaled - ms / scale) <= 0.5 or scaled == 1


@given(durations_ms, durations_ms, scales)
def test_scaling_is_monotonic(a: int, b: int, scale: float) -> None:
    scaler = TimeScaler(scale)
    low, high = sorted((a, b))
    assert scaler.scale_ms(low) <= scaler.scale_ms(high)


@given(st.integers(min_value=1, max_value=10**9), scales, st.integers(0, 10**6))
def test_floor_is_respected_but_never_exceeds_production(ms: int, scale: float, floor: int) -> None:
    scaler = TimeScaler(scale)
    scaled = scaler.scale_ms(ms, floor_ms=floor, where="x", reason="test")
    assert scaled >= min(floor, ms)
    assert scaled <= ms
    if scaler.floors:
        assert scaler.floors[0].floor_ms == scaled


def test_scale_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        TimeScaler(0.5)


def test_promql_ranges_offsets_and_subqueries_are_scaled() -> None:
    scaler = TimeScaler(60)
    expr = 'rate(x[5m]) + max_over_time(y[10m:1m]) + z offset 1h + w[30m:]'
    out = scale_promql(expr, scaler, scrape_interval_ms=250)
    assert out == "rate(x[5s]) + max_over_time(y[10s:1s]) + z offset 1m + w[30s:]"


def test_promql_string_literals_are_untouched() -> None:
    scaler = TimeScaler(60)
    expr = 'sum(rate(x{route="/a[5m]",status=~"5[0-9][0-9]"}[5m])) # note [1h]'
    out = scale_promql(expr, scaler, scrape_interval_ms=250)
    assert out == 'sum(rate(x{route="/a[5m]",status=~"5[0-9][0-9]"}[5s])) # note [1h]'


def test_range_window_keeps_four_scrapes() -> None:
    scaler = TimeScaler(600)
    out = scale_promql("rate(x[1m])", scaler, scrape_interval_ms=250)
    assert out == "rate(x[1s])"
    assert [f.reason for f in scaler.floors] == ["a range window keeps at least 4 scrapes"]
    assert "raised to 1s" in str(scaler.floors[0])


def test_a_range_in_plain_seconds_is_scaled_like_a_duration() -> None:
    """Prometheus 3 reads `[300]` and `offset 90` as seconds; left unscaled, such a rule
    would keep its production window while everything else is compressed."""
    scaled = scale_promql("rate(x[300]) offset 90 + max_over_time(y[0x10:1.5])",
                          TimeScaler(10), scrape_interval_ms=250)
    assert scaled == "rate(x[30s]) offset 9s + max_over_time(y[1s600ms:250ms])"


def test_plain_seconds_are_read_as_go_reads_a_promql_number() -> None:
    """promtool: [010] is 8s (octal), [09] 9s, [1_0] 10s, [0x10] 16s."""
    from obsharness.timing import promql_duration_ms
    assert [promql_duration_ms(t) for t in ("010", "09", "1_0", "0x10", "1.5", "300")] == \
        [8000, 9000, 10000, 16000, 1500, 300000]
