@static
Feature: Config validation — the deployable configs pass the tools' own checks
  Before any stack starts, the configs under stack/ are checked exactly as
  they would be deployed: uncompressed, with service names as addresses.

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
