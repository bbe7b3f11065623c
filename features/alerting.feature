@alerting
Feature: Alerting flow — Prometheus evaluates rules, Alertmanager routes, the on-call webhook is notified
  The stack promises that a service answering more than 5% of its requests
  with errors pages the on-call team. These scenarios inject real errors into
  a running app, and watch real Prometheus and real Alertmanager deliver (or,
  just under the threshold, not deliver) the notification to a webhook.
  Durations are compressed by --time-scale; the exact production timing of the
  rule is proven by promtool in config_validation.feature.

  Background:
    Given the observability stack is running
    And flask-app receives 40 requests per second

  Scenario: An error rate above 5% fires HighErrorRate and reaches the webhook
    When errors are injected into flask-app at 20%
    Then a firing HighErrorRate notification for flask-app reaches the webhook
    And the notification has the labels:
      | label     | value         |
      | alertname | HighErrorRate |
      | service   | flask-app     |
      | severity  | critical      |

  Scenario: An error rate of 2% stays under the threshold and notifies nobody
    When errors are injected into flask-app at 2%
    Then no HighErrorRate notification for flask-app reaches the webhook while the rule could fire
    And Prometheus measured an error ratio between 1% and 5% for flask-app

  Scenario: When the errors stop, a resolved notification follows
    Given errors are injected into flask-app at 20%
    And a firing HighErrorRate notification for flask-app reached the webhook
    When the errors in flask-app stop
    Then a resolved HighErrorRate notification for flask-app reaches the webhook
