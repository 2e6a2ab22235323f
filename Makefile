# matra-infra: the two commands a fresh machine needs are `make preview STACK=dev`
# and `make test`. Both set up the virtualenv first.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STACK ?= dev
PYTHON ?= python3
VENV := venv
STATE_DIR := $(CURDIR)/.pulumi-state
# Pebble (Let's Encrypt's test ACME server), built from the Go module proxy into a cache
# outside the checkout; the real-SSH test obtains a certificate from it.
PEBBLE_VERSION := v2.10.3
TEST_TOOLS := $(HOME)/.cache/matra-infra/pebble-$(PEBBLE_VERSION)

# Local previews: state in a file backend inside the checkout (never a cloud backend),
# no update check. The passphrase only protects this local preview state; real stacks
# use the team's backend and secrets provider.
export PULUMI_BACKEND_URL ?= file://$(STATE_DIR)
export PULUMI_CONFIG_PASSPHRASE ?= matra-local-preview
export PULUMI_SKIP_UPDATE_CHECK := true

.PHONY: help venv test test-tools preview
help:
	@echo "make preview STACK=dev|staging|prod   set up and run pulumi preview on a local file backend"
	@echo "make test                             set up and run the tests"

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

test-tools: $(TEST_TOOLS)/.complete
$(TEST_TOOLS)/.complete:
	GOBIN=$(TEST_TOOLS)/bin go install \
		github.com/letsencrypt/pebble/v2/cmd/pebble@$(PEBBLE_VERSION) \
		github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$(PEBBLE_VERSION)
	rm -rf $(TEST_TOOLS)/certs
	cp -R "$$(go env GOMODCACHE)/github.com/letsencrypt/pebble/v2@$(PEBBLE_VERSION)/test/certs" $(TEST_TOOLS)/certs
	chmod -R u+w $(TEST_TOOLS)/certs
	touch $@

test: venv test-tools
	MATRA_TEST_TOOLS=$(TEST_TOOLS) $(VENV)/bin/python -m pytest

preview: venv
	@scripts/preview.sh $(STACK)
