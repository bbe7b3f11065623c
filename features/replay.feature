@alerting @replay
Feature: Replay — your own alerts, end to end, without your apps
  A team's alerts read series its own exporters produce: node_exporter's
  filesystems on the Kubernetes nodes, a PostgreSQL replica. No sample app can
  make those misbehave, so these scenarios state the series the way a promtool
  test does, one row per series in promtool's expanding notation, and replay
  them through the running stack. Each job/instance pair is a real scrape
  target serving the sample of each scrape's time; the real Prometheus scrapes and
  evaluates the rules of stack/prometheus/rules/fleet.yml under the compressed
  clock, and the real Alertmanager routes, groups and notifies the webhook and
  mail receivers. A series carries exactly the labels its row gives.

  Background:
    Given the observability stack is running

  Scenario: A filling disk pages on-call by webhook and email
    Given these series, one sample every 1m:
      | series                                                                                                                        | values       |
      | node_filesystem_avail_bytes{job="node-exporter",instance="db-1:9100",device="/dev/sda1",fstype="ext4",mountpoint="/var/lib/postgresql"} | 14e9-1e8x20  |
      | node_filesystem_size_bytes{job="node-exporter",instance="db-1:9100",device="/dev/sda1",fstype="ext4",mountpoint="/var/lib/postgresql"}  | 100e9x20     |
      | node_filesystem_readonly{job="node-exporter",instance="db-1:9100",device="/dev/sda1",fstype="ext4",mountpoint="/var/lib/postgresql"}    | 0x20         |
    When the series are replayed through the stack
    Then a firing HostDiskWillFillIn4Hours notification with instance=db-1:9100, mountpoint=/var/lib/postgresql reaches receiver oncall-critical within 6m
    And its labels are exactly job=node-exporter, instance=db-1:9100, device=/dev/sda1, fstype=ext4, mountpoint=/var/lib/postgresql, severity=critical
    And its summary annotation reads "Filesystem is predicted to run out of space within the next 4 hours."
    And its email to oncall@example.com has the subject "[FIRING] HostDiskWillFillIn4Hours on db-1:9100 (critical)"
    And its email body says "mounted on /var/lib/postgresql, at db-1:9100 has only"
    And every rule group evaluates cleanly: health ok and no lastError

  Scenario: A host out of memory warns on the webhook only
    Given these series, one sample every 1m:
      | series                                                                 | values    |
      | node_memory_MemAvailable_bytes{job="node-exporter",instance="web-1:9100"} | 1.5e9x12  |
      | node_memory_MemTotal_bytes{job="node-exporter",instance="web-1:9100"}     | 16e9x12   |
    When the series are replayed through the stack
    Then a firing HostOutOfMemory notification with instance=web-1:9100 reaches receiver oncall-webhook within 5m
    And its description annotation reads "web-1:9100 has 9.4% of its memory available."
    And no email about HostOutOfMemory on web-1:9100 is sent
    And every rule group evaluates cleanly: health ok and no lastError

  Scenario: A target that stops answering its scrapes is an instance down
    The row of `up` is not served as a metric: where it is 0 the target answers
    503, so `up` comes from the failed scrape as in production.
    Given these series, one sample every 1m:
      | series                                             | values      |
      | up{job="node-exporter",instance="web-2:9100"}      | 1x2 0x12    |
      | node_load1{job="node-exporter",instance="web-2:9100"} | 0.5x14   |
    When the series are replayed through the stack
    Then a firing InstanceDown notification with job=node-exporter, instance=web-2:9100 reaches receiver oncall-critical within 9m
    And its description annotation reads "web-2:9100 of job node-exporter has been down for more than 5 minutes."
    And its email to oncall@example.com has the subject "[FIRING] InstanceDown on web-2:9100 (critical)"
    And every rule group evaluates cleanly: health ok and no lastError

  Scenario: A lagging PostgreSQL replica pages on-call
    Given these series, one sample every 1m:
      | series                                                             | values     |
      | pg_replication_lag_seconds{job="postgres",instance="db-replica-1:9187"} | 5x2 45x8 |
      | pg_replication_is_replica{job="postgres",instance="db-replica-1:9187"}  | 1x10     |
    When the series are replayed through the stack
    Then a firing PostgresqlReplicationLag notification with instance=db-replica-1:9187 reaches receiver oncall-critical within 5m
    And its description annotation reads "The replica db-replica-1:9187 is 45s behind its primary."
    And its email to oncall@example.com has the subject "[FIRING] PostgresqlReplicationLag on db-replica-1:9187 (critical)"
    And its email body says "The replica db-replica-1:9187 is 45s behind its primary."
    And every rule group evaluates cleanly: health ok and no lastError

  Scenario: An exporter answering slowly for a database that is down still pages
    postgres_exporter takes about a second to answer while its database is
    down. Compressed 60 times, a 1m scrape interval is 1 s, and a timeout under
    what the exporter needs would turn pg_up == 0 into no pg_up at all. The
    timeout keeps a floor above the exporter's answer time (a warning names
    it), and the alert still fires.
    Given these series from an exporter that takes 1 s to answer, one sample every 1m:
      | series                                            | values |
      | pg_up{job="postgres",instance="db-2:9187"}         | 0x10   |
    When the series are replayed through the stack
    Then a firing PostgresqlDown notification with job=postgres, instance=db-2:9187 reaches receiver oncall-critical within 6m
    And every rule group evaluates cleanly: health ok and no lastError
