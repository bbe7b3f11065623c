"""Grafana's variable formats held to Grafana's own test vectors (Grafana cannot run
here), carried over as data; and the harness's expansion of dashboards' queries."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from obsharness import grafana_vars
from obsharness.binaries import resolve
from obsharness.grafana_formats import (
    ALL,
    UnknownFormat,
    VariableValue,
    format_value,
    prometheus_default,
    prometheus_regex_escape,
)

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "grafana" /
                        "format_cases.yaml").read_text(encoding="utf-8"))


def _variable(name: str, value: Any, **extra: Any) -> VariableValue:
    listed = isinstance(value, list)
    return VariableValue(name=name, values=tuple(value) if listed else (value,),
                         single=not listed, **extra)


@pytest.mark.parametrize("case", CASES["formats"], ids=lambda c: f"{c['format']}:{c['value']}")
def test_grafanas_format_cases(case: dict[str, Any]) -> None:
    texts = (case["text"],) if "text" in case else None
    variable = _variable("server", case["value"], texts=texts)
    assert format_value(variable, case["format"], case.get("args", [])) == case["expected"]


@pytest.mark.parametrize("case", CASES["interpolation"], ids=lambda c: c["text"])
def test_grafanas_interpolation_cases(case: dict[str, Any]) -> None:
    is_all = case["value"] == ALL
    variable = _variable("test", case["value"], is_all=is_all, all_value=case.get("all_value"),
                         texts=tuple(case["texts"]) if "texts" in case else None,
                         include_all=is_all)
    assert grafana_vars.expand(case["text"], {"test": variable}) == case["expected"]


@pytest.mark.parametrize("case", CASES["prometheus"], ids=lambda c: str(c["value"]))
def test_the_prometheus_datasources_own_formatting(case: dict[str, Any]) -> None:
    variable = _variable("x", case["value"], multi=case["multi"],
                         include_all=case["include_all"])
    assert prometheus_default(variable) == case["expected"]


@pytest.mark.parametrize("case", CASES["prometheus_regex"], ids=lambda c: c["value"])
def test_the_prometheus_datasources_regex_escaping(case: dict[str, Any]) -> None:
    assert prometheus_regex_escape(case["value"]) == case["expected"]


def test_an_unknown_format_is_named_and_written_as_glob_as_grafana_falls_back() -> None:
    with pytest.raises(UnknownFormat, match=r"\$\{x:nope\}.*csv"):
        format_value(_variable("x", "a"), "nope")
    assert grafana_vars.expand("${x:nope}", {"x": _variable("x", ["a", "b"])}) == "{a,b}"


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.text(alphabet="ab.:-_/\\'|*$(){}[]+?^ é", min_size=1, max_size=6),
                       min_size=1, max_size=3, unique=True), multi=st.booleans())
def test_what_the_prometheus_datasource_writes_is_a_query_promtool_parses(
        values: list[str], multi: bool) -> None:
    """Instances are IPs with dots, paths have slashes: the value written into a
    matcher must leave a query Prometheus reads (promtool's parser judges)."""
    variable = _variable("x", values if multi else values[0], multi=multi)
    written = prometheus_default(variable)
    op = "=~" if multi else "="
    # Dashboards quote with "; Grafana leaves a " in a value as it is (not drawn here).
    expr = f'up{{instance{op}"{written}"}}'
    result = subprocess.run([str(resolve("promtool").path), "--experimental", "promql",
                             "format", expr], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0, (values, expr, result.stderr)
