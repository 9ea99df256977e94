# Entry points of the todo-chatbot project. Every tool a target needs is
# installed by `make setup`; heavy builds are cached under $(CACHE), outside
# the repository, keyed by version.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CACHE ?= $(HOME)/.cache/todo-chatbot
export PATH := $(CACHE)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
PIPENV := python3 -m pipenv
RUN := $(PIPENV) run

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

## ---- setup -------------------------------------------------------------

.PHONY: setup setup-python setup-node
setup: setup-python setup-node tools setup-chromium setup-postgres ## Install every tool and package the project uses.

setup-python:
	python3 -m pip install --quiet --disable-pip-version-check -r tools/requirements-pipenv.txt
	$(PIPENV) sync --dev

setup-node:
	npm ci --no-audit --no-fund --loglevel=error

# Debian's Chromium for the browser tests; Playwright drives it, never downloads one.
.PHONY: setup-chromium
setup-chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# Debian's PostgreSQL 15 server binaries (/usr/lib/postgresql/15/bin) for the app tests,
# which start throwaway servers themselves (tests/support/postgres.py); openssl makes
# their TLS certificates. Nothing is started or enabled here.
.PHONY: setup-postgres
setup-postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb -a -x /usr/bin/openssl || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		postgresql-15 openssl; }

.PHONY: tools cluster-tools
tools: ## Build the pinned Go tools (helm) into $(CACHE)/bin.
	python3 tools/gotools.py helm

cluster-tools: ## Build Kubernetes, etcd, CoreDNS, metrics-server, kube-router, pause (cold: ~40 min).
	python3 tools/gotools.py cluster

## ---- chart ---------------------------------------------------------------

.PHONY: synth chart imports
synth: ## cdk8s synth: the raw manifests of main.py into dist/.
	cdk8s synth

chart: ## Synth, build the Helm chart dist/todo-chatbot and package it.
	$(RUN) python -m todo_chatbot.helm_chart build --out dist

imports: ## Regenerate imports/ offline from ../shared (byte-for-byte).
	python3 tools/import_bindings.py

## ---- images --------------------------------------------------------------

.PHONY: setup-images images cluster-images
# buildah builds without a Docker engine; debootstrap makes the base rootfs; containerd's ctr
# and runc import and run the images (tests and the local cluster).
setup-images:
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null && \
		command -v ctr >/dev/null && command -v runc >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		buildah debootstrap containerd runc; }

images: setup-images ## Build the app images (+ component images whose binaries exist) offline.
	python3 images/build.py all

cluster-images: setup-images ## Build every cluster component image (needs `make cluster-tools`).
	python3 images/build.py components --require-all-components

## ---- tests ---------------------------------------------------------------

.PHONY: test lint
lint: ## ruff and mypy on the project's own code.
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy constructs/todo_chatbot main.py

test: setup ## Run every test (the README's test command).
	$(MAKE) lint
	$(RUN) pytest
