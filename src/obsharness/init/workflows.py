"""CI files `obsharness init` writes: GitHub Actions and GitLab CI run the same two
stages, the static and replay scenarios on every change and the whole suite nightly,
and keep reports/ (the living documentation) as an artifact."""

from __future__ import annotations

GITHUB = """\
# Written by `obsharness init`; edit freely.
name: obsharness
on:
  push:
  pull_request:
  schedule:
    - cron: "17 3 * * *"  # nightly: the whole suite
permissions:
  contents: read
  security-events: write  # static findings as code-scanning alerts
jobs:
  monitoring:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install obsharness
        run: pip install obsharness
      - name: Provision Prometheus and Alertmanager (a per-user cache, kept between runs)
        run: obsharness fetch prometheus promtool alertmanager amtool
      - name: Static findings, as annotations on the changed lines and as SARIF
        run: obsharness check
      - name: Static checks and replays on every change
        if: github.event_name != 'schedule'
        run: pytest -m "static or replay"
      - name: The whole suite, nightly
        if: github.event_name == 'schedule'
        run: pytest
      - uses: github/codeql-action/upload-sarif@v3
        if: always()
        with:
          sarif_file: reports/findings.sarif
          category: obsharness
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: obsharness-reports
          path: reports/
"""

GITLAB = """\
# Written by `obsharness init`; edit freely. .gitlab-ci.yml includes this file.
obsharness:
  image: python:3.11
  script:
    - pip install obsharness
    - obsharness fetch prometheus promtool alertmanager amtool
    - obsharness check
    - if [ "$CI_PIPELINE_SOURCE" = "schedule" ]; then pytest; else pytest -m "static or replay"; fi
  artifacts:
    when: always
    paths:
      - reports/  # findings.sarif among them (GitLab's SAST report is another format)
"""

GITLAB_ENTRY = """\
# Written by `obsharness init`: the obsharness job lives in the included file.
include:
  - local: obsharness/ci/obsharness.gitlab-ci.yml
"""
