"""What scenarios see of a running stack, whatever runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from obsharness.stack.render import RenderedStack


class StackHandle(Protocol):
    """URLs and health of a running stack: process, docker or external alike."""

    backend: str
    rendered: RenderedStack
    start_s: float

    def url(self, component: str) -> str:
        """Base URL of a component, e.g. http://127.0.0.1:40123."""
        ...

    def components(self) -> list[str]: ...

    def check_alive(self) -> None:
        """Raise ComponentDiedError if a component has exited."""
        ...

    def log_path(self, component: str) -> Path | None: ...

    def kill(self, component: str) -> None:
        """Crash a component on purpose (fault injection)."""
        ...
