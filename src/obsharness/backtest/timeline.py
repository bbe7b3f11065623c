"""A backtest's firings drawn as a timeline: one row per alert and label set, a bar per
firing, a tick per day. PNG (written here with zlib, no imaging library) for the
report, and SVG beside it with each row's name."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from html import escape
from pathlib import Path

from obsharness.backtest.history import AlertResult

WIDTH = 1200
ROW = 16
LEFT = 8  # the PNG has no text: its rows are named in the SVG and the JSON
PALETTE = ((220, 38, 38), (37, 99, 235), (22, 163, 74), (217, 119, 6), (124, 58, 237))


Spans = list[tuple[float, float | None]]


def _rows(results: Sequence[AlertResult]) -> list[tuple[str, int, Spans]]:
    rows = []
    for index, result in enumerate(results):
        by_labels: dict[str, list[tuple[float, float | None]]] = {}
        for firing in result.firings:
            name = ", ".join(f"{k}={v}" for k, v in sorted(firing.labels.items())
                             if k != "alertname")
            by_labels.setdefault(name, []).append((firing.firing.start, firing.firing.end))
        for labels, spans in sorted(by_labels.items()):
            rows.append((f"{result.rule.name} {{{labels}}}", index, spans))
    return rows


def _png(pixels: list[bytearray], width: int, height: int) -> bytes:
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def draw(results: Sequence[AlertResult], start: float, end: float, png: Path) -> Path:
    """Writes `png` and the same timeline as SVG beside it; returns the SVG's path."""
    rows = _rows(results)
    height = max(1, len(rows)) * ROW + 10
    span = max(end - start, 1.0)
    pixels = [bytearray(b"\xff" * (WIDTH * 3)) for _ in range(height)]

    def x(t: float) -> int:
        return LEFT + int((min(max(t, start), end) - start) / span * (WIDTH - LEFT - 1))

    day = 86_400.0
    tick = (start // day + 1) * day
    while tick < end:
        for y in range(height):
            pixels[y][x(tick) * 3:x(tick) * 3 + 3] = b"\xd1\xd5\xdb"
        tick += day
    svg = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH + 360}' "
           f"height='{height}' font-family='sans-serif' font-size='11'>"]
    for number, (name, colour_index, spans) in enumerate(rows):
        colour = PALETTE[colour_index % len(PALETTE)]
        top = 5 + number * ROW
        for begin, finish in spans:
            left, right = x(begin), x(finish if finish is not None else end)
            for y in range(top + 2, top + ROW - 2):
                pixels[y][left * 3:(right + 1) * 3] = bytes(colour) * (right - left + 1)
            svg.append(f"<rect x='{left + 360}' y='{top + 2}' width='{max(1, right - left)}' "
                       f"height='{ROW - 4}' fill='rgb{colour}'/>")
        svg.append(f"<text x='2' y='{top + ROW - 4}'>{escape(name)}</text>")
    svg.append("</svg>")
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(_png(pixels, WIDTH, height))
    svg_path = png.with_suffix(".svg")
    svg_path.write_text("\n".join(svg))
    return svg_path
