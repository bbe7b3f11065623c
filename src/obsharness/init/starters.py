"""Starter features written from a team's own files, meant to be read and edited.

- static.feature: the tools' own checks of every config the manifest names;
- routing.feature: one row per route of the team's Alertmanager config, with a label
  set read from the route's matchers and the receivers the real Alertmanager
  (amtool config routes test) picks for it, so it passes on day one and fails when a
  change moves an alert elsewhere;
- timing.feature: a promtool timing table skeleton per alert, as comments to fill in:
  a skeleton is not a test, and nothing pretends it is.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from obsharness import alertrouting, am_matchers, origins, rule_reach, rule_sources, toolchecks
from obsharness.am_judge import component_features
from obsharness.errors import ObsharnessError
from obsharness.stack.manifest import Manifest

STATIC = """\
@static
Feature: The monitoring configs of this repository pass the tools' own checks
  Written by `obsharness init`; edit freely. promtool, amtool and the harness's own
  checks read the files obsharness.yaml names, exactly as they are deployed.

  Scenario: Every config the manifest names is one its components accept
    Given the deployable configs of this repository
    Then every config the manifest names passes its component's own checks

  Scenario: promtool accepts every rule file
    Given the deployable configs of this repository
    Then promtool check rules accepts every rule file

  Scenario: The Alertmanager config has none of the mistakes amtool accepts
    Given the deployable configs of this repository
    Then the Alertmanager config has none of the mistakes amtool accepts
"""

DASHBOARDS = (
    "\n  Scenario: Every dashboard is one Grafana can show, and its queries parse\n"
    "    Given the dashboards of this repository\n"
    "    Then every dashboard, in whichever shape it is kept, is one Grafana can show; its "
    "style advice is a warning\n"
    "    And every PromQL query of every panel parses with the real Prometheus parser\n")

RULE_TESTS = """
  Scenario: The promtool unit tests of the rules pass
    Given the deployable configs of this repository
    Then the promtool unit tests of this repository pass
