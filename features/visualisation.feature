@visualisation
Feature: Visualisation flow — Grafana dashboards on Prometheus and Loki, proven to show data
  Three provisioned dashboards (System, Application with a Logs row, Business)
  read the recording rules and node_exporter through datasources with fixed
  uids. A panel that queries a metric that does not exist is the most common
  silent failure of a monitoring stack: these checks catch it without Grafana.

  Scenario: The dashboards are valid and only refer to what is provisioned and defined
    Given the dashboards and the Grafana provisioning under stack/grafana/
    Then every dashboard, in whichever shape it is kept, is one Grafana can show; its style advice is a warning
    And every panel's datasource uid is provisioned and every variable it uses is defined
    And every PromQL query of every panel parses with the real Prometheus parser

  Scenario: Every Prometheus panel shows data for every service under load
    Given the observability stack is running
    And every app receives 10 requests per second
    Then every Prometheus panel of every dashboard returns data for each service

  @logs
  Scenario: Every Loki panel of every dashboard shows log lines for each service under load
    The Logs row of Application runs its LogQL, $service resolved to each app,
    against the running Loki: a label the log pipeline does not produce, a
    query Loki refuses, or a panel left empty is named.
    Given the observability stack is running
    And Loki and the log agent under test are running
    And every app receives 10 requests per second
    And errors of 10% hit every app
    Then every Loki panel of every dashboard returns log lines for each service

  Scenario: Grafana serves healthy provisioned datasources and every dashboard, and its panels return frames
    Given the observability stack is running
    And every app receives 10 requests per second
    Then Grafana has the datasources prometheus, loki and alertmanager, and prometheus is healthy
    And every dashboard under stack/grafana/dashboards is provisioned in Grafana and loads
    And every Prometheus panel query returns frames through Grafana's /api/ds/query
