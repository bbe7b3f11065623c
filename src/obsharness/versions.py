"""The versions the harness runs, in one table.

The process backend's binaries (release archives, Debian's newest suites),
the docker backend's official images, the locally built images of the docker
proof, `doctor` and the README all follow it; stack/stack.yaml names the same
images (a test holds them equal), so a config that passes one backend does
not fail the other for a version difference.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pinned:
    version: str  # the release, e.g. 3.5.3
    image: str  # the official image with that release's tag
    # How many leading parts name the line: 2 (major.minor) for most, 1 for PostgreSQL,
    # whose major version is the line (15.18 and 15.4 are the same server).
    line_parts: int = 2

    @property
    def line(self) -> str:
        """What a binary from another source must match (3.5 for 3.5.3, 15 for 15.18)."""
        return ".".join(self.version.split(".")[: self.line_parts])

    def matches(self, found: str) -> bool:
        """Whether a version string (3.5.3+ds1-6, 0.33.1) is of this line."""
        return found == self.line or found.startswith(self.line + ".")


VERSIONS: dict[str, Pinned] = {
    # Prometheus 3.5 is the long-term-support line; promtool ships with it.
    "prometheus": Pinned("3.5.3", "prom/prometheus:v3.5.3"),
    "alertmanager": Pinned("0.33.1", "prom/alertmanager:v0.33.1"),
    "grafana": Pinned("13.0.1", "grafana/grafana:13.0.1"),
    "loki": Pinned("3.7.6", "grafana/loki:3.7.6"),
    # Promtail reached end of life on 2026-03-02; 3.6 is its last line.
    "promtail": Pinned("3.6.15", "grafana/promtail:3.6.15"),
    "alloy": Pinned("1.11.0", "grafana/alloy:v1.11.0"),
    # The exporters at the line Debian's newest suites carry, so that a rule pack finds
    # the same series on both backends (0.11 and 0.15 differ in default collectors).
    "node-exporter": Pinned("1.11.1", "prom/node-exporter:v1.11.1"),
    "postgres-exporter": Pinned("0.19.1", "quay.io/prometheuscommunity/postgres-exporter:v0.19.1"),
    # The process backend runs the machine's own PostgreSQL server (its share/ and lib/
    # trees are a system install): Debian 12's, 15. Another major version is warned of.
    "postgres": Pinned("15.18", "postgres:15.18", line_parts=1),
}
