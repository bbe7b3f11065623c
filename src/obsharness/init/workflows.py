"""CI files `obsharness init` writes: GitHub Actions and GitLab CI run the same stages,
the static and replay scenarios on every change, the whole suite nightly with the
mutation campaign sharded over three runners and merged into one report, and keep
reports/ (the living documentation) as an artifact."""

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
  mutation:
    # Nightly: mistakes written into a copy of the repository's monitoring code, each
    # run against the scenarios that can see it. The runners share the campaign by
    # mutant id (--shard K/N): add runners to the matrix when the campaign outgrows
    # its budget; the merge below counts every shard once.
    if: github.event_name == 'schedule'
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        shard: [1, 2, 3]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install obsharness
      - run: obsharness fetch prometheus promtool alertmanager amtool
      - name: This runner's share of the campaign
        run: obsharness mutate --budget 40m --shard ${{ matrix.shard }}/3
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: obsharness-mutation-${{ matrix.shard }}
          path: reports/mutation.json
  mutation-report:
    # One reports/mutation.json over every shard, and the night's living document with
    # its mutation section; fails on a survivor without a reason.
    needs: [monitoring, mutation]
    if: always() && github.event_name == 'schedule'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install obsharness
      - uses: actions/download-artifact@v4
        with:
          name: obsharness-reports
          path: reports
      - uses: actions/download-artifact@v4
        with:
          pattern: obsharness-mutation-*
          path: shards
      - run: obsharness mutate --merge shards/*
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: obsharness-nightly
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

# Nightly: the mutation campaign shared by mutant id over parallel jobs (--shard K/N);
# raise `parallel` when it outgrows its budget, the merge counts every shard once.
obsharness-mutation:
  image: python:3.11
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
  parallel: 3
  script:
    - pip install obsharness
    - obsharness fetch prometheus promtool alertmanager amtool
    - SHARD="$CI_NODE_INDEX/$CI_NODE_TOTAL"; OUT="reports/mutation-$CI_NODE_INDEX"
    - obsharness mutate --budget 40m --shard "$SHARD" --reports-dir "$OUT"
  artifacts:
    when: always
    paths:
      - reports/mutation-*/mutation.json

obsharness-mutation-report:
  image: python:3.11
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
      when: always
  # The scenarios' reports/ and every shard's: one mutation.json, and the living
  # document gains its mutation section.
  needs: [obsharness, obsharness-mutation]
  script:
    - pip install obsharness
    - obsharness mutate --merge reports/mutation-*
  artifacts:
    when: always
    paths:
      - reports/
"""

GITLAB_ENTRY = """\
# Written by `obsharness init`: the obsharness job lives in the included file.
include:
  - local: obsharness/ci/obsharness.gitlab-ci.yml
"""
