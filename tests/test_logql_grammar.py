"""The LogQL the harness builds, held to Loki's grammar while no Loki runs here.

The recognizer (tests/logql_grammar.py) is first held to inputs of Loki's own
parser tests (pkg/logql/syntax ast_test.go and parser_test.go, the part of the
grammar it covers), then every query `obsharness.logql` builds from arbitrary
label values and line texts must parse and mean exactly what was asked.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from obsharness import logql
from tests.logql_grammar import LogQLSyntaxError, parse

# Inputs Loki's own tests parse (Test_logSelectorExpr_String in ast_test.go, the engine
# tests' selectors), within the subset; the last four are ours, in documented LogQL.
LOKI_ACCEPTS = [
    '{foo="bar"}',
    '{foo="bar", bar!="baz"}',
    '{foo="bar", bar!="baz"} != "bip" !~ ".+bop"',
    '{foo="bar"} |= "baz" |~ "blip" |> "qux" !> "waldo" != "flip" !~ "flap"',
    '{foo="bar", bar!="baz"} |= ""',
    '{foo="bar", bar!="baz"} |= "" |= ip("::1")',
    '{foo="bar", bar!="baz"} |= "" != ip("127.0.0.1")',
    '{foo="bar", bar!="baz"} |~ ".*"',
    '{foo="bar", bar!="baz"} |> "<_>" !> "<_> <_>"',
    '{app="foo"}',
    '{app="bar"} |= "foo" |~ ".+bar"',
    '{foo=~"bar\\\\w+"}',
    '{foo="bar"} |= `raw\\text`',
    'sum(count_over_time({foo="bar"}[5m]))',
    'sum(count_over_time({foo="bar"} |= "baz" [1h30m]))',
]
# Inputs Loki's grammar refuses (ours, each against a rule of the documented grammar).
LOKI_REFUSES = [
    '{foo="bar"',  # unterminated selector
    '{foo}',  # a matcher needs an operator and a value
    '{foo="bar" |= "x"',
    '{foo="bar"} |= baz',  # a line filter needs a string
    '{foo=bar}',  # a value is a string literal
    '{foo="bar\\q"}',  # Go knows no \q escape
    'sum(count_over_time({foo="bar"} [5 minutes]))',
    '{foo="bar"} |= "a\nb"',  # a new line inside a double-quoted literal
]


@pytest.mark.parametrize("query", LOKI_ACCEPTS)
def test_what_lokis_own_tests_parse_is_accepted(query: str) -> None:
    parse(query)


@pytest.mark.parametrize("query", LOKI_REFUSES)
def test_what_lokis_grammar_refuses_is_refused_naming_a_column(query: str) -> None:
    with pytest.raises(LogQLSyntaxError, match=r"^parse error at line 1, col \d+: "):
        parse(query)


def test_a_selector_of_only_empty_compatible_matchers_is_refused_as_loki_does() -> None:
    with pytest.raises(LogQLSyntaxError, match="at least one regexp or equality matcher"):
        parse('{foo!="bar", baz=~".*"}')


label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True)
# Any text a team's label values or a line filter may hold: quotes, backslashes,
# new lines, non-ASCII.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(labels=st.dictionaries(label_names, texts.filter(bool), min_size=1, max_size=4),
       needle=texts)
def test_every_query_the_harness_builds_parses_and_means_what_was_asked(
        labels: dict[str, str], needle: str) -> None:
    stream = logql.selector(**labels)
    assert parse(stream).matchers == [(k, "=", v) for k, v in labels.items()]
    filtered = parse(logql.contains(stream, needle))
    assert filtered.filters == [("|=", needle)]
    counted = parse(logql.count_over_time(logql.contains(stream, needle), "5m"))
    assert counted.count_window == "5m"
    assert counted.filters == [("|=", needle)]
