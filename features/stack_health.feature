@alerting
Feature: Stack health — a healthy stack is silent and its rules evaluate cleanly
  An alert that fires all the time on a healthy stack pages on-call for
  nothing and hides the real page; a rule that fails on real data (a
  many-to-many join, a duplicate series) never fires at all. Neither shows
  in a config check. These scenarios run the healthy stack under normal load
  and ask the real Prometheus and Alertmanager.

  Background:
    Given the observability stack is running

  Scenario: A healthy stack under normal load stays silent
    Every alert of any label set counts, with or without a `service` label.
    Only the entries of stack/prometheus/quiet-exempt.yml may fire, each
    with its reason (always-on alerts, alerts about the test machine). The
    load is the suite's normal 20 requests per second: a compressed 5m window
    holds 5 s of requests, and at 5 per second one request lost while an app
    restarts was 1 in 12, enough to fire HighErrorRate, where production's
    5m window would hold 1,500.
    Given flask-app receives 20 requests per second
    And node-app receives 20 requests per second
    And fastapi-app receives 20 requests per second
    Then for 10m no alert fires or stays pending past its `for`, but those the quiet allowlist exempts

  Scenario: Every rule group evaluates cleanly on the stack's real data
    Given flask-app receives 5 requests per second
    Then every rule group evaluates cleanly: health ok and no lastError
