"""The docker backend: the whole stack from images, through testcontainers.

One network per run, every component on it under its manifest name (so the
configs keep their service names: only the harness's receivers are
rewritten), rendered configs mounted read-only, data in the container's own layer, ports
published on 127.0.0.1 only, readiness on each component's own endpoint.

Cleanup is our own, not Ryuk's (Ryuk's image cannot be pulled everywhere this
runs): every container and the network carry the label io.obsharness.run=<id>;
stop() removes them and saves each container's log into run_dir/logs. When
the harness is killed before stop() (SIGKILL, OOM), its reaper process removes
what carries its pid (obsharness.stack.reaper); a start also sweeps what any
earlier run left behind whose pid is gone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsharness.absent import ABSENT_ENV, absent_reason
from obsharness.errors import (
    ComponentStartError,
    ComponentUnavailableError,
    ManifestError,
    ObsharnessError,
)
from obsharness.report import evidence
from obsharness.stack.containers import CLASSES, RUN_LABEL, StackContainer
from obsharness.stack.manifest import CHAOS_TOKEN_ENV, Component, Manifest
from obsharness.stack.process import components_needed
from obsharness.stack.reaper import PID_LABEL, ensure_reaper, remove_labelled
from obsharness.stack.render import RenderedStack, render_stack

# Images are overridden from one place: a YAML map component -> image named
# by OBSHARNESS_IMAGES (the locally built images of CI use it).
IMAGES_ENV = "OBSHARNESS_IMAGES"
LINKS_TO_ITSELF = ("prometheus", "alertmanager")


def image_overrides(path: str | None = None) -> dict[str, str]:
    source = path or os.environ.get(IMAGES_ENV)
    if not source:
        return {}
    data = yaml.safe_load(Path(source).read_text()) or {}
    if not isinstance(data, dict):
        raise ObsharnessError(f"{source}: expected a mapping component -> image")
    return {str(k): str(v) for k, v in data.items()}


def image_for(comp: Component, overrides: Mapping[str, str]) -> str:
    image = overrides.get(comp.name) or comp.image
    if not image:
        raise ObsharnessError(f"{comp.name} has no image in the manifest and no override")
    return image


@dataclass(frozen=True)
class ContainerSpecification:
    """Everything about one component's container, before any engine is involved."""

    component: str
    image: str
    port: int
    readiness: str | None  # HTTP path; None: the published port accepting is enough
    command: tuple[str, ...]
    env: dict[str, str]
    mounts: dict[str, str]  # host path -> container path, read-only
    tmpfs: tuple[str, ...]
    aliases: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)


DOCKER_SOCKET = "/var/run/docker.sock"


def engine_socket() -> str:
    """The host path of the engine's socket: DOCKER_HOST's (a private or rootless
    engine), else Docker's default. A log agent mounts it to discover containers."""
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else DOCKER_SOCKET


def _host_path(source: str, rendered_dir: Path) -> str:
    if source == DOCKER_SOCKET:
        return engine_socket()
    return str(Path(source) if source.startswith("/") else rendered_dir / source)


def specification_for(comp: Component, rendered_dir: Path, *, image: str, run_id: str,
                      secrets_: Mapping[str, str],
                      rendered: RenderedStack | None = None) -> ContainerSpecification:
    """The container of one manifest component, from its `container:` recipe."""
    spec = comp.container
    if spec is None:
        raise ObsharnessError(f"{comp.name} has no container recipe in the manifest")
    mounts = {_host_path(source, rendered_dir): target for source, target in spec.mounts.items()}
    return ContainerSpecification(
        component=comp.name, image=image, port=comp.port,
        readiness=comp.readiness if isinstance(comp.readiness, str) else None,
        command=tuple(rendered.argv(comp.name, spec.command)) if rendered else spec.command,
        env=spec.env_with(dict(secrets_)), mounts=mounts,
        # Data stays in the container's own layer, with the image's ownership (a tmpfs
        # over an image directory comes up root-owned, and the images run unprivileged);
        # it goes when the container is removed.
        tmpfs=(), aliases=(comp.name,),
        labels={RUN_LABEL: run_id, PID_LABEL: str(os.getpid())})


