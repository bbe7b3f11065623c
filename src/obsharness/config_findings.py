"""One mistake, one finding. A config the static stage refuses is reported by the
scenario whose subject is that check (a validator step); every other scenario that
trips over the same ConfigError — a stack that cannot render, a table that reads the
config — is "not run", naming the file, never a failure or an error of its own."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from obsharness.errors import ConfigError
from obsharness.report.results import NOT_RUN

F = TypeVar("F", bound=Callable[..., Any])


def validator(step: F) -> F:
    """Marks a step whose subject is a config's validity: its ConfigError is the
    finding, reported as the failure it is."""
    @functools.wraps(step)
    def checked(*args: Any, **kwargs: Any) -> Any:
        try:
            return step(*args, **kwargs)
        except ConfigError as exc:
            exc.reported_by_validator = True  # type: ignore[attr-defined]
            raise
    return checked  # type: ignore[return-value]


def is_finding(exc: BaseException) -> bool:
    return isinstance(exc, ConfigError) and getattr(exc, "reported_by_validator", False)


def not_run_reason(exc: ConfigError) -> str:
    where = f"{exc.path}:{exc.line}" if exc.line else str(exc.path)
    first = exc.detail.splitlines()[0] if exc.detail else ""
    return (f"{NOT_RUN}{where} is invalid (see the @static scenario that checks it): "
            f"{first[:300]}")
