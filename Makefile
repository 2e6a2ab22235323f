# matra-infra: the two commands a fresh machine needs are `make preview STACK=dev`
# and `make test`. Both set up the virtualenv first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STACK ?= dev
PYTHON ?= python3
VENV := venv
STATE_DIR := $(CURDIR)/.pulumi-state

# Local previews: state in a file backend inside the checkout (never a cloud backend),
# no update check. The passphrase only protects this local preview state; real stacks
# use the team's backend and secrets provider.
export PULUMI_BACKEND_URL ?= file://$(STATE_DIR)
export PULUMI_CONFIG_PASSPHRASE ?= matra-local-preview
export PULUMI_SKIP_UPDATE_CHECK := true

.PHONY: help venv test preview
help:
	@echo "make preview STACK=dev|staging|prod   set up and run pulumi preview on a local file backend"
	@echo "make test                             set up and run the tests"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

test: venv
	$(VENV)/bin/python -m pytest

preview: venv
	@command -v pulumi >/dev/null 2>&1 || { echo "make preview: no pulumi CLI on PATH; install one (https://www.pulumi.com/docs/install/) and run this again" >&2; exit 1; }
	@mkdir -p $(STATE_DIR)
	pulumi stack select --create $(STACK) --non-interactive
	pulumi preview --stack $(STACK) --non-interactive \
		--policy-pack policies $(if $(wildcard policies/config/$(STACK).json),--policy-pack-config policies/config/$(STACK).json)
