# obsharness — the two commands a newcomer types: `make validate` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# checkov in a virtualenv of its own: it pins libraries (packaging, ...) that the
# harness's tools need newer. Pinned: a new checkov brings new checks, taken on purpose.
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := .venv-checkov/.installed-$(CHECKOV_VERSION)
BINARIES := prometheus promtool alertmanager amtool node_exporter postgres_exporter
# Optional components: fetched where a route has them (e.g. $$OBSHARNESS_BINARY_DIR),
# otherwise their scenarios skip naming how to get them.
OPTIONAL_BINARIES := loki promtail alloy grafana

.PHONY: setup binaries validate test unit scenarios mutate mutate-smoke docker-smoke lint typecheck bench soak doctor clean

setup: $(STAMP) $(CHECKOV_STAMP) binaries

$(CHECKOV_STAMP):
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $(CHECKOV_STAMP)

# A run starts many Python processes (xdist workers, pytest subprocesses, the apps,
# Ansible's modules). With PYTHONDONTWRITEBYTECODE set (some CI images set it) each
# one recompiles and re-rewrites all it imports: a scenario collection took 1.9 s
# instead of 0.8 s. The caches go to __pycache__/, which git ignores.
unexport PYTHONDONTWRITEBYTECODE

NODE_APP := stack/apps/node_app

$(STAMP): pyproject.toml stack/apps/*/requirements.txt $(NODE_APP)/package-lock.json tools/report-assets/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[apps,browser,infra,dev]'
	cd $(NODE_APP) && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent
	cd tools/report-assets && npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# Native binaries: env var, PATH, project cache, local binary directory,
# release download, Debian package.
binaries: $(STAMP)
	$(BIN)/obsharness fetch $(BINARIES)
	$(BIN)/obsharness fetch --optional $(OPTIONAL_BINARIES)

# Parallel workers (pytest-xdist), each scenario worker with its own stack. They
# mostly wait on compressed timers, so one more worker than cores was fastest on
# 2 cores (scenarios: 3 workers ~105 s, 2 ~130 s, serial ~230 s); the library's
# tests, more of them waiting on subprocesses, one more still. 0 = serial.
CORES := $(shell nproc 2>/dev/null || echo 1)
SCENARIO_WORKERS ?= $(shell echo $$(( $(CORES) > 1 ? $(CORES) + 1 : 0 )))
UNIT_WORKERS ?= $(shell echo $$(( $(CORES) > 1 ? $(CORES) + 2 : 0 )))

# The scenarios, then the living documentation: diagrams regenerated and
# checked against the manifest, the HTML report opened in Chromium and checked.
validate: setup
	$(BIN)/obsharness diagrams --check
	$(BIN)/pytest -n $(SCENARIO_WORKERS); status=$$?; $(BIN)/obsharness report --check || status=1; exit $$status

# Every phase timed; the table is printed at the end, pass or fail. Set-up runs its
# independent parts side by side (checkov's virtualenv alone took 46 s of CPU while the
# harness's own was installing on the other core).
PHASE := PYTHONPATH=src $(PYTHON) -m obsharness.phases
TEST_PHASES := setup lint typecheck unit scenarios docker-smoke
test:
	@rm -f reports/phases.json; status=0; \
	for phase in $(TEST_PHASES); do \
	  jobs=; [ $$phase = setup ] && jobs=-j$(CORES); \
	  $(PHASE) run $$phase -- $(MAKE) --no-print-directory $$jobs $$phase || { status=1; break; }; \
	done; \
	echo; $(PHASE) summary; exit $$status

# The mutation smoke (one test, one campaign session of its own) runs among the
# unit tests' workers: a phase of its own kept three cores waiting on one for 70 s.
unit: setup
	$(BIN)/pytest tests -n $(UNIT_WORKERS) --junitxml=reports/unit-junit.xml --cucumberjson=reports/unit-cucumber.json

scenarios: setup
	$(BIN)/pytest -n $(SCENARIO_WORKERS); status=$$?; $(BIN)/obsharness report --check || status=1; exit $$status

# Mutation testing: mistakes written into a copy of stack/ and infra/, each run
# against the scenarios that can see it on one stack reloaded in place; the
# score per flow and every survivor go to reports/mutation.json and the living
# document. The nightly workflow runs the campaign; `make test` only the smoke
# (three known mutants: one a validator catches, one a scenario catches, one
# equivalent that must survive).
MUTATE_ARGS ?= --budget 30m
MUTATE_WORKERS ?= $(SCENARIO_WORKERS)
mutate: setup
	$(BIN)/obsharness mutate --workers $(MUTATE_WORKERS) $(MUTATE_ARGS)

mutate-smoke: setup
	$(BIN)/pytest tests -m mutation_smoke --junitxml=reports/mutate-smoke-junit.xml --cucumberjson=reports/mutate-smoke-cucumber.json

# The docker backend proven with locally built images: runs as root when no
# Docker engine runs yet (it starts and stops its own); says why it skips otherwise.
docker-smoke: setup
	$(PY) -m obsharness.dockerlocal smoke --reports reports/docker

lint: $(STAMP)
	$(BIN)/ruff check src steps tests conftest.py stack/apps infra/ansible/filter_plugins

typecheck: $(STAMP)
	$(BIN)/mypy

bench: setup
	$(PY) -m obsharness.bench

# The scenario suite SOAK_RUNS times in a row; a table of scenario x pass/fail/duration.
SOAK_RUNS ?= 10
soak: setup
	$(PY) -m obsharness.soak --runs $(SOAK_RUNS) -- -n $(SCENARIO_WORKERS)

doctor: setup
	$(BIN)/obsharness doctor

clean:
	rm -rf reports/run reports/*.json reports/*.xml reports/*.html .pytest_cache .mypy_cache .ruff_cache
