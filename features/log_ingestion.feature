@logs
Feature: Logs flow — apps write JSON lines, an agent ships them, Loki indexes labels not content
  Each app writes one JSON line per event to stdout: access (every request),
  error, performance (slow requests) and security (failed logins). Promtail
  (or Alloy, its successor) parses them and promotes only service, level and
  log_type to labels; request_id and route stay in the line. These scenarios
  need a real Loki and agent and skip, naming them, where those are missing.

  Background:
    Given the observability stack is running
    And Loki and the log agent under test are running

  Scenario: Every request leaves one access line in Loki, counted within 1%
    When flask-app serves 200 requests tagged for this scenario
    Then Loki holds 200 access lines of flask-app tagged for this scenario, within 1%

  Scenario Outline: <service> writes every kind of line, hands request ids back and audits its faults
    Every app writes the same four kinds of lines. A caller's request id
    comes back in the response: it is the caller's key into the logs.
    Changing or clearing a fault is on record: the chaos API is an attack
    surface.
    When <service> serves 5 requests tagged for this scenario
    Then every response carried its request id back
    When someone fails to log in to <service> 2 times
    And a latency of 1200 ms is injected into <service>
    And errors are injected into <service> at 100%
    And <service> serves 2 requests tagged for this scenario
    And the errors in <service> stop
    Then Loki holds error lines of <service> with level error
    And Loki holds performance lines of <service> with level warning
    And Loki holds a security line of <service> saying "failed login"
    And Loki holds a security line of <service> saying "chaos changed"
    And Loki holds a security line of <service> saying "chaos cleared"

    Examples:
      | service     |
      | flask-app   |
      | node-app    |
      | fastapi-app |

  Scenario: Labels are the low-cardinality set; a request id is found by a line filter
    When flask-app serves 20 requests tagged for this scenario
    Then the Loki streams of flask-app carry exactly the labels level, log_type and service
    And a line filter on one tagged request id finds exactly its access line

  @alerting
  Scenario: An alert and its log lines tell one story
    The notification says HighErrorRate fired for fastapi-app; Loki holds the
    error lines that caused it, from the same window, in the same proportion.
    The report draws both on the alert's timeline.
    Given fastapi-app receives 20 requests per second
    When errors of 10% hit fastapi-app
    Then a firing HighErrorRate notification for fastapi-app reaches the webhook
    And Loki holds the error lines of fastapi-app behind that alert: none before the fault, and between the fault and the notification more than 5% of its access lines

  @alerting
  Scenario: A burst of failed logins fires the Loki ruler's LogQL alert at the on-call webhook
    The security lines themselves raise FailedLoginLogBurst (stack/loki/rules/):
    the app, the agent, Loki, its ruler and Alertmanager all take part, and the
    ruler's own API says every rule evaluates without error.
    Then Loki's ruler evaluates every group of the Loki rule files, each rule without error
    When someone fails to log in to node-app 30 times
    Then a firing FailedLoginLogBurst notification for node-app reaches the webhook

  @browser
  Scenario: The browser's API call is followed by its request id across both services in Loki
    When a user opens node-app's page in headless Chromium
    Then Loki holds the access lines of the page's API call from node-app and fastapi-app
