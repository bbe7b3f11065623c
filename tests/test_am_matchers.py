"""Alertmanager's matcher syntax: held to Alertmanager's own parser test cases, and the
routing model held to amtool (0.33) on UTF-8 names and values, by hypothesis."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsharness import alertrouting, am_matchers, toolchecks
from obsharness.errors import ConfigError

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "alertmanager"
                        / "matcher_parse_cases.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["input"] or "(empty)" for c in CASES])
def test_the_utf8_parser_agrees_with_alertmanagers_own_cases(case: dict[str, object]) -> None:
    text = str(case["input"])
    if case.get("error"):
        with pytest.raises(am_matchers.MatcherSyntaxError):
            am_matchers.parse_utf8(text)
    else:
        assert am_matchers.parse_utf8(text) == [tuple(m) for m in case["expected"]]  # type: ignore[attr-defined]


def test_alertmanagers_default_falls_back_to_the_classic_parser() -> None:
    # The UTF-8 parser refuses a bare backslash; the classic one reads an escaped newline.
    assert am_matchers.parse("{foo=bar\\n}") == [("foo", "=", "bar\n")]
    assert am_matchers.parse('severity="critical"') == [("severity", "=", "critical")]
    # Unescaped quotes in the middle: refused by both, the UTF-8 parser's message kept.
    with pytest.raises(am_matchers.MatcherSyntaxError):
        am_matchers.parse('foo="a"b"')


def test_the_shapes_the_old_model_crashed_on_or_mangled(tmp_path: Path) -> None:
    """A quoted UTF-8 name (0.27+), a non-ASCII value, several matchers in one string."""
    assert alertrouting.parse_matcher('"service.name"=~".+"') == alertrouting.Matcher(
        "service.name", "=~", ".+")
    assert alertrouting.parse_matcher('team="café"').value == "café"
    assert alertrouting.parse_matchers('{severity="critical", team=~"a|b"}') == [
        alertrouting.Matcher("severity", "=", "critical"),
        alertrouting.Matcher("team", "=~", "a|b")]
    config = tmp_path / "am.yml"
    config.write_text("route:\n  receiver: a\n  routes:\n"
                      "    - matchers: ['\"service.name\"=\"checkout\"', 'team=\"café\"']\n"
                      "      receiver: b\nreceivers: [{name: a}, {name: b}]\n")
    labels = {"service.name": "checkout", "team": "café"}
    assert alertrouting.load(config).receivers_for(labels) == ["b"]
    assert toolchecks.amtool_routes(config, labels) == ["b"]


def test_a_matcher_neither_parser_reads_names_the_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "am.yml"
    config.write_text("route:\n  receiver: a\n  routes:\n    - receiver: a\n"
                      "      matchers: ['team=\"a\"b\"']\nreceivers: [{name: a}]\n")
    with pytest.raises(ConfigError, match=r"am\.yml:5.*not a matcher"):
        alertrouting.load(config)


# Label names of today's configs: classic, dotted (OpenTelemetry), non-ASCII.
NAMES = st.sampled_from(["team", "severity", "service.name", "k8s.namespace", "équipe", "x"])
VALUES = st.sampled_from(["a", "b", "café", "web-1", "a b", 'say "hi"', "ü", "", "back\\slash"])
OPS = st.sampled_from(["=", "!=", "=~", "!~"])


@st.composite
def matcher_texts(draw: st.DrawFn) -> str:
    name, op, value = draw(NAMES), draw(OPS), draw(VALUES)
    if op in ("=~", "!~"):
        value = draw(st.sampled_from([".+", "a|b", "caf.*", "w.*", "ü?"]))
    name_text = name if am_matchers.is_classic_name(name) else am_matchers.quote(name)
    return f"{name_text}{op}{am_matchers.quote(value)}"


@st.composite
def routing_cases(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    routes = []
    for index in range(draw(st.integers(1, 4))):
        matchers = draw(st.lists(matcher_texts(), min_size=1, max_size=2))
        routes.append({"receiver": f"r{index}", "matchers": matchers,
                       "continue": draw(st.booleans())})
    config = {"route": {"receiver": "default", "routes": routes},
              "receivers": [{"name": "default"}] + [{"name": f"r{i}"}
                                                    for i in range(len(routes))]}
    labels = draw(st.dictionaries(NAMES, VALUES, min_size=1, max_size=3))
    return yaml.safe_dump(config, allow_unicode=True), labels


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=routing_cases())
def test_routing_agrees_with_amtool_on_utf8_names_and_values(
        tmp_path: Path, case: tuple[str, dict[str, str]]) -> None:
    text, labels = case
    config = tmp_path / "am.yml"
    config.write_text(text, encoding="utf-8")
    assert alertrouting.load(config).receivers_for(labels) == \
        toolchecks.amtool_routes(config, labels), text


MODE_CASES = ['service.name="x"', "foo=bar baz", 'foo="bar",', 'foo=~"a|b"', '{foo="bar"}',
              "foo=bär", "foo=", '"foo"="bar"', 'foo!~"x",bar="y"', "foo=\"a\\\"b\""]
FLAGS = {"fallback": [], "classic": ["classic-mode"], "utf8": ["utf8-strict-mode"]}


@pytest.mark.parametrize("mode", sorted(FLAGS))
@pytest.mark.parametrize("text", MODE_CASES)
def test_each_parsing_mode_accepts_what_amtool_accepts_in_it(tmp_path: Path, text: str,
                                                            mode: str) -> None:
    """The mode follows the --enable-feature flags the manifest gives Alertmanager."""
    assert am_matchers.mode_for(FLAGS[mode]) == mode
    config = tmp_path / "am.yml"
    config.write_text(yaml.safe_dump({"route": {"receiver": "a", "routes": [
        {"receiver": "a", "matchers": [text]}]}, "receivers": [{"name": "a"}]},
        allow_unicode=True), encoding="utf-8")
    try:
        toolchecks.check_alertmanager_config(config, FLAGS[mode])
        amtool_accepts = True
    except ConfigError:
        amtool_accepts = False
    try:
        alertrouting.load(config, mode=mode)
        ours = True
    except ConfigError:
        ours = False
    assert ours == amtool_accepts
