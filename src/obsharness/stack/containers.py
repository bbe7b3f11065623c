"""The stack's components as testcontainers containers, usable on their own.

testcontainers-python has no module for Prometheus, Alertmanager, Loki,
Grafana or Alloy (its issues 733 and 1075 ask for them). These classes are
shaped like its modules: construct with an image (pinned official default),
give them a config, use as a context manager, ask for `url()`. They follow
the official images' documented paths and ports; the manifest's `container:`
recipes say the same, and a unit test keeps both in step.

Ports are published on 127.0.0.1 only, on a free port Docker picks; readiness
is the component's own endpoint, and a readiness timeout carries the
container's log.
"""

from __future__ import annotations

import secrets
import socket
from pathlib import Path
from typing import Any, ClassVar, Self, cast

import requests

from obsharness.errors import ComponentStartError
from obsharness.ports import free_port
from obsharness.versions import VERSIONS
from obsharness.waiting import WaitTimeout, eventually

RUN_LABEL = "io.obsharness.run"


def _docker_container() -> type[Any]:
    # Imported late: testcontainers reads its configuration (Ryuk, host) on import.
    from testcontainers.core.container import DockerContainer

    return cast(type[Any], DockerContainer)


class StackContainer(_docker_container()):  # type: ignore[misc]
    """One component in a container: port on 127.0.0.1, readiness on its own endpoint."""

    IMAGE: ClassVar[str] = ""
    PORT: ClassVar[int] = 0
    READINESS: ClassVar[str | None] = "/"
    COMMAND: ClassVar[tuple[str, ...]] = ()

    def __init__(self, image: str | None = None, *, port: int | None = None,
                 readiness: str | None = None, command: tuple[str, ...] | None = None,
                 name: str | None = None, start_timeout: float = 60.0) -> None:
        super().__init__(image or self.IMAGE)
        self.component = name or type(self).__name__.removesuffix("Container").lower()
        self.port = port or self.PORT
        self.readiness = readiness if readiness is not None else self.READINESS
        self.start_timeout = start_timeout
        # Published on loopback only, on a free port chosen here rather than by Docker:
        # Docker would pick a new one when a killed container is started again.
        self.host_port = free_port()
        self.ports[f"{self.port}/tcp"] = ("127.0.0.1", self.host_port)
        chosen = command if command is not None else self.COMMAND
        if chosen:
            self.with_command(list(chosen))

    def with_config(self, host_path: Path, container_path: str) -> Self:
        """Mount a config file or folder read-only."""
        self.with_volume_mapping(str(Path(host_path).resolve()), container_path, "ro")
        return self

    def with_labels(self, **labels: str) -> Self:
        self._kwargs.setdefault("labels", {}).update(labels)
        return self

    def url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    def start(self) -> Self:
        super().start()
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """The component's own endpoint answers 200 (or, without one, its port accepts)."""
        url = self.url() + str(self.readiness or "")

        def probe() -> int:
            if not self.readiness:
                with socket.create_connection(("127.0.0.1", self.host_port), timeout=2):
                    return 200
            return requests.get(url, timeout=2).status_code

        try:
            eventually(probe, lambda code: code == 200, what=f"{self.component} ready at {url}",
                       timeout=self.start_timeout, interval=0.25)
        except WaitTimeout as exc:
            raise ComponentStartError(component=self.component, reason=str(exc), log_path=None,
                                      log_tail=self.log_tail()) from None

    def log_tail(self, lines: int = 30) -> str:
        try:
            stdout, stderr = self.get_logs()
        except Exception as exc:  # noqa: BLE001 - a gone container has no logs; say so
            return f"(no logs: {exc})"
        text = (stdout + stderr).decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


class PrometheusContainer(StackContainer):
    """prom/prometheus: config in /etc/prometheus, TSDB in /prometheus, port 9090."""

    IMAGE = VERSIONS["prometheus"].image
    PORT = 9090
    READINESS = "/-/ready"
    COMMAND = ("--config.file=/etc/prometheus/prometheus.yml",
               "--storage.tsdb.path=/prometheus", "--web.enable-lifecycle")

    def with_config_dir(self, folder: Path) -> Self:
        """A folder holding prometheus.yml and the rule files it names."""
        return self.with_config(folder, "/etc/prometheus")


class AlertmanagerContainer(StackContainer):
    """prom/alertmanager: config in /etc/alertmanager, state in /alertmanager, port 9093."""

    IMAGE = VERSIONS["alertmanager"].image
    PORT = 9093
    READINESS = "/-/ready"
    COMMAND = ("--config.file=/etc/alertmanager/alertmanager.yml",
               "--storage.path=/alertmanager")

    def with_config_dir(self, folder: Path) -> Self:
        """A folder holding alertmanager.yml and its templates/."""
        return self.with_config(folder, "/etc/alertmanager")


class LokiContainer(StackContainer):
    """grafana/loki: -config.file=/etc/loki/local-config.yaml, data in /loki, port 3100."""

    IMAGE = VERSIONS["loki"].image
    PORT = 3100
    READINESS = "/ready"
    COMMAND = ("-config.file=/etc/loki/local-config.yaml",)

    def with_config_file(self, path: Path) -> Self:
        return self.with_config(path, "/etc/loki/local-config.yaml")


class GrafanaContainer(StackContainer):
    """grafana/grafana: provisioning in /etc/grafana/provisioning, data in /var/lib/grafana,
    port 3000, admin credentials from GF_SECURITY_ADMIN_*."""

    IMAGE = VERSIONS["grafana"].image
    PORT = 3000
    READINESS = "/api/health"

    def __init__(self, image: str | None = None, *, admin_user: str = "admin",
                 admin_password: str | None = None, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        # A fresh password unless one is given: never Grafana's well-known default.
        self.admin_user = admin_user
        self.admin_password = admin_password or secrets.token_urlsafe(12)
        self.with_env("GF_SECURITY_ADMIN_USER", admin_user)
        self.with_env("GF_SECURITY_ADMIN_PASSWORD", self.admin_password)
        self.with_env("GF_ANALYTICS_REPORTING_ENABLED", "false")
        self.with_env("GF_ANALYTICS_CHECK_FOR_UPDATES", "false")

    def with_provisioning(self, folder: Path) -> Self:
        return self.with_config(folder, "/etc/grafana/provisioning")


class AlloyContainer(StackContainer):
    """grafana/alloy: `run` /etc/alloy/config.alloy, UI and /-/ready on 12345."""

    IMAGE = VERSIONS["alloy"].image
    PORT = 12345
    READINESS = "/-/ready"
    COMMAND = ("run", "--server.http.listen-addr=0.0.0.0:12345",
               "--storage.path=/var/lib/alloy/data", "/etc/alloy/config.alloy")

    def with_config_file(self, path: Path) -> Self:
        return self.with_config(path, "/etc/alloy/config.alloy")


# Component name -> its class; everything else runs as a plain StackContainer.
CLASSES: dict[str, type[StackContainer]] = {
    "prometheus": PrometheusContainer,
    "alertmanager": AlertmanagerContainer,
    "loki": LokiContainer,
    "grafana": GrafanaContainer,
    "alloy": AlloyContainer,
}
