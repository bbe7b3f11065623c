"""A timeline as an SVG line chart: no plotting library, readable offline, testable as text."""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from obsharness.report.timeline import Timeline

WIDTH, HEIGHT = 680, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 34, 44
MARKERS = (("fault_at", "fault", "#d97706"), ("firing_at", "firing", "#dc2626"),
           ("notified_at", "notified", "#16a34a"))
LOG_COLOUR = "#7c3aed"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _label(value: float) -> str:
    return f"{value:.3g}"


def svg(timeline: Timeline) -> str:
    """The measure over time, its threshold, and the fault / firing / notification times."""
    times = [t for t, _ in timeline.points]
    marks = {attr: getattr(timeline, attr) for attr, _, _ in MARKERS if getattr(timeline, attr)}
    origin = timeline.fault_at or (times[0] if times else 0.0)
    all_times = times + list(marks.values()) + timeline.log_times
    t0 = min(all_times, default=origin)
    t1 = max(all_times, default=origin + 1)
    t1 = t1 if t1 > t0 else t0 + 1
    values = [v for _, v in timeline.points if math.isfinite(v)] + [timeline.threshold]
    v0, v1 = min([*values, 0.0]), max(values) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - (v - v0) / ((v1 - v0) or 1.0) * plot_h

    measure = " ".join(timeline.measure.split())
    measure = measure if len(measure) <= 70 else measure[:67] + "..."
    title = (f"{timeline.alert} for {timeline.service}: {measure} {timeline.op} "
             f"{timeline.threshold:g}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<title>{escape(title)}</title>',
        f'<text x="{LEFT}" y="18" font-size="13" font-family="sans-serif">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        f'stroke="#bbb"/>',
    ]
    for tick in _ticks(v0, v1):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" font-size="11" '
                     f'text-anchor="end" font-family="sans-serif">{_label(tick)}</text>')
    for tick in _ticks(t0 - origin, t1 - origin):
        parts.append(f'<text x="{x(tick + origin):.1f}" y="{TOP + plot_h + 16}" font-size="11" '
                     f'text-anchor="middle" font-family="sans-serif">{tick:g} s</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" font-size="11" '
                 f'text-anchor="middle" font-family="sans-serif">seconds since the fault '
                 f'(time-compressed run)</text>')
    parts.append(f'<line class="threshold" x1="{LEFT}" x2="{LEFT + plot_w}" '
                 f'y1="{y(timeline.threshold):.1f}" y2="{y(timeline.threshold):.1f}" '
                 f'stroke="#dc2626" stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{LEFT + plot_w - 4}" y="{y(timeline.threshold) - 4:.1f}" '
                 f'font-size="11" text-anchor="end" fill="#dc2626" font-family="sans-serif">'
                 f'threshold {timeline.threshold:g}</text>')
    if timeline.points:
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in timeline.points if math.isfinite(v))
        parts.append(f'<polyline class="measure" points="{path}" fill="none" '
                     f'stroke="#2563eb" stroke-width="2"/>')
    else:
        parts.append(f'<text x="{LEFT + 10}" y="{TOP + 20}" font-size="12" '
                     f'font-family="sans-serif">Prometheus returned no sample of the measure '
                     f'for {escape(timeline.service)}</text>')
    for index, (attr, name, colour) in enumerate(MARKERS):
        at = marks.get(attr)
        if at is None:
            continue
        parts.append(f'<line class="marker {name}" x1="{x(at):.1f}" x2="{x(at):.1f}" y1="{TOP}" '
                     f'y2="{TOP + plot_h}" stroke="{colour}" stroke-width="1.5"/>')
        # Labels near the right edge go to the left of their line.
        right = x(at) > LEFT + plot_w * 0.8
        parts.append(f'<text x="{x(at) + (-3 if right else 3):.1f}" y="{TOP + 12 + 12 * index}" '
                     f'font-size="11" fill="{colour}" font-family="sans-serif" '
                     f'text-anchor="{"end" if right else "start"}">{name} {at - origin:+.1f} s'
                     f'</text>')
    parts.extend(_log_rug(timeline, x, TOP + plot_h))
    parts.append("</svg>")
    return "\n".join(parts)


def _log_rug(timeline: Timeline, x: Callable[[float], float], bottom: float) -> list[str]:
    """The log lines behind the alert as ticks along the time axis, with what they are."""
    if not timeline.log_times:
        return []
    ticks = " ".join(f"M{x(t):.1f},{bottom - 10:.1f}v10" for t in timeline.log_times)
    return [
        f'<path class="log-lines" d="{ticks}" stroke="{LOG_COLOUR}" stroke-width="1.5"/>',
        f'<text x="{LEFT + 4}" y="{bottom - 14:.1f}" font-size="11" fill="{LOG_COLOUR}" '
        f'font-family="sans-serif">{escape(timeline.log_label or "log lines")}</text>',
    ]
