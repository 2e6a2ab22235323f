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

.PHONY: help venv lock test test-fast test-engine test-deps test-tools lint preview deploy
help:
	@echo "make preview STACK=dev|staging|prod  pulumi preview of a stack, with the policy pack, on a local file backend"
	@echo "make deploy STACK=prod RELEASE=<tag>  roll a release out to the stack's hosts (<tag>@sha256:<digest>: that image; RELEASE=rollback: back)"
	@echo "make test                            everything: Debian packages, Go-built tools, virtualenv, all tests"
	@echo "make test-fast                       the tests that need no real host (mocks, policies, renders, workflows)"
	@echo "make test-engine                     the real-engine tests: pulumi preview of every stack (a pulumi CLI on PATH)"
	@echo "make lint                            ruff (lint and format check) and mypy"
	@echo "make lock                            re-resolve requirements.txt (and the pack's) from requirements.in"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	@echo "make: installing the locked Python dependencies (requirements.txt) into $(VENV)/"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r requirements.txt
	touch $@

# The whole tree, hashed, from the direct pins; the pack's lock under the program's.
lock: $(UV)
	$(COMPILE) -o requirements.txt requirements.in
	cd policies && $(COMPILE) -c ../requirements.txt -o requirements.txt requirements.in
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
