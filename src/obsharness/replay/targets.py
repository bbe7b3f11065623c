"""The synthetic scrape targets of a replay: one per job/instance pair of the rows.

Each scrape of a target serves the next sample of each of its series, so the real
Prometheus stamps them with its own scrape times and `up`, `job` and `instance` come
from the scrape as in production. A row of `up` is not served as a metric: where it
is 0 the target answers 503, so the target's other series go stale with it, as a
down target's do. Targets are handed to Prometheus through a file_sd file in the
rendered config's folder (see render.REPLAY_JOB); a row's own labels are all a
series carries: the marker value of a job or instance the row did not state is
blanked by the replay job's metric relabelling.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from obsharness.ports import LOOPBACK
from obsharness.replay.notation import MISSING, STALE, NotationError, Sample, Series

# The job/instance a target gets where its rows state none; the replay job's metric
# relabelling removes the label again (render.REPLAY_JOB).
UNSTATED = "obsharness-replay-unstated"
_LEGACY_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LEGACY_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@dataclass
class Target:
    """One job/instance pair: its series, and when each of its samples was first served.

    A sample is chosen by the wall time of the scrape, one every `pace_s`: a loaded
    machine's Prometheus skips scrape ticks, and a sample per scrape would then fall
    behind the wall clock that `for` counts and spread a counter's increments over
    doubled gaps. Chosen by time, a skipped tick skips its sample, as a missed scrape
    does in production. The clock starts half a pace before the first scrape, so the
    scrapes land mid-sample and their jitter neither repeats nor skips one.
    """

    key: str
    job: str | None
    instance: str | None
    series: list[Series]
    up: Series | None = None
    delay_s: float = 0.0  # how long each scrape takes to answer (a slow exporter)
    # Labels of the `up` row besides job and instance (`team`): target labels in
    # production, so every series of the target carries them.
    extra: dict[str, str] = field(default_factory=dict)
    hold: int = 0  # samples the last one stays served after a row ends (lookback)
    pace_s: float = 0.0  # wall seconds per sample; 0: one sample per scrape
    first_served: list[float] = field(default_factory=list)  # sample index -> wall time
    origin: float | None = None  # the wall time of sample 0's start
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _sample(self, series: Series, index: int) -> Sample:
        if index < len(series.samples):
            return series.samples[index]
        if index < len(series.samples) + self.hold:
            return series.samples[-1]  # promtool's lookback keeps the last sample in view
        return MISSING

    def _index(self, wall: float) -> int:
        if self.pace_s <= 0:
            return len(self.first_served)
        if self.origin is None:
            self.origin = wall - self.pace_s / 2
        return max(int((wall - self.origin) / self.pace_s), len(self.first_served) - 1)

    def scrape(self) -> tuple[int, str]:
        """The answer of a scrape now: (status, exposition)."""
        with self._lock:
            wall = time.time()
            index = self._index(wall)
            self.first_served += [wall] * (index + 1 - len(self.first_served))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.up is not None:
            up = self._sample(self.up, index)
            if isinstance(up, float) and up == 0:
                return 503, "replayed: up is 0 at this sample\n"
        lines = []
        for row in self.series:
            value = self._sample(row, index)
            if value is MISSING or value == STALE or isinstance(value, str):
                continue  # not carried by this scrape: Prometheus marks the series stale
            labels = ",".join(f'{name}="{_escape(text)}"' for name, text in row.labels
                              if name not in ("job", "instance")
                              and self.extra.get(name) != text)
            lines.append(f"{row.name}{{{labels}}} {_format_value(value)}")
        return 200, "\n".join(lines) + "\n"

    def sample_time(self, index: int) -> float | None:
        """When sample `index` (or a later one, if its tick was skipped) was first served."""
        with self._lock:
            return self.first_served[index] if index < len(self.first_served) else None


def group_targets(rows: Sequence[Series], *, prefix: str, hold: int = 0,
                  delay_s: float = 0.0, pace_s: float = 0.0) -> list[Target]:
    """One target per job/instance pair the rows state."""
    groups: dict[tuple[str | None, str | None], Target] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for row in rows:
        identity = (row.name, row.labels)
        if identity in seen:
            raise NotationError(f"series {row.text!r} is given twice")
        seen.add(identity)
        if not _LEGACY_NAME.match(row.name) or not all(_LEGACY_LABEL.match(n)
                                                       for n, _ in row.labels):
            raise NotationError(
                f"series {row.text!r}: a UTF-8 metric or label name cannot be served in the "
                "text exposition the replay's scrape reads")
        pair = (row.label("job"), row.label("instance"))
        target = groups.get(pair)
        if target is None:
            target = Target(f"{prefix}-{len(groups)}", pair[0], pair[1], [], hold=hold,
                            delay_s=delay_s, pace_s=pace_s)
            groups[pair] = target
        if row.name == "up":
            if any(not isinstance(v, float) for v in row.samples):
                raise NotationError(
                    f"series {row.text!r}: up comes from the scrape, so each of its samples "
                    "says whether the target answers (1) or not (0); _ and stale have no meaning")
            target.up = row
            target.extra = {k: v for k, v in row.labels if k not in ("job", "instance")}
        else:
            target.series.append(row)
    return list(groups.values())


class ReplayServer:
    """The HTTP server all replay targets of a session answer from."""

    def __init__(self, sd_dir: Path, *, host: str = LOOPBACK) -> None:
        self.sd_dir = sd_dir
        self._targets: dict[str, tuple[Target, dict[str, str]]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                key = self.path.split("?", 1)[0].removeprefix("/replay/")
                with server._lock:
                    entry = server._targets.get(key)
                if entry is None:
                    status, body = 404, f"no replay target {key}\n"
                else:
                    status, body = entry[0].scrape()
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # Prometheus gave up (its scrape timeout): as with a real target

            def log_message(self, *_: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="replay-targets", daemon=True)
        self._file = sd_dir / f"replay-{os.getpid()}.json"

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> ReplayServer:
        self.sd_dir.mkdir(parents=True, exist_ok=True)
        self._write()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._file.unlink(missing_ok=True)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def add(self, targets: Iterable[Target], *, interval: str, timeout: str) -> None:
        with self._lock:
            for target in targets:
                labels = {**target.extra,
                          "job": target.job or UNSTATED, "instance": target.instance or UNSTATED,
                          "__metrics_path__": f"/replay/{target.key}",
                          "__scrape_interval__": interval, "__scrape_timeout__": timeout}
                self._targets[target.key] = (target, labels)
        self._write()

    def remove(self, targets: Iterable[Target]) -> None:
        with self._lock:
            for target in targets:
                self._targets.pop(target.key, None)
        self._write()

    def _write(self) -> None:
        with self._write_lock:  # replays of several lanes add and remove at once
            with self._lock:
                groups = [{"targets": [self.address], "labels": labels}
                          for _, labels in self._targets.values()]
            # Renamed into place: Prometheus' file watcher never reads half a file.
            partial = self._file.with_suffix(".partial")
            partial.write_text(json.dumps(groups, indent=1))
            partial.replace(self._file)


# The scrape job every rendered Prometheus gets: empty until a replay hands it targets.
REPLAY_JOB = "obsharness-replay"
SD_DIR = "obsharness-replay"  # beside the rendered prometheus.yml (file_sd reads it relative)


def scrape_config() -> dict[str, Any]:
    """The replay's job. A row states all its labels: the unstated job or instance is
    blanked (an empty label is no label) before the samples are stored."""
    blank = [{"source_labels": [name], "regex": UNSTATED, "target_label": name,
              "replacement": ""} for name in ("job", "instance")]
    return {"job_name": REPLAY_JOB,
            "file_sd_configs": [{"files": [f"{SD_DIR}/*.json"], "refresh_interval": "1s"}],
            "metric_relabel_configs": blank}
