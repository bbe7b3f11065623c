"""What scenarios see of a running stack, whatever runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from obsharness.errors import ComponentUnavailableError
from obsharness.stack.manifest import Manifest
from obsharness.stack.render import RenderedStack


class StackHandle(Protocol):
    """URLs, faults and health of a running stack: ProcessStack, DockerStack and
    ExternalStack all provide it; fixtures and steps use nothing else."""

    manifest: Manifest
    rendered: RenderedStack
    run_dir: Path
    time_scale: float
    admin_password: str
    unavailable: dict[str, ComponentUnavailableError]

    @property
    def chaos_token(self) -> str | None:
        """The apps' chaos API token; None where nobody gave one."""
        ...

    def url(self, component: str) -> str:
        """Base URL of a component, e.g. http://127.0.0.1:40123."""
        ...

    def components(self) -> list[str]: ...

    def check_alive(self) -> None:
        """Raise if a component has died without the scenario asking for it."""
        ...

    def log_path(self, component: str) -> Path | None: ...

    def kill(self, component: str) -> None:
        """Crash a component on purpose (fault injection)."""
        ...

    def stop_component(self, component: str) -> None: ...

    def restart_component(self, component: str) -> None: ...

    def restore(self) -> None:
        """Bring back what faults stopped, for the next scenario."""
        ...

    def use_only(self, chosen: str, alternatives: list[str]) -> None:
        """Run one of alternative components (the log agents), park the others."""
        ...

    def freeze(self) -> None:
        """Pause every component, state kept (they use no CPU); thaw() resumes them."""
        ...

    def thaw(self) -> None: ...

    def postgres_dsn(self, component: str = "postgres") -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...
