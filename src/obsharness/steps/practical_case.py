"""Steps of the practical case: a real browser, a real database, one request id."""

from __future__ import annotations

import functools

from pytest_bdd import given, parsers, then, when

from obsharness import logs
from obsharness.browser import PageLoad, load_items_page
from obsharness.pytest_plugin import HarnessOptions, ScenarioContext, skip_if_unavailable
from obsharness.stack.handle import StackHandle
from obsharness.waiting import eventually


@given(parsers.parse('an item named "{name}" is stored in PostgreSQL'))
def item_stored(name: str, stack: StackHandle) -> None:
    import psycopg  # here: every pytest run loads the steps, few use the database

    with psycopg.connect(stack.postgres_dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO items (name) VALUES (%s)", (name,))


@when(parsers.parse("a user opens {component}'s page in headless Chromium"),
      target_fixture="page_load")
def open_page(component: str, stack: StackHandle, harness_options: HarnessOptions) -> PageLoad:
    with skip_if_unavailable(harness_options):
        return load_items_page(stack.url(component) + "/")


@then(parsers.parse('the page lists every item stored in PostgreSQL, including "{name}"'))
def page_lists_items(name: str, page_load: PageLoad, stack: StackHandle) -> None:
    import psycopg

    with psycopg.connect(stack.postgres_dsn()) as conn:
        stored = [(str(i), n) for i, n in conn.execute("SELECT id, name FROM items ORDER BY id")]
    assert page_load.status == "loaded", f"the page shows {page_load.status!r}"
    assert page_load.rows == stored, f"page rows {page_load.rows} != database rows {stored}"
    assert name in [n for _, n in page_load.rows]


@then("the request id of the page's API call appears in the access logs of node-app and "
      "fastapi-app")
def request_id_in_both_logs(page_load: PageLoad, stack: StackHandle,
                            scenario_ctx: ScenarioContext) -> None:
    assert page_load.api_request_id, "the page did not expose its API call's X-Request-ID"
    for component in ("node-app", "fastapi-app"):
        path = stack.log_path(component)
        assert path is not None
        eventually(functools.partial(logs.matching, path, since=scenario_ctx.started_at,
                                     request_id=page_load.api_request_id,
                                     log_type="access", route="/api/items"),
                   bool, timeout=5,
                   what=f"{component}'s access line for request {page_load.api_request_id}")
