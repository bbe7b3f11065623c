"""The process backend: the stack as local processes from real binaries.

Every port is chosen free at start and everything listens on 127.0.0.1.
Components start level by level in dependency order (a level's processes
start together, then we wait for all of them), and stop in reverse order.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import requests

from obsharness.binaries import ResolvedBinary, resolve
from obsharness.errors import ComponentUnavailableError, ManifestError, PortInUseError
from obsharness.ports import LOOPBACK, free_port, holder_of, is_free
from obsharness.stack.executor import ProcessExecutor
from obsharness.stack.manifest import Component, Manifest
from obsharness.stack.render import RenderedStack, render_stack

DEFAULT_START_TIMEOUT_S = 30.0


def components_needed(manifest: Manifest, only: list[str] | None) -> list[Component]:
    """The named components plus everything they depend on (all when only is None)."""
    if only is None:
        return list(manifest.components.values())
    wanted: set[str] = set()
    stack = list(only)
    while stack:
        name = stack.pop()
        if name in wanted or name in manifest.sinks:
            continue
        wanted.add(name)
        stack.extend(manifest.component(name).depends_on)
    return [c for c in manifest.components.values() if c.name in wanted]


def resolve_programs(components: list[Component]) -> dict[str, ResolvedBinary]:
    """Resolve every binary before anything starts; unavailable ones raise with how to get them."""
    from obsharness.errors import BinaryNotFoundError

    resolved: dict[str, ResolvedBinary] = {}
    for comp in components:
        if comp.process is None:
            raise ComponentUnavailableError(
                component=comp.name, reason="the manifest gives it no process recipe",
                how_to_get="use the docker backend, or add a process section to stack.yaml",
            )
        program = comp.process.program
        if program == "python":
            resolved[comp.name] = ResolvedBinary("python", Path(sys.executable), "this interpreter")
            continue
        try:
            resolved[comp.name] = resolve(program)
        except BinaryNotFoundError as exc:
            raise ComponentUnavailableError(
                component=comp.name, reason=str(exc), how_to_get=exc.hint
            ) from exc
    return resolved


class ProcessStack:
    """A started process stack; also a context manager that always stops it."""

    backend = "process"

    def __init__(
        self,
        manifest: Manifest,
        run_dir: Path,
        *,
        time_scale: float,
        sink_addresses: Mapping[str, str] | None = None,
        fixed_ports: Mapping[str, int] | None = None,
        only: list[str] | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        self.manifest = manifest
        self.run_dir = run_dir.resolve()
        self.time_scale = time_scale
        self.sink_addresses = dict(sink_addresses or {})
        self.fixed_ports = dict(fixed_ports or {})
        self.start_timeout = start_timeout
        self.selected = components_needed(manifest, only)
        self.ports: dict[str, int] = {}
        self.executors: dict[str, ProcessExecutor] = {}
        self._started: list[ProcessExecutor] = []
        self.rendered: RenderedStack
        self.start_s = 0.0

    # --- lifecycle ----------------------------------------------------------
    def __enter__(self) -> ProcessStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        began = time.monotonic()
        programs = resolve_programs(self.selected)
        self._allocate_ports()
        addresses = {name: f"{LOOPBACK}:{port}" for name, port in self.ports.items()}
        missing_sinks = [
            dep for c in self.selected for dep in c.depends_on
            if dep in self.manifest.sinks and dep not in self.sink_addresses
        ]
        if missing_sinks:
            raise ManifestError(
                f"sink(s) {', '.join(sorted(set(missing_sinks)))} must be running before the "
                f"stack starts; pass their addresses as sink_addresses"
            )
        addresses.update(self.sink_addresses)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.rendered = render_stack(
            self.manifest, self.run_dir, addresses=addresses, time_scale=self.time_scale
        )
        for comp in self.selected:
            self.executors[comp.name] = self._executor(comp, programs[comp.name])
        try:
            for level in self.manifest.start_order():
                self._start_level(
                    [self.executors[c.name] for c in level if c.name in self.executors]
                )
        except BaseException:
            self.stop()  # a failed or interrupted start leaves nothing behind
            raise
        self.start_s = time.monotonic() - began
        self._write_state()

    def _allocate_ports(self) -> None:
        for comp in self.selected:
            fixed = self.fixed_ports.get(comp.name)
            if fixed is not None:
                if not is_free(fixed):
                    raise PortInUseError(component=comp.name, port=fixed, holder=holder_of(fixed))
                self.ports[comp.name] = fixed
            else:
                self.ports[comp.name] = free_port()

    def _executor(self, comp: Component, program: ResolvedBinary) -> ProcessExecutor:
        assert comp.process is not None
        port = self.ports[comp.name]
        data_dir = self.run_dir / "data" / comp.name
        data_dir.mkdir(parents=True, exist_ok=True)
        work_dir = self.run_dir / "work" / comp.name
        work_dir.mkdir(parents=True, exist_ok=True)
        for link, target in program.cwd_links.items():
            link_path = work_dir / link
            if link_path.is_symlink() or link_path.exists():
                link_path.unlink()
            link_path.symlink_to(target)
        values = {
            "listen": f"{LOOPBACK}:{port}",
            "port": str(port),
            "config": str(self.rendered.configs.get(comp.name, "")),
            "data_dir": str(data_dir),
            "run_dir": str(self.run_dir),
            "stack_dir": str(self.manifest.stack_dir),
        }
        argv = [str(program.path), *(arg.format(**values) for arg in comp.process.args)]
        env = {k: v.format(**values) for k, v in comp.process.env.items()}
        env.setdefault("PORT", str(port))
        return ProcessExecutor(
            comp.name,
            argv,
            log_path=self.run_dir / "logs" / f"{comp.name}.log",
            ready_url=f"http://{LOOPBACK}:{port}{comp.readiness}",
            port=port,
            env=env,
            cwd=work_dir,
        )

    def _start_level(self, level: list[ProcessExecutor]) -> None:
        for executor in level:
            if not is_free(executor.port):
                raise PortInUseError(
                    component=executor.name, port=executor.port, holder=holder_of(executor.port)
                )
            executor.spawn()
            self._started.append(executor)
        pending = list(level)
        began = time.monotonic()
        deadline = began + self.start_timeout
        with requests.Session() as session:
            while pending:
                pending = [e for e in pending if not e.poll_ready(session)]
                if not pending:
                    break
                if time.monotonic() > deadline:
                    raise pending[0].timeout_error(time.monotonic() - began)
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop in reverse start order; remove data dirs, keep configs and logs as evidence."""
        errors: list[BaseException] = []
        for executor in reversed(self._started):
            try:
                executor.stop()
            except BaseException as exc:  # noqa: BLE001 - keep stopping the others
                errors.append(exc)
        self._started.clear()
        shutil.rmtree(self.run_dir / "data", ignore_errors=True)
        shutil.rmtree(self.run_dir / "work", ignore_errors=True)
        state = self.run_dir / "stack.json"
        if state.exists():
            state.unlink()
        if errors:
            raise errors[0]

    def _write_state(self) -> None:
        state = {
            "backend": self.backend,
            "harness_pid": os.getpid(),
            "time_scale": self.time_scale,
            "start_s": round(self.start_s, 3),
            "components": {
                name: {
                    "pid": ex.pid,
                    "url": self.url(name),
                    "log": str(ex.log_path),
                    "ready_after_s": round(ex.ready_after_s or 0, 3),
                }
                for name, ex in self.executors.items()
            },
        }
        (self.run_dir / "stack.json").write_text(json.dumps(state, indent=2))

    # --- StackHandle ----------------------------------------------------------
    def url(self, component: str) -> str:
        if component in self.sink_addresses:
            return f"http://{self.sink_addresses[component]}"
        if component not in self.ports:
            raise ManifestError(
                f"component {component!r} is not part of this run; running: "
                f"{', '.join(sorted(self.ports))}"
            )
        return f"http://{LOOPBACK}:{self.ports[component]}"

    def components(self) -> list[str]:
        return [c.name for c in self.selected]

    def check_alive(self) -> None:
        for executor in self._started:
            executor.check_alive()

    def log_path(self, component: str) -> Path | None:
        executor = self.executors.get(component)
        return executor.log_path if executor else None

    def kill(self, component: str) -> None:
        self.executors[component].kill()

    def pids(self) -> dict[str, int]:
        return {name: ex.pid for name, ex in self.executors.items() if ex.pid is not None}
