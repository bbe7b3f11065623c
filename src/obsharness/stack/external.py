"""The external backend: the same scenarios against an already deployed stack
(the one Terraform and Ansible built), as a nightly gate.

A YAML file (OBSHARNESS_EXTERNAL or --external-config) names each component's
URL; the apps' chaos APIs are their URL + /chaos. Nothing is started or
stopped: faults that need to kill or stop a process raise
ComponentUnavailableError, which scenarios turn into a skip with the reason.

    time_scale: 1                 # the deployed stack runs production timing
    receivers_reachable: false    # Alertmanager cannot reach this machine's sinks
    postgres_dsn_env: OBS_POSTGRES_DSN
    components:
      prometheus: http://10.42.1.10:9090
      alertmanager: http://10.42.1.10:9093
      flask-app: http://10.42.1.11:5000
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness.errors import ComponentUnavailableError, ManifestError
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import RenderedStack, render_stack

EXTERNAL_ENV = "OBSHARNESS_EXTERNAL"
# The token the staging apps were started with (their CHAOS_TOKEN), for the
# scenarios that inject faults; without it those scenarios fail, naming it.
CHAOS_TOKEN_ENV = "OBSHARNESS_CHAOS_TOKEN"  # noqa: S105 - a variable name, not a secret
_KEYS = {"time_scale", "receivers_reachable", "postgres_dsn_env", "admin_password_env",
         "components"}


@dataclass(frozen=True)
class ExternalConfig:
    path: Path
    urls: dict[str, str]
    time_scale: float = 1.0
    receivers_reachable: bool = False
    postgres_dsn_env: str | None = None
    admin_password_env: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_external(path: Path | str | None, manifest: Manifest) -> ExternalConfig:
    source = path or os.environ.get(EXTERNAL_ENV)
    if not source:
        raise ManifestError(f"the external backend needs a config: set {EXTERNAL_ENV} or pass "
                            "--external-config (see obsharness.stack.external)")
    file = Path(source)
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except FileNotFoundError:
        raise ManifestError(f"{file}: external stack config does not exist") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{file}: not valid YAML: {exc}") from None
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ManifestError(f"{file}: unknown key(s) {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(_KEYS))}")
    urls = {str(k): str(v).rstrip("/") for k, v in (raw.get("components") or {}).items()}
    strangers = sorted(set(urls) - set(manifest.components))
    if strangers:
        raise ManifestError(f"{file}: components {', '.join(strangers)} are not in the manifest")
    for name in ("prometheus", "alertmanager"):
        if name not in urls:
            raise ManifestError(f"{file}: components.{name} is required")
    return ExternalConfig(file, urls, float(raw.get("time_scale", 1.0)),
                          bool(raw.get("receivers_reachable", False)),
                          raw.get("postgres_dsn_env"), raw.get("admin_password_env"))


class ExternalStack:
    """A deployed stack: URLs only. Same surface as ProcessStack for what can apply."""

    def __init__(self, manifest: Manifest, config: ExternalConfig) -> None:
        self.manifest = manifest
        self.config = config
        self.time_scale = config.time_scale
        self.unavailable: dict[str, ComponentUnavailableError] = {
            name: ComponentUnavailableError(
                component=name, reason=f"not listed in {config.path}",
                how_to_get=f"add components.{name}: <url> to {config.path}")
            for name in manifest.components if name not in config.urls}
        self._tmp = tempfile.TemporaryDirectory(prefix="obsharness-external-")
        self.run_dir = Path(self._tmp.name)
        # The deployed configs are stack/'s; rendering them at the deployed
        # time scale gives the same deadlines the scenarios wait with.
        identity = {n: f"{n}:{c.port}" for n, c in manifest.components.items()}
        identity.update({n: f"{n}:{s.port}" for n, s in manifest.sinks.items()})
        self.rendered: RenderedStack = render_stack(manifest, self.run_dir, addresses=identity,
                                                    time_scale=config.time_scale, validate=False)
        self.admin_password = os.environ.get(config.admin_password_env or "", "")
        self.chaos_token = os.environ.get(CHAOS_TOKEN_ENV) or None

    def __enter__(self) -> ExternalStack:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        """Nothing to start: the stack is deployed."""

    def stop(self) -> None:
        self._tmp.cleanup()

    def url(self, component: str) -> str:
        if component not in self.config.urls:
            raise self.unavailable[component]
        return self.config.urls[component]

    def components(self) -> list[str]:
        return list(self.config.urls)

    def _cannot(self, what: str, component: str) -> ComponentUnavailableError:
        return ComponentUnavailableError(
            component=component, reason=f"the external backend does not {what} processes of a "
            "deployed stack", how_to_get="run this scenario on the process or docker backend")

    def kill(self, component: str) -> None:
        raise self._cannot("kill", component)

    def stop_component(self, component: str) -> None:
        raise self._cannot("stop", component)

    def restart_component(self, component: str) -> None:
        raise self._cannot("restart", component)

    def freeze(self) -> None:
        """A deployed stack is not ours to pause (parallel runs refuse this backend)."""

    def thaw(self) -> None:
        """Nothing was paused."""

    def use_only(self, chosen: str, alternatives: list[str]) -> None:  # noqa: ARG002
        """The deployment runs one agent; scenarios for the other skip."""
        if chosen not in self.config.urls:
            raise self.unavailable.get(chosen) or self._cannot("switch", chosen)

    def restore(self) -> None:
        """Nothing was stopped."""

    def check_alive(self) -> None:
        """Deployed components are watched by their own monitoring, not by the harness."""

    def log_path(self, component: str) -> Path | None:  # noqa: ARG002
        """The deployed containers' logs live on their hosts (and in Loki)."""
        return None

    def postgres_dsn(self, component: str = "postgres") -> str:
        dsn = os.environ.get(self.config.postgres_dsn_env or "")
        if not dsn:
            raise ComponentUnavailableError(
                component=component, reason="no database connection string for the deployed stack",
                how_to_get=f"set postgres_dsn_env in {self.config.path} and that variable")
        return dsn
