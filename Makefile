# matra-infra. A fresh machine needs two commands, `make preview STACK=dev` and
# `make test`; each sets up what it needs. `make help` lists the rest.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STACK ?= dev
PYTHON ?= python3
VENV := venv
CACHE := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/matra-infra
UV_VERSION := 0.13.9
UV := $(CACHE)/uv-$(UV_VERSION)/bin/uv
COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--no-header --annotation-style line

.PHONY: help venv lock lock-check test test-fast test-engine test-deps test-tools lint preview \
	deploy bench-deploy bench-program threat-map docs
help:
	@echo "make preview STACK=dev|staging|prod  pulumi preview of a stack, with the policy pack, on a local file backend"
	@echo "make deploy STACK=prod RELEASE=<tag>  roll a release out to the stack's hosts (<tag>@sha256:<digest>: that image; RELEASE=rollback: back)"
	@echo "make test                            everything: Debian packages, Go-built tools, virtualenv, all tests"
	@echo "make test-fast                       the tests that need no real host (mocks, policies, renders, workflows)"
	@echo "make test-engine                     the real-engine tests: pulumi preview of every stack (a pulumi CLI on PATH)"
	@echo "make lint                            ruff (lint and format check) and mypy"
	@echo "make docs                            rewrite the generated pages of docs/ (settings, policies, prices) from their sources"
	@echo "make lock                            re-resolve requirements.txt (and the pack's) from requirements.in"
	@echo "make lock-check                      the locks are whole: every entry pinned with its hashes, agreeing with requirements.in"

# The locked dependencies, then the project's own packages (pyproject.toml) editable:
# built offline, with the locked setuptools.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "make: installing the locked Python dependencies (requirements.txt) and the project's packages into $(VENV)/"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r requirements.txt
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
		--no-build-isolation --no-index --editable .
	touch $@

# The whole tree, hashed, from the direct pins; the pack's lock under the program's.
lock: $(UV)
	$(COMPILE) -o requirements.txt requirements.in
	cd policies && $(COMPILE) -c ../requirements.txt -o requirements.txt requirements.in

# Offline: every entry of both locks pinned (==) with its sha256 hashes (pip checks them
# against what it downloads only on a fresh install), requirements.in's pins are the
# lock's, and the pack's lock holds the program's versions (pip's resolver fails on a
# conflict between a requirement and a constraint).
PIP = $(VENV)/bin/python -m pip --disable-pip-version-check
lock-check: venv
	@for lock in requirements.txt policies/requirements.txt; do \
		bad=$$(sed -e ':a' -e '/\\$$/{N;s/\\\n//;ba' -e '}' "$$lock" | grep -Ev '^[[:space:]]*(#|$$)' \
			| grep -Ev '^[A-Za-z0-9._-]+==[^[:space:];]+[^#]*--hash=sha256:[0-9a-f]{64}' || true); \
		if [[ -n $$bad ]]; then \
			echo "make lock-check: $$lock: not pinned with a hash: $${bad:0:80}" >&2; exit 1; \
		fi; \
	done
	$(PIP) install --dry-run --quiet --no-index --no-deps -r requirements.in -c requirements.txt
	$(PIP) install --dry-run --quiet --no-index --no-deps -r policies/requirements.in \
		-c requirements.txt -c policies/requirements.txt

$(UV):
	$(PYTHON) -m venv $(CACHE)/uv-$(UV_VERSION)
	$(CACHE)/uv-$(UV_VERSION)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

test-deps:
	@scripts/test-deps.sh
test-tools:
	@scripts/test-tools.sh

# The first pass holds the real-engine tests too (skipped, and said so, with no pulumi on
# PATH; .ci/run puts one there and requires them).
test: test-deps test-tools venv
	$(VENV)/bin/python -m pytest -m "not host"
	$(VENV)/bin/python -m pytest -m host -n 0

# actionlint (a Go-built tool) checks the workflows in this tier too.
test-fast: test-deps test-tools venv
	$(VENV)/bin/python -m pytest -m fast

test-engine: venv
	$(VENV)/bin/python -m pytest -m engine

# Measurements and a report that use the tests' helpers (tests/ on the path).
bench-deploy: test-deps test-tools venv
	PYTHONPATH=tests $(VENV)/bin/python scripts/bench-deploy.py $(ARGS)
bench-program: venv
	PYTHONPATH=tests $(VENV)/bin/python scripts/bench-program.py $(ARGS)
threat-map: venv
	PYTHONPATH=tests:scripts $(VENV)/bin/python tests/threat_map.py

# The pages of docs/ that restate a source (tests/test_generated_docs.py fails while one is
# stale).
docs: venv
	$(VENV)/bin/python scripts/gen_docs.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/python -m mypy

preview:
	@scripts/preview.sh $(STACK)

# STACK and RELEASE reach the script in its environment, never inside a shell line.
deploy: export MATRA_STACK = $(STACK)
deploy: export MATRA_RELEASE = $(RELEASE)
deploy:
	@scripts/deploy.sh
