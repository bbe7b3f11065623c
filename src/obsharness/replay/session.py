"""One replay: rows handed to the running stack as scrape targets, and the log of when
each sample was really scraped (promtool's eval_time is a sample, not a wall moment)."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from obsharness.errors import TimeCompressionFloorWarning
from obsharness.replay.notation import Series
from obsharness.replay.targets import ReplayServer, Target, group_targets
from obsharness.timing import MIN_INTERVAL_MS, TimeScaler, format_duration
from obsharness.waiting import eventually

LOOKBACK_MS = 300_000  # Prometheus' default lookback delta, which promtool's tests use
# Prometheus hands new file_sd targets to its scrapers on a 5 s tick, then the first
# scrape waits for the target's offset within its interval.
DISCOVERY_S = 5.0
# A scrape timeout keeps this margin above what the target needs to answer.
SCRAPE_MARGIN = 1.5
_REPLAYS = itertools.count(1)


def _slowed(row: Series, scale: float) -> Series:
    samples = tuple(v / scale if isinstance(v, float) else v for v in row.samples)
    return Series(row.name, row.labels, samples, row.text)


@dataclass
class Replay:
    """Rows replayed at `interval_ms` of production time per sample."""

    server: ReplayServer
    rows: Sequence[Series]
    interval_ms: int
    scaler: TimeScaler
    delay_s: float = 0.0
    name: str = "replay"
    # Counters the rules read only per second: served divided by the time scale
    # (replay/rates.py), so their rates are production rates.
    per_second: frozenset[str] = frozenset()
    targets: list[Target] = field(default_factory=list)
    started_at: float = 0.0

    def __post_init__(self) -> None:
        interval = self.scaler.scale_ms(self.interval_ms, floor_ms=MIN_INTERVAL_MS,
                                        where=f"{self.name} interval",
                                        reason="an interval stays above what the tools can "
                                        "honour")
        need_ms = round(self.delay_s * 1000 * SCRAPE_MARGIN)
        if need_ms > interval:
            # Prometheus refuses a timeout above the interval: the target's interval is
            # raised with it, and its samples come slower than the time scale says.
            warnings.warn(
                f"{self.name}: a scrape takes {self.delay_s:g} s, so its timeout keeps a floor "
                f"of {format_duration(need_ms)} above the compressed interval "
                f"{format_duration(interval)}; this replay runs at time scale "
                f"{self.interval_ms / need_ms:.3g} instead of {self.scaler.scale:g}",
                TimeCompressionFloorWarning, stacklevel=2)
            interval = need_ms
        self.wall_interval_ms = interval
        self.timeout_ms = max(need_ms, min(interval, 10_000))
        hold = -(-LOOKBACK_MS // self.interval_ms)  # promtool's lookback, in samples
        # A sample every wall interval: the replay runs at interval / wall interval (the
        # time scale, unless a floor or a slow exporter raised the interval), and a
        # counter read per second is slowed by that, so its rate is the production rate.
        effective_scale = self.interval_ms / interval
        rows = [_slowed(row, effective_scale) if row.name in self.per_second else row
                for row in self.rows]
        # A URL path segment: the name is for people, the key for the target's path.
        self.targets = group_targets(rows, prefix=f"r{next(_REPLAYS)}", hold=hold,
                                     delay_s=self.delay_s, pace_s=interval / 1000)

    def start(self, *, timeout: float = 30.0) -> float:
        """Hand the targets to Prometheus; returns when every one has been scraped once
        (the replay's time zero)."""
        self.server.add(self.targets, interval=format_duration(self.wall_interval_ms),
                        timeout=format_duration(self.timeout_ms))
        outcome = eventually(
            lambda: [t.key for t in self.targets if t.sample_time(0) is None],
            lambda waiting: not waiting,
            what=f"Prometheus' first scrape of the {len(self.targets)} replay target(s) "
                 f"of {self.name} (its file_sd targets are picked up every {DISCOVERY_S:g} s)",
            timeout=timeout, interval=0.05)
        del outcome
        self.started_at = max(t.sample_time(0) or 0.0 for t in self.targets)
        return self.started_at

    def sample_wall(self, index: int) -> float:
        """When the last of the targets was scraped for sample `index` (as recorded; the
        sample must have been scraped, see wait_for_sample)."""
        seen = [t.sample_time(index) for t in self.targets]
        return max(s for s in seen if s is not None) if any(seen) else self.started_at

    def sample_slot(self, index: int) -> float:
        """When sample `index`'s slot began on the replay's clock (the latest target's)."""
        starts = [t.origin + index * t.pace_s for t in self.targets if t.origin is not None]
        return max(starts) if starts else self.started_at

    def wait_for_sample(self, index: int) -> None:
        """Until every target has been scraped for sample `index`."""
        eventually(lambda: all(t.sample_time(index) is not None for t in self.targets), bool,
                   what=f"sample {index} of {self.name} scraped",
                   timeout=(index + 4) * self.wall_interval_ms / 1000 * 3 + 10, interval=0.02)

    def stop(self) -> None:
        self.server.remove(self.targets)
