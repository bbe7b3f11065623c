"""Series replay: promtool-style input series served as real scrape targets, so the
real Prometheus evaluates the team's rules on them and the real Alertmanager routes,
groups, inhibits and notifies as in production."""