"""


@dataclass(frozen=True)
class Row:
    labels: dict[str, str]
    receivers: list[str]


def _cell(labels: dict[str, str]) -> str:
    """A table cell: name=value pairs; a UTF-8 name (service.name) is written as is."""
    return ", ".join(f"{k}={v}" for k, v in labels.items())


def _fits_a_cell(labels: dict[str, str]) -> bool:
    return not any(c in text for k, v in labels.items() for text in (k, v) for c in ",=|")


def _literal(pattern: str) -> str | None:
    """A value a regex matcher accepts, where one is plain to read off it."""
    first = pattern.split("|", maxsplit=1)[0].strip("()^$")
    return first if first and re.fullmatch(r"[\w.\-: /@]+", first) else None


def _labels_for(path: list[alertrouting.Route]) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    for route in path:
        for m in route.matchers:
            if m.op == "=":
                labels[m.name] = m.value
            elif m.op == "=~":
                value = _literal(m.value)
                if value is None:
                    return None
                labels[m.name] = value
    return labels


def _paths(route: alertrouting.Route, above: list[alertrouting.Route]
           ) -> list[list[alertrouting.Route]]:
    here = [*above, route]
    return [here, *(p for child in route.routes for p in _paths(child, here))]


def routing_rows(manifest: Manifest, config: Path) -> tuple[list[Row], list[str]]:
    """A row per route whose matchers give a label set; notes for the others."""
    features = component_features(manifest.component("alertmanager"))
    loaded = alertrouting.load(config, mode=am_matchers.mode_for(features))
    rows: list[Row] = []
    notes: list[str] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    for path in _paths(loaded.root, []):
        route = path[-1]
        labels = _labels_for(path)
        if labels is None:
            notes.append(f"route at line {route.line} (receiver {route.receiver}): its "
                         f"matchers give no plain label set; add a row by hand")
            continue
        labels = {"alertname": "Example", **labels} if "alertname" not in labels else labels
        if not _fits_a_cell(labels):
            notes.append(f"route at line {route.line} (receiver {route.receiver}): a label "
                         f"of {labels} holds a comma, '=' or '|'; add a row by hand")
            continue
        key = tuple(sorted(labels.items()))
        if key in seen:
            continue
        seen.add(key)
        receivers = toolchecks.amtool_routes(config, labels, features)
        if route.receiver not in receivers and route is not loaded.root:
            notes.append(f"route at line {route.line} (receiver {route.receiver}): "
                         f"{_cell(labels)} goes to {', '.join(receivers)} instead (an "
                         f"earlier route without continue takes it); add a row by hand")
        rows.append(Row(labels, receivers))
    return rows, notes


def routing_feature(manifest: Manifest, config: Path) -> str:
    rows, notes = routing_rows(manifest, config)
    shown = config.relative_to(manifest.stack_dir).as_posix()
    width = max([len("labels"), *(len(_cell(r.labels)) for r in rows)])
    right = max([len("receivers"), *(len(", ".join(r.receivers)) for r in rows)])
    lines = ["@static",
             f"Feature: Alerts reach the receivers {shown} routes them to",
             "  Written by `obsharness init`: a row per route, with the receivers the real",
             "  Alertmanager picks today (amtool agrees). A change that moves an alert",
             "  elsewhere fails here; change the row when the move is meant.",
             ""]
    lines += [f"  # {n}" for n in notes]
    lines += ["  Scenario Outline: <labels> is routed to <receivers>",
              "    Given the deployable configs of this repository",
              "    Then Alertmanager routes an alert with <labels> to <receivers>, "
              "as amtool agrees",
              "",
              "    Examples:",
              f"      | {'labels'.ljust(width)} | {'receivers'.ljust(right)} |"]
    lines += [f"      | {_cell(r.labels).ljust(width)} | {', '.join(r.receivers).ljust(right)} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def timing_feature(manifest: Manifest) -> str:
    with tempfile.TemporaryDirectory(prefix="obsharness-init-") as tmp:
        try:
            rules = rule_reach.load_rules(rule_sources.rule_set(manifest, Path(tmp)).files,
                                          manifest.stack_dir)
        except ObsharnessError as exc:
            # The static scenarios name the broken file with the tool's own message.
            return f"# No skeleton: the rules could not be read ({str(exc).splitlines()[0]})\n"
        finally:
            origins.forget(Path(tmp))
    alerts = [r for r in rules if r.kind == "alert"]
    lines = ["@static",
             "Feature: Our alerts' production timing, stated as tables promtool checks",
             "  Written by `obsharness init`: a skeleton per alert, commented out. Uncomment",
             "  one, state the series that make the alert fire and when it must, and promtool",
             "  runs it on the production rules, uncompressed.",
             ""]
    if not alerts:
        lines.append("  # No alerting rule was found.")
    root = f"{manifest.stack_dir}/"
    for alert in alerts:
        series = sorted({_series(s) for s in rule_reach.selectors_of(alert.expr) if s.metric})
        where = alert.file.replace(root, "")
        lines += [f"  # {where}: {alert.expr.strip().splitlines()[0]}",
                  f"  # Scenario: {alert.name}'s production timing",
                  "  #   Given the production alert rules",
                  "  #   When these series are scraped every 1m:",
                  "  #     | series | values |"]
        lines += [f"  #     | {s} | 0x30 |" for s in series] or [
            "  #     | (the series its expression reads) | 0x30 |"]
        lines += ["  #   Then promtool sees exactly these alerts:",
                  "  #     | at | alert | labels |",
                  f"  #     | 30m | {alert.name} | (its labels) |",
                  ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _series(selector: rule_reach.Selector) -> str:
    """A series the selector matches: its equality matchers, and an example instance."""
    labels = {label: value for label, op, value in selector.matchers if op == "="}
    labels.setdefault("instance", "example:9100")
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{selector.metric}{{{inner}}}"


def static_feature(has_rule_tests: bool, has_dashboards: bool) -> str:
    return STATIC + (RULE_TESTS if has_rule_tests else "") + (
        DASHBOARDS if has_dashboards else "")


TEST_MODULE = '''"""Binds every feature under obsharness/features/ to pytest.

Written by `obsharness init`. The sentences come with the obsharness package: its
pytest plugin registers them.
"""

from pytest_bdd import scenarios

scenarios(".")
'''
