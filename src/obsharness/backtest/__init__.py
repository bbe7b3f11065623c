"""Backtesting: each alerting rule evaluated over a Prometheus' history the way the rule
manager would, with `for` and `keep_firing_for`, read only."""
