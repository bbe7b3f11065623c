@browser
Feature: The practical case — Frontend (React) -> API (FastAPI) -> PostgreSQL
  A user opens the React page served by node-app; it asks node-app's /api/items,
  which node-app forwards to fastapi-app, which reads PostgreSQL. One request id
  follows the call through both services' logs.

  Background:
    Given the observability stack is running

  Scenario: A user sees rows that came from PostgreSQL, traceable by request id
    Given an item named "harness-check" is stored in PostgreSQL
    When a user opens node-app's page in headless Chromium
    Then the page lists every item stored in PostgreSQL, including "harness-check"
    And the request id of the page's API call appears in the access logs of node-app and fastapi-app
