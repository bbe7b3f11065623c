@alerting
Feature: Alerting flow — Prometheus evaluates rules, Alertmanager routes, people are notified
  The stack promises four alerts: a service is down (availability under 99%),
  slow (p95 over 1 s), failing (more than 5% errors) or burning CPU (over 80%
  of a core). Critical alerts reach the webhook and an email, warnings only
  the webhook; the practical case's services mail the API team. These
  scenarios cause each fault for real in a running app and watch real
  Prometheus and real Alertmanager deliver (or, just under a threshold, not
  deliver) the notification. Durations are compressed by --time-scale; the
  exact production timing of every rule is proven by promtool in
  config_validation.feature.

  Background:
    Given the observability stack is running

  Scenario Outline: <alert> fires when <fault> hits <service> and reaches its receivers
    Given <service> receives 20 requests per second
    When <fault> hits <service>
    Then a firing <alert> notification for <service> reaches the webhook
    And the notification has severity <severity>, a value <comparison>, a start after the fault and a link to Prometheus
    And <email>

    Examples: critical alerts go to the webhook and by email
      | alert         | fault          | service     | severity | comparison  | email                                                                |
      | ServiceDown   | a crash        | flask-app   | critical | below 0.99  | an email about ServiceDown on flask-app reaches oncall@example.com    |
      | HighErrorRate | errors of 10%  | fastapi-app | critical | above 0.05  | an email about HighErrorRate on fastapi-app reaches api-team@example.com |

    Examples: warnings go to the webhook only
      | alert       | fault                 | service   | severity | comparison | email                                      |
      | HighLatency | a latency of 1500 ms  | node-app  | warning  | above 1    | no email about HighLatency on node-app is sent |

    # Crossing 0.8 of a core takes a whole core: in a parallel run this example
    # runs while the other workers' stacks are frozen (README, "Parallel runs").
    @exclusive
    Examples: a warning that needs a whole core to itself
      | alert       | fault                 | service   | severity | comparison | email                                      |
      | HighCPU     | a CPU burn of 100%    | flask-app | warning  | above 0.8  | no email about HighCPU on flask-app is sent    |

  Scenario Outline: <fault> in <service> stays under the <alert> threshold and notifies nobody
    Given <service> receives 20 requests per second
    When <fault> hits <service>
    Then no <alert> notification for <service> reaches the webhook while the rule could fire
    And Prometheus measured a <measure> between <low> and <high> for <service>

    Examples:
      | alert         | fault                | service   | measure     | low  | high  |
      | HighErrorRate | errors of 4%         | flask-app | error ratio | 0.02 | 0.05  |
      | HighLatency   | a latency of 800 ms  | node-app  | p95 latency | 0.5  | 0.999 |
      | HighCPU       | a CPU burn of 40%    | flask-app | CPU         | 0.2  | 0.79  |

  Scenario: When the errors stop, a resolved notification follows
    Given flask-app receives 40 requests per second
    And errors of 20% hit flask-app
    And a firing HighErrorRate notification for flask-app reached the webhook
    When the errors in flask-app stop
    Then a resolved HighErrorRate notification for flask-app reaches the webhook

  Scenario: A burst of failed logins raises LoginFailuresBurst and leaves security lines
    When someone fails to log in to node-app 30 times
    Then a firing LoginFailuresBurst notification for node-app reaches the webhook
    And node-app logged a security line "failed login"

  Scenario: ServiceDown inhibits the other alerts of the same service
    A crashed service's own series go stale, so its other alerts resolve on
    their own; inhibition matters while a service is partly down and still
    failing. Half of flask-app's scrapes fail (availability 50%, under 99%)
    while it keeps answering 20% of its requests with errors, so ServiceDown
    and HighErrorRate are both true for as long as the faults last.
    Given flask-app receives 40 requests per second
    And errors of 20% hit flask-app
    And a firing HighErrorRate notification for flask-app reached the webhook
    When scrape failures of 50% hit flask-app
    Then a firing ServiceDown notification for flask-app reaches the webhook
    And Alertmanager holds HighErrorRate for flask-app as inhibited by ServiceDown

  Scenario: A silence created through the Alertmanager API suppresses the notification
    Given flask-app receives 40 requests per second
    And HighErrorRate for flask-app is silenced through the Alertmanager API
    When errors of 20% hit flask-app
    Then Alertmanager holds HighErrorRate for flask-app as silenced
    And no HighErrorRate notification for flask-app reaches the webhook while the rule could fire
