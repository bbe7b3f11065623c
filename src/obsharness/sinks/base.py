"""What the receivers share: a started server as a context manager, and a thread-safe record."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Generic, Self, TypeVar

T = TypeVar("T")


class RecordingSink(Generic[T]):
    """Subclasses start and stop their server; this keeps what it received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def received(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
