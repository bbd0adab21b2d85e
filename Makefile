# chaos-harness: `make demo` runs the pangyo power cut on the dual-site stack; `make test` runs the tests.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HARNESS := $(BIN)/chaos-harness
STACK ?= dual-site
OUT ?= runs/nightly-$(shell date -u +%Y%m%dT%H%M%SZ)

.DEFAULT_GOAL := help

# run and gameday need the experiment named: never the demo by default (`make demo` is that).
ifneq ($(filter run gameday,$(MAKECMDGOALS)),)
ifeq ($(strip $(EXP)),)
$(error make $(firstword $(filter run gameday,$(MAKECMDGOALS))) needs an experiment: make $(firstword $(filter run gameday,$(MAKECMDGOALS))) EXP=experiments/<name>.yaml (make demo runs the pangyo power cut))
endif
endif
.PHONY: help setup venv images engines engines-down up down demo run gameday nightly test test-slow unit fuzz integration bench recover doctor clean docs

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/chaos-harness: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

venv: $(BIN)/chaos-harness ## Python environment in .venv (harness, Locust, pytest)

setup: venv ## Docker engine + Compose v2 if none answers (never over a working one), Python env
	bash scripts/bootstrap-docker.sh

images: setup ## build every image, offline when no registry answers
	bash scripts/build-images.sh

engines: images ## the simulated hosts: one extra Docker engine per site (scripts/engines.sh), images loaded
	bash scripts/engines.sh start
	bash scripts/engines.sh load-images

engines-down: ## stop the simulated hosts' engines (their data stays) and remove their bridges
	bash scripts/engines.sh stop

up: images ## bring the stack up (STACK=dual-site) and wait until every healthcheck passes
	$(HARNESS) up --stack $(STACK)

down: ## take the stack down, volumes too (STACK=dual-site unless given)
	$(HARNESS) down --stack $(STACK)

demo: images ## the pangyo power cut under load on dual-site: RTO per service, lost writes
	$(HARNESS) run experiments/pangyo-power-cut.yaml --stack $(STACK)

run: images ## run one experiment on its own stack: make run EXP=experiments/x.yaml [STACK=...]
	$(HARNESS) run $(EXP) $(if $(filter-out file default,$(origin STACK)),--stack $(STACK))

# run and gameday: the experiment's own stack unless STACK is given (command line or environment).
gameday: images ## a game day, a go before each step: make gameday EXP=experiments/x.yaml [WHO="alice,bob"] [AUTO=1] [STACK=...]
	$(HARNESS) gameday $(EXP) $(if $(filter-out file default,$(origin STACK)),--stack $(STACK)) $(if $(WHO),--who "$(WHO)") $(if $(AUTO),--auto)

nightly: engines ## every experiment tagged nightly, one at a time (dual-site-engines too): OUT/index.html, OUT/junit.xml, a report per run
	$(HARNESS) nightly --out $(OUT)

unit: venv ## unit tests only (no Docker, under a minute on 2 cores; the loader fuzz draws a quarter of its documents)
	$(BIN)/pytest -q -n auto -m 'not integration' tests

fuzz: venv ## the experiment loader's whole fuzz (2,000 documents)
	CHAOS_FUZZ_SCALE=1 $(BIN)/pytest -q tests/unit/test_fuzz_loader.py

integration: images ## integration tests (real Docker stacks; the slow scenarios too)
	$(BIN)/pytest -q -m integration tests

test: images ## every test but the slow scenarios: unit (the whole fuzz too), then integration against real stacks
	CHAOS_FUZZ_SCALE=1 $(BIN)/pytest -q -n auto -m 'not integration' tests
	$(BIN)/pytest -q -m 'integration and not slow' --durations=25 tests

test-slow: images ## the slow scenarios CI leaves out (each covered in part by a faster test): pytest -m slow
	$(BIN)/pytest -q -m slow tests

bench: images ## steady mixed load through the entry point: req/s and p50/p99 per service
	HARNESS=$(HARNESS) bash bench/run.sh

docs: venv ## regenerate docs/experiments.md, the experiment format's reference, from the declarations
	$(HARNESS) reference --out docs/experiments.md

recover: venv ## heal whatever a killed harness left behind (STACK=dual-site unless given)
	$(HARNESS) recover --stack $(STACK)

doctor: venv ## engine, compose, images, ports for STACK (dual-site unless given): and the command that fixes each
	$(HARNESS) doctor --stack $(STACK)

clean: ## take STACK down (dual-site unless given; volumes too) and remove runs/ and the venv
	@echo "clean: taking down the stack $(STACK) (volumes too), then removing runs/, $(VENV) and .cache/wheelhouse"
	-$(HARNESS) down --stack $(STACK)
	rm -rf runs $(VENV) .cache/wheelhouse
