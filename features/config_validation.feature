@static
Feature: Config validation — the deployable configs pass the tools' own checks
  Before any stack starts, the configs under stack/ are checked exactly as
  they would be deployed: uncompressed, with service names as addresses.

  Scenario: Every config the stack deploys is one its components accept
    The checks the stack's start makes first. When one refuses a config, this
    is the finding; every scenario that needs the stack is "not run", naming
    the file, instead of failing on the same mistake.
    Given the deployable configs under stack/
    Then every config the manifest names passes its component's own checks

  Scenario: promtool accepts the Prometheus config and every rule file it loads
    Given the deployable configs under stack/
    Then promtool check config accepts stack/prometheus/prometheus.yml
    And promtool check rules accepts every rule file

  Scenario: HighErrorRate has the exact production timing
    Given the deployable configs under stack/
    Then the promtool rule unit tests under stack/prometheus/tests/ pass

  Scenario: amtool accepts the Alertmanager config
    Given the deployable configs under stack/
    Then amtool check-config accepts stack/alertmanager/alertmanager.yml
    And the Alertmanager config has none of the mistakes amtool accepts

  Scenario: Every receiver says when an alert is resolved
    On-call closes an incident on the resolved notification, by webhook and by
    email alike (email's send_resolved defaults to false).
    Given the deployable configs under stack/
    Then every receiver in stack/alertmanager/alertmanager.yml sends resolved notifications

  Scenario Outline: A new <alertname> leaves Alertmanager within <delay> of firing
    On-call's clock starts when the rule fires: a long group_wait would hold
    the first page back (the scenarios' own deadlines follow the config, so
    only this states the promise).
    Given the deployable configs under stack/
    Then Alertmanager's first notification of an alert with <labels> leaves within <delay>

    Examples:
      | alertname   | labels                                                       | delay |
      | ServiceDown | alertname=ServiceDown, severity=critical, service=flask-app  | 30s   |
      | HighLatency | alertname=HighLatency, severity=warning, service=node-app    | 30s   |

  Scenario: HighErrorRate's production timing, stated as a table
    Given the production alert rules
    When these series are scraped every 15s:
      | series                                                                         | values   |
      | http_requests_total{service="fastapi-app",method="GET",route="/",status="200"} | 0+94x40  |
      | http_requests_total{service="fastapi-app",method="GET",route="/",status="500"} | 0+6x40   |
    Then promtool sees exactly these alerts:
      | at    | alert         | labels                                                |
      | 15s   | HighErrorRate | none                                                  |
      | 2m    | HighErrorRate | none                                                  |
      | 2m15s | HighErrorRate | severity=critical, team=platform, service=fastapi-app |

  Scenario: ServiceDown's production timing, stated as a table
    Given the production alert rules
    When these series are scraped every 15s:
      | series                                                     | values      |
      | up{job="node-app",instance="node-app:3000",team="platform"} | 1x20 0x20   |
    Then promtool sees exactly these alerts:
      | at    | alert       | labels                                                                                          |
      | 5m    | ServiceDown | none                                                                                            |
      | 6m    | ServiceDown | none                                                                                            |
      | 6m15s | ServiceDown | severity=critical, team=platform, service=node-app, job=node-app, instance=node-app:3000          |

  Scenario Outline: <labels> is routed to <receivers>
    Given the deployable configs under stack/
    Then Alertmanager routes an alert with <labels> to <receivers>, as amtool agrees

    Examples:
      | labels                                                      | receivers         |
      | alertname=ServiceDown, severity=critical, service=flask-app | oncall-critical   |
      | alertname=HighErrorRate, severity=critical, service=fastapi-app | api-team-critical |
      | alertname=ServiceDown, severity=critical, service=node-app  | api-team-critical |
      | alertname=HighLatency, severity=warning, service=node-app   | oncall-webhook    |
      | alertname=HighCPU, severity=warning, scope=host             | oncall-webhook    |
      | alertname=Watchdog, severity=none                           | oncall-webhook    |
      | alertname=LokiRulerInfo, severity=info, service=loki        | oncall-webhook    |

  Scenario: ServiceDown inhibits its service's other alerts, and only those
    Given the deployable configs under stack/
    Then with these alerts firing together, Alertmanager mutes exactly the marked ones:
      | labels                                                      | muted |
      | alertname=ServiceDown, severity=critical, service=flask-app | no    |
      | alertname=HighErrorRate, severity=critical, service=flask-app | yes |
      | alertname=HighCPU, severity=warning, service=flask-app      | yes   |
      | alertname=HighLatency, severity=warning, service=node-app   | no    |
      | alertname=HighCPU, severity=warning, scope=host             | no    |

  Scenario: One notification per alert and service, whatever the instance
    Given the deployable configs under stack/
    Then firing together, these alerts reach their receivers in the marked notifications:
      | labels                                                                  | notification |
      | alertname=HighErrorRate, severity=critical, service=flask-app, instance=a | flask errors |
      | alertname=HighErrorRate, severity=critical, service=flask-app, instance=b | flask errors |
      | alertname=HighErrorRate, severity=critical, service=node-app            | node errors  |
      | alertname=HighLatency, severity=warning, service=flask-app              | flask slow   |
      | alertname=HighLatency, severity=warning, service=flask-app, instance=b  | flask slow   |

  Scenario: Info alerts wait for office hours in Berlin; warnings never wait
    Given the deployable configs under stack/
    Then Alertmanager's time intervals mute these alerts as marked:
      | labels                                            | at                        | in            | muted by     |
      | alertname=LokiRulerInfo, severity=info            | Monday 2026-12-07 08:00   | Europe/Berlin | none         |
      | alertname=LokiRulerInfo, severity=info            | Monday 2026-12-07 07:59   | Europe/Berlin | office-hours |
      | alertname=LokiRulerInfo, severity=info            | Monday 2026-12-07 16:59   | UTC           | none         |
      | alertname=LokiRulerInfo, severity=info            | Monday 2026-12-07 17:00   | UTC           | office-hours |
      | alertname=LokiRulerInfo, severity=info            | Friday 2026-07-03 15:59   | UTC           | none         |
      | alertname=LokiRulerInfo, severity=info            | Friday 2026-07-03 16:00   | UTC           | office-hours |
      | alertname=LokiRulerInfo, severity=info            | Saturday 2026-12-05 10:00 | Europe/Berlin | office-hours |
      | alertname=HighLatency, severity=warning, service=node-app | Saturday 2026-12-05 03:00 | Europe/Berlin | none |

  Scenario: A silence of node-app's alerts silences only node-app's
    Given the deployable configs under stack/
    Then a silence of service="node-app", severity=~"warning|critical" silences exactly the marked alerts:
      | labels                                                      | silenced |
      | alertname=HighLatency, severity=warning, service=node-app   | yes      |
      | alertname=ServiceDown, severity=critical, service=node-app  | yes      |
      | alertname=LokiRulerInfo, severity=info, service=node-app    | no       |
      | alertname=ServiceDown, severity=critical, service=flask-app | no       |