def build_container(spec: ContainerSpecification) -> StackContainer:
    """The testcontainers container of a specification (connects to the engine)."""
    cls = CLASSES.get(spec.component, StackContainer)
    container = cls(spec.image, port=spec.port, readiness=spec.readiness or "",
                    command=spec.command, name=spec.component)
    if spec.component in LINKS_TO_ITSELF:
        # Alert links (generatorURL, Alertmanager's links) must open from this machine.
        container.with_command([*spec.command,
                                f"--web.external-url=http://127.0.0.1:{container.host_port}"])
    for key, value in spec.env.items():
        container.with_env(key, value)
    for host, target in spec.mounts.items():
        container.with_config(Path(host), target)
    for path in spec.tmpfs:
        container.with_tmpfs_mount(path)
    container.with_labels(**spec.labels)
    container.with_network_aliases(*spec.aliases)
    return container


class DockerStack:
    """Same surface as ProcessStack, backed by containers on one run network."""

    def __init__(self, manifest: Manifest, run_dir: Path, *, time_scale: float,
                 sink_addresses: Mapping[str, str] | None = None,
                 images: Mapping[str, str] | None = None, start_timeout: float = 90.0,
                 network: Any = None, only: list[str] | None = None) -> None:
        self.manifest = manifest
        self.run_dir = run_dir.resolve()
        self.time_scale = time_scale
        self.sink_addresses = dict(sink_addresses or {})
        self.images = dict(images if images is not None else image_overrides())
        self.start_timeout = start_timeout
        self.run_id = f"obsh-{secrets.token_hex(4)}"
        self.db_password = secrets.token_urlsafe(12)
        self.admin_password = secrets.token_urlsafe(12)
        self.demo_password = secrets.token_urlsafe(12)
        self.chaos_token = secrets.token_urlsafe(24)
        self.containers: dict[str, StackContainer] = {}
        self.selected = components_needed(manifest, only)
        self.unavailable: dict[str, ComponentUnavailableError] = {}
        self._stopped_on_purpose: set[str] = set()
        self._parked: set[str] = set()
        # Given by the caller when the receivers must listen on its gateway first.
        self.network: Any = network
        self._own_network = network is None
        self.rendered: RenderedStack  # set by start()

    def __enter__(self) -> DockerStack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        sweep_leftovers()
        ensure_reaper()
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        addresses = {name: f"{name}:{comp.port}" for name, comp in self.manifest.components.items()}
        addresses.update(self.sink_addresses)
        for comp in [c for c in self.selected if c.optional]:
            hidden = absent_reason(comp.name) or next(
                (f"it needs {dep}" for dep in comp.depends_on if absent_reason(dep)), None)
            if hidden:
                self.unavailable[comp.name] = ComponentUnavailableError(
                    component=comp.name, reason=hidden, how_to_get=f"unset ${ABSENT_ENV}")
        self.selected = [c for c in self.selected if c.name not in self.unavailable]
        chosen = {c.name for c in self.selected}
        self.rendered = render_stack(self.manifest, self.run_dir, addresses=addresses,
                                     time_scale=self.time_scale,
                                     absent=frozenset(set(self.manifest.components) - chosen))
        if self.network is None:
            self.network = create_run_network(self.run_id)
        secrets_ = {"{db_password}": self.db_password, "{admin_password}": self.admin_password,
                    "{demo_password}": self.demo_password}
        try:
            for comp in (c for level in self.manifest.start_order() for c in level
                         if c.name in chosen):
                image = image_for(comp, self.images)
                container = build_container(specification_for(
                    comp, self.run_dir, image=image, run_id=self.run_id, secrets_=secrets_,
                    rendered=self.rendered))
                container.with_network(self.network)
                if comp.role == "app":  # harness only: deployments leave chaos off
                    container.with_env(CHAOS_TOKEN_ENV, self.chaos_token)
                self.containers[comp.name] = container
                try:
                    container.start()
                except ComponentStartError:
                    raise
                except Exception as exc:  # docker-py raises its own errors (image not found)
                    if comp.optional:
                        self.unavailable[comp.name] = ComponentUnavailableError(
                            component=comp.name, reason=f"image {image} cannot run: {exc}",
                            how_to_get=f"docker pull {image}, or name another image for "
                            f"{comp.name} in the file ${IMAGES_ENV} points at")
                        del self.containers[comp.name]
                        continue
                    raise ComponentStartError(component=comp.name, reason=f"{image}: {exc}",
                                              log_path=None, log_tail="") from exc
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for name, container in reversed(list(self.containers.items())):
            log = self.run_dir / "logs" / f"{name}.log"
            try:
                log.write_text(container.log_tail(lines=100_000))
                container.stop()
            except Exception as exc:  # noqa: BLE001 - keep removing the others
                evidence.record("check", f"{name}: removal failed", str(exc))
        self.containers.clear()
        if self.network is not None and self._own_network:
            try:
                self.network.remove()
            finally:
                self.network = None

    # The surface the fixtures and steps use.
    def url(self, component: str) -> str:
        if component in self.unavailable:  # callers turn this into a skip naming the route
            raise self.unavailable[component]
        if component not in self.containers:
            raise ManifestError(f"component {component!r} is not part of this run; running: "
                                f"{', '.join(sorted(self.containers))}")
        return self.containers[component].url()

    def components(self) -> list[str]:
        return list(self.containers)

    def log_path(self, component: str) -> Path | None:
        container = self.containers.get(component)
        if container is None:
            return None
        path = self.run_dir / "logs" / f"{component}.log"
        path.write_text(container.log_tail(lines=100_000))
        return path

    def kill(self, component: str) -> None:
        self.containers[component].get_wrapped_container().kill()
        self._stopped_on_purpose.add(component)
        evidence.record("fault", f"{component} container killed",
                        {"component": component, "settings": {"kill": True}, "at": time.time()})

    def stop_component(self, component: str) -> None:
        self.containers[component].get_wrapped_container().stop(timeout=10)
        self._stopped_on_purpose.add(component)
        evidence.record("fault", f"{component} container stopped",
                        {"component": component, "settings": {"stop": True}, "at": time.time()})

    def restart_component(self, component: str) -> None:
        container = self.containers[component]
        self._stopped_on_purpose.discard(component)
        container.get_wrapped_container().start()
        container.wait_ready()

    def restore(self) -> None:
        for component in sorted(self._stopped_on_purpose):
            self.restart_component(component)

    def use_only(self, chosen: str, alternatives: list[str]) -> None:
        for other in alternatives:
            if other != chosen and other in self.containers:
                self.containers[other].get_wrapped_container().stop(timeout=10)
                self._parked.add(other)
        self._parked.discard(chosen)
        self.restart_component(chosen)

    def check_alive(self) -> None:
        for name, container in self.containers.items():
            if name in self._stopped_on_purpose | self._parked:
                continue
            wrapped = container.get_wrapped_container()
            wrapped.reload()
            if wrapped.status != "running":
                raise ComponentStartError(component=name, reason=f"container is {wrapped.status}",
                                          log_path=None, log_tail=container.log_tail())

    def freeze(self) -> None:
        """`docker pause` every running container (the cgroup freezer: state kept, no CPU)."""
        self._each_running("pause")

    def thaw(self) -> None:
        self._each_running("unpause")

    def _each_running(self, action: str) -> None:
        from docker.errors import APIError

        for name, container in self.containers.items():
            if name in self._stopped_on_purpose | self._parked:
                continue
            with contextlib.suppress(APIError):  # already (un)paused, or gone: check_alive says
                getattr(container.get_wrapped_container(), action)()

    def postgres_dsn(self, component: str = "postgres") -> str:
        port = self.containers[component].host_port
        return f"postgresql://app:{self.db_password}@127.0.0.1:{port}/app"


def create_run_network(run_id: str | None = None) -> Any:
    """A bridge network for one run, labelled for cleanup."""
    from testcontainers.core.network import Network

    ensure_reaper()
    network = Network(docker_network_kw={
        "labels": {RUN_LABEL: run_id or f"obsh-{secrets.token_hex(4)}",
                   PID_LABEL: str(os.getpid())}})
    return network.create()


def gateway_of(network: Any) -> str:
    """The host's address on the run network: reachable from its containers only."""
    wrapped = network._network  # testcontainers keeps docker-py's Network here
    wrapped.reload()
    configs = wrapped.attrs.get("IPAM", {}).get("Config") or []
    gateway = next((c.get("Gateway") for c in configs if c.get("Gateway")), None)
    if not gateway:
        raise ObsharnessError(f"docker network {wrapped.name} has no IPv4 gateway")
    return str(gateway)


def sweep_leftovers() -> list[str]:
    """Remove containers and networks of obsharness runs whose process is gone."""
    return remove_labelled(None, label=RUN_LABEL, spare=_run_alive)


def _run_alive(labels: dict[str, str]) -> bool:
    pid = int(labels.get(PID_LABEL, "0") or 0)
    return bool(pid) and _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
