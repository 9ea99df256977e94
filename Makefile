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
setup: setup-python setup-node tools cluster-tools setup-checkov setup-chromium setup-postgres setup-cluster images cluster-images ## Install every tool and package the project uses.

setup-python:
	python3 -m pip install --quiet --disable-pip-version-check -r tools/requirements-pipenv.txt
	$(PIPENV) sync --dev

# Node.js 24 LTS from the npm registry (tools/toolchain/node.py) into $(CACHE)/bin, first on PATH.
setup-node:
	python3 tools/gotools.py node
	npm ci --no-audit --no-fund --loglevel=error

# checkov pins clash with the app's packages, so it gets its own venv, keyed
# by the hash of its requirements file.
CHECKOV_VENV = $(CACHE)/venvs/checkov-$(shell sha256sum tools/requirements-checkov.txt | cut -c1-12)
.PHONY: setup-checkov
setup-checkov:
	@test -x $(CHECKOV_VENV)/bin/checkov || { python3 -m venv $(CHECKOV_VENV) && \
	  $(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-checkov.txt; }
	@mkdir -p $(CACHE)/bin && ln -sfn $(CHECKOV_VENV)/bin/checkov $(CACHE)/bin/checkov

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
tools: ## Build the pinned Go tools (helm, kube-score, kubeconform) into $(CACHE)/bin.
	python3 tools/gotools.py helm
	python3 tools/gotools.py checkers

cluster-tools: ## Build Kubernetes, etcd, CoreDNS, metrics-server, kube-router, Traefik, pause, Prometheus and its operator (cold: ~27 min).
	python3 tools/gotools.py cluster

## ---- chart ---------------------------------------------------------------

.PHONY: synth chart imports
VERSION := $(shell cat VERSION)

synth: ## cdk8s synth: main.py's manifests into dist/todo-chatbot.k8s.yaml.
	cdk8s synth --no-check-upgrade

chart: synth ## Build the Helm chart dist/todo-chatbot and package it into dist/.
	$(RUN) python -m todo_chatbot.helm_chart dist/todo-chatbot.k8s.yaml --version $(VERSION) --out dist/todo-chatbot
	helm lint --strict dist/todo-chatbot -f examples/values-existing-secret.yaml >/dev/null
	helm package dist/todo-chatbot --destination dist >/dev/null
	@echo "chart: dist/todo-chatbot (packaged: dist/todo-chatbot-$(VERSION).tgz)"

imports: ## Regenerate imports/ offline from ../shared (byte-for-byte).
	python3 tools/import_bindings.py

## ---- images --------------------------------------------------------------

.PHONY: setup-images images cluster-images fixture-images next-image
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

# Built on demand: the tests that run a fixture image build it themselves, the same way.
fixture-images: setup-images ## Build the test fixture images (the foreign-contract app).
	python3 images/build.py fixtures

# Its own target, which `make images` leaves out: npm ci and next build add about a minute
# to a cold build. The tests that run it build it themselves, the same way; the Node.js it
# builds with is setup-node's, installed by the build if missing (images/imagebuild/nextjs.py).
next-image: setup-images ## Build the Next.js frontend image (app/frontend-next).
	python3 images/build.py next

## ---- local cluster -------------------------------------------------------

# Debian packages of the local cluster (cluster/localcluster): containerd, runc and the CNI
# plugins run the pods; iptables, ipset and conntrack serve kube-proxy and kube-router;
# docker-registry serves the images that skopeo pushes; PostgreSQL 15 is the "external" database;
# gnupg signs the released chart (make release).
CLUSTER_PACKAGES := containerd runc containernetworking-plugins iptables ipset conntrack \
	docker-registry skopeo postgresql-15 openssl iproute2 gnupg
# It runs in the project's environment: it talks to the apiserver with the `kubernetes` client.
LOCALCLUSTER := PYTHONPATH=$(CURDIR)/cluster $(RUN) python -m localcluster
# Nodes of the local cluster: 1 is the host itself; each extra one a network namespace with its
# own containerd, kubelet and kube-proxy (cluster/README.md, "Several nodes").
export NODES ?= 1

.PHONY: setup-cluster cluster-up cluster-down cluster-status up up-local release down
setup-cluster:
	@dpkg -s $(CLUSTER_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		$(CLUSTER_PACKAGES); }

cluster-up: setup-python setup-cluster cluster-tools cluster-images ## Boot the local Kubernetes cluster of NODES nodes (default 1; state: /var/lib/todo-chatbot).
	$(LOCALCLUSTER) up --nodes $(NODES)

cluster-down: setup-python ## Stop the local cluster and remove everything it added to the host.
	$(LOCALCLUSTER) down

cluster-status: setup-python ## Show which local cluster processes run.
	$(LOCALCLUSTER) status

# With a kube context configured (KUBECONFIG or ~/.kube/config), `make up` installs the chart
# there (RELEASE, NAMESPACE, VALUES; see tools/kube_context.py); otherwise it boots the
# project's local cluster and deploys on it.
# kube_context.py exits 1 when no context is configured and 2 on an error (a broken
# kubeconfig), which stops `make up` rather than booting the local cluster.
up: setup-python setup-node tools chart ## Deploy the app (kube context, else local cluster), print the URL.
	@status=0; $(RUN) python tools/kube_context.py configured || status=$$?; \
	case $$status in \
	  0) $(RUN) python tools/kube_context.py deploy ;; \
	  1) $(MAKE) --no-print-directory up-local ;; \
	  *) exit $$status ;; \
	esac

