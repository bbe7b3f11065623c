"""Exceptions of the harness.

Every message is one paragraph that names the component and the file or port
involved, says what was checked, and says what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from obsharness import origins


class ObsharnessError(Exception):
    """Base class of every error the harness raises on purpose."""


class ObsharnessWarning(UserWarning):
    """Base class of the harness's own warnings."""


class TimeCompressionFloorWarning(ObsharnessWarning):
    """A compressed duration was raised to a floor that keeps its meaning."""


class BinaryVersionWarning(ObsharnessWarning):
    """A binary of the pinned release line could not be had; another version runs."""


class TimeCompressionMeaningWarning(ObsharnessWarning):
    """A rule carries a duration as a plain number whose meaning compression cannot know."""


class AlertmanagerLintWarning(ObsharnessWarning):
    """An Alertmanager config shape amtool accepts that is often a mistake (an inhibit
    rule without `equal`, a receiver no route uses...). Advice, with file and line."""


class RouteForOtherSourcesWarning(ObsharnessWarning):
    """An Alertmanager route no rule of this stack can reach: meant for alerts of other
    sources (another Prometheus, Loki's ruler, Grafana), or a typo. Advice, not an error."""


class RuleLintWarning(ObsharnessWarning):
    """promtool's rule lint found something (a duplicate rule): advice by default, an
    error with --lint-fatal, as with promtool."""


class SourceAdviceWarning(ObsharnessWarning):
    """A rule source was read with fields only another ruler knows (Thanos, Mimir), which
    Prometheus would refuse: they are dropped from what Prometheus loads, and named."""


class DashboardAdviceWarning(ObsharnessWarning):
    """A dashboard's style advice (a unit, a title, $__rate_interval), as dashboard-linter
    gives it: Grafana draws the panel anyway. Allowlisted per dashboard and rule."""


class CompressedTimeoutWarning(ObsharnessWarning):
    """An alert on `up` fired on the healthy stack only because scrapes were cut off by a
    timeout compressed below the one the team wrote: the test machine was busy."""


# Advice: shown, never failing a run. Every other ObsharnessWarning is an error. The
# plugin puts this policy before the project's own filterwarnings, which therefore win.
ADVICE_WARNINGS = (TimeCompressionFloorWarning, TimeCompressionMeaningWarning,
                   BinaryVersionWarning, RouteForOtherSourcesWarning, AlertmanagerLintWarning,
                   RuleLintWarning, SourceAdviceWarning, DashboardAdviceWarning,
                   CompressedTimeoutWarning)


def warning_policy() -> list[str]:
    """The harness's warnings as pytest filterwarnings lines."""
    return ["error::obsharness.errors.ObsharnessWarning",
            *(f"default::obsharness.errors.{w.__name__}" for w in ADVICE_WARNINGS)]


class ConfigError(ObsharnessError):
    """A config file of the stack is invalid."""

    def __init__(
        self,
        *,
        component: str,
        path: Path | str,
        detail: str,
        line: int | None = None,
        checked_with: str | None = None,
        check: str | None = None,
    ) -> None:
        # A file the harness extracted (from a PrometheusRule, a mixin...) is named by the
        # team's own file, document and line.
        origin = origins.lookup(Path(path), line)
        if origin is not None:
            path, line = origin.file, origin.line
            detail = f"{detail.strip()} (in {origin.where})" if origin.where else detail
        self.component = component
        self.checked_with = checked_with
        self.check = check  # a stable check id (obsharness.findings.catalog), where known
        self.path = Path(path)
        self.line = line
        self.detail = detail.strip()
        where = f"{self.path}:{line}" if line else str(self.path)
        how = f" (checked with {checked_with})" if checked_with else ""
        super().__init__(
            f"{component}: config file {where} is invalid{how}: {self.detail}. "
            f"Fix the file under stack/; rendered copies are regenerated on every run."
        )


class BinaryNotFoundError(ObsharnessError):
    """No route produced a usable binary."""

    def __init__(self, *, binary: str, component: str, attempts: Sequence[str], hint: str) -> None:
        self.binary = binary
        self.component = component
        self.attempts = list(attempts)
        self.hint = hint
        tried = "; ".join(self.attempts) if self.attempts else "nothing"
        super().__init__(
            f"{component}: binary '{binary}' not found. Tried: {tried}. {hint}"
        )


class PortInUseError(ObsharnessError):
    """A component's port is already bound by someone else."""

    def __init__(self, *, component: str, port: int, holder: str | None = None) -> None:
        self.component = component
        self.port = port
        who = f" by {holder}" if holder else ""
        super().__init__(
            f"{component}: port 127.0.0.1:{port} is already in use{who}. "
            f"Stop whatever holds it, or drop the fixed port (--stack-port / OBSHARNESS_PORTS) "
            f"so the harness picks a free one."
        )


class ComponentStartError(ObsharnessError):
    """A component exited or never became ready while starting."""

    def __init__(
        self,
        *,
        component: str,
        reason: str,
        log_path: Path | None,
        log_tail: str,
    ) -> None:
        self.component = component
        self.log_path = log_path
        self.log_tail = log_tail
        where = f" Full log: {log_path}." if log_path else ""
        tail = f" Last lines of its log:\n{log_tail}" if log_tail.strip() else " Its log is empty."
        super().__init__(f"{component}: {reason}.{where}{tail}")


class ComponentDiedError(ObsharnessError):
    """A component that was running has exited."""

    def __init__(self, *, component: str, returncode: int | None, log_tail: str) -> None:
        self.component = component
        self.returncode = returncode
        super().__init__(
            f"{component}: exited with code {returncode} while the stack was in use; "
            f"the rest of the stack is stopped at the end of the run. Last lines of its log:\n"
            f"{log_tail}"
        )


class ComponentUnavailableError(ObsharnessError):
    """A component needed by a scenario cannot run on the chosen backend."""

    def __init__(self, *, component: str, reason: str, how_to_get: str) -> None:
        self.component = component
        self.reason = reason
        self.how_to_get = how_to_get
        super().__init__(f"{component} is not available: {reason}. To get it: {how_to_get}")


class ManifestError(ObsharnessError):
    """stack/stack.yaml does not describe a usable stack."""


class MutationError(ObsharnessError):
    """`obsharness mutate` was asked for something it cannot do (an unknown flow,
    a budget that does not parse, a project without stack/)."""
