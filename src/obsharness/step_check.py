"""Every step sentence of every collected scenario has a definition, checked at collection.

pytest-bdd finds a missing step definition only when the scenario runs, deep
in a nightly run. A team's new feature file with a sentence nobody defined
fails instead at collection, naming the file, the line and the closest
sentences that are defined. (pytest-bdd has no public API for this: it uses
the same lookup its runner uses.)
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import pytest


def undefined_steps(items: Sequence[pytest.Item], session: pytest.Session) -> list[str]:
    """One message per step sentence (file and line) that no step definition matches."""
    from pytest_bdd.scenario import find_fixturedefs_for_step
    from pytest_bdd.steps import step_function_context_registry

    from obsharness.report_plugin import example_params, scenario_template

    known = [(c.type, str(c.parser.name)) for c in step_function_context_registry.values()]
    manager = session._fixturemanager
    messages: dict[tuple[str, int], str] = {}
    for item in items:
        template = scenario_template(item)
        if template is None:
            continue
        for step in template.render(example_params(item)).steps:
            where = (template.feature.rel_filename, step.line_number)
            if where in messages or any(find_fixturedefs_for_step(step, manager, item)):
                continue
            same_kind = [name for kind, name in known if kind in (None, step.type)]
            close = difflib.get_close_matches(step.name, same_kind, n=3, cutoff=0.5)
            hint = ("; closest defined: " + "; ".join(f'"{c}"' for c in close)) if close else ""
            messages[where] = (f"{where[0]}:{where[1]}: {step.type.capitalize()} "
                               f'"{step.name}" matches no step definition{hint}')
    return list(messages.values())
