"""Reading a team's config files without ever crashing on one: YAML and JSON that
do not parse, are not UTF-8, nest too deeply or have the wrong shape become a
ConfigError that names the file and, where known, the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from obsharness.errors import ConfigError


def _unreadable(path: Path, component: str, exc: Exception) -> ConfigError:
    if isinstance(exc, UnicodeDecodeError):
        return ConfigError(component=component, path=path,
                           detail=f"not UTF-8 text (byte {exc.start}: {exc.reason})")
    if isinstance(exc, RecursionError):
        return ConfigError(component=component, path=path, detail="nested too deeply to read")
    return ConfigError(component=component, path=path, detail=f"cannot be read: {exc}")


def read_text(path: Path, component: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _unreadable(path, component, exc) from None


def load_yaml(path: Path, component: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader
              ) -> Any:
    """The YAML document of `path` (None for an empty file)."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{context}: {problem}" if context else str(problem)
        raise ConfigError(component=component, path=path,
                          line=mark.line + 1 if mark is not None else None,
                          detail=detail, checked_with="YAML") from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise _unreadable(path, component, exc) from None


def load_json(path: Path, component: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(component=component, path=path, line=exc.lineno, detail=exc.msg,
                          checked_with="JSON") from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise _unreadable(path, component, exc) from None