# FRONTEND=next deploys the Next.js + Better Auth frontend (examples/values-nextjs.yaml) on the
# local cluster instead of the Python one; `make up` alone puts the Python one back.
FRONTEND ?= python
up-local: setup-python setup-cluster cluster-tools images cluster-images $(if $(filter next,$(FRONTEND)),next-image)
	$(LOCALCLUSTER) up --nodes $(NODES)
	$(LOCALCLUSTER) deploy --frontend $(FRONTEND)

# Signs the chart with a key made for this release, pushes it to the local registry (which
# `make up` starts) and writes the release notes; cluster/localcluster/signed_release.py.
release: setup-cluster chart ## Publish the signed chart to the local registry; notes in dist/release/.
	$(LOCALCLUSTER) release

down: cluster-down ## Stop the local cluster (alias of cluster-down).

# The multi-node subset (tests/e2e/test_e2e_nodes.py): a fresh cluster of three nodes, the
# spread, drain and node-loss scenarios under load, then the cluster goes back to one node
# (the chart is not redeployed: `make up` does that).
.PHONY: e2e-nodes
e2e-nodes: setup-python chart ## On a fresh 3-node local cluster: spread, drain, node loss (~5 min).
	$(LOCALCLUSTER) down
	$(LOCALCLUSTER) up --nodes 3
	status=0; $(RUN) pytest tests/e2e/test_e2e_nodes.py -p no:cacheprovider -q || status=$$?; \
	$(LOCALCLUSTER) down && $(LOCALCLUSTER) up && exit $$status

## ---- tests ---------------------------------------------------------------

.PHONY: test lint
lint: ## ruff and mypy (strict) on the project's own code.
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy constructs/todo_chatbot main.py app/common/todo_contract app/common/todo_common \
		app/backend/todo_backend app/frontend/todo_frontend app/ai_standin app/foreign/foreign \
		images/build.py images/imagebuild tools/gotools.py tools/toolchain tools/kube_context.py \
		cluster/localcluster bench

## ---- benchmark -----------------------------------------------------------

# Both boot the cluster and deploy first (`up` is quick when all is running), then measure on
# their own release in namespace `bench` (removed at the end). docs/benchmarks.md explains.
BENCH := PYTHONPATH=$(CURDIR):$(CURDIR)/cluster $(RUN) python -m bench
.PHONY: bench bench-short soak
bench: up setup-python setup-chromium ## Measure every SLO figure (~30 min); writes docs/benchmarks.*.
	$(BENCH) run

bench-short: up setup-python setup-chromium ## A few seconds per scenario; fails on any SC-007 error.
	$(BENCH) short

# SC-002: steady load while six faults run (docs/benchmarks.md, *Availability under faults*);
# the default length writes docs/soak.{json,png} and the SC-002 row, a shorter one reports/ only.
SOAK_MINUTES ?= 30
soak: up setup-python ## Availability under a fault schedule, SOAK_MINUTES long (30); SC-002's row.
	$(BENCH) soak $(SOAK_MINUTES)

# SC-005 and SC-008 at 100 users with each frontend, in one run (~8 min): the side-by-side
# table in docs/benchmarks.md (bench/frontends.py).
.PHONY: bench-frontends
bench-frontends: up next-image setup-python setup-chromium ## SC-005, SC-008 at 100 users: Python vs Next.js frontend.
	$(BENCH) frontends

# On a running cluster of three nodes (`make up NODES=3`): scale-out, drain, node loss, and what
# an extra node costs at rest; its own section of docs/benchmarks.md (bench/nodes.py).
.PHONY: bench-nodes
bench-nodes: setup-python chart ## Multi-node rows on `make up NODES=3` (~5 min); docs/benchmarks.md.
	$(BENCH) nodes

# The chart is built first: the live tests deploy its package as `make up` does.
# The slowest tests are listed at the end: where CI's time goes (README, Cache).
test: setup chart ## Run every test (the README's test command).
	$(MAKE) lint
	$(RUN) pytest --durations=30

# The Next.js stack's whole e2e profile (issue 16): the short one that `make test` runs, and
# the secrets scan, upgrade and pod deletion under load and BETTER_AUTH_SECRET rotation.
.PHONY: e2e-next
e2e-next: setup chart next-image ## Run the Next.js stack's whole e2e profile on the local cluster.
	$(RUN) pytest -m e2e tests/e2e/test_e2e_next.py tests/e2e/test_e2e_next_full.py
