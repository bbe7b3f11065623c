"""config/*: files that are not valid YAML or JSON, before any tool reads them."""

from __future__ import annotations

from obsharness.findings.model import Check

FAMILY = "config"
TITLE = "Config files that do not parse"
CHECKS = (
    Check("config/parse", "error", "a config file is not valid YAML or JSON",
          "the YAML/JSON parser"),
)
# (words of the ConfigError's checked_with, check id): the first match wins, over
# every family, in FAMILIES order after the more specific ones.
TOOLS = (("YAML", "config/parse"), ("JSON", "config/parse"))
WARNINGS: tuple[tuple[type[Warning], str], ...] = ()
