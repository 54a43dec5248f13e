# clusterguard.portworx: make help
SHELL := /bin/bash
VENV := .venv/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
# The lab's Ansible settings (inventory, forks, SSH); the checkout has no ansible.cfg of its own.
export ANSIBLE_CONFIG := $(CURDIR)/tests/lab/ansible.cfg
LAB_WORKERS ?= 3
# 1: lab-up also starts the NetworkPolicy engine (kube-router and pods as namespaces)
LAB_ENGINE ?= 1

.PHONY: help deps pydeps controlplane lab-up lab-down demo test unit coverage lint sanity compat bench build docs clean

help:
	@echo "make demo      bring up the lab, show reachability, run playbooks/site.yml, show it again"
	@echo "make test      install what is missing and run every test (what .ci/run runs)"
	@echo "make lab-up    lab workers (network namespaces with sshd), the lab API server, kube-router and pods"
	@echo "               (LAB_ENGINE=0: without kube-router and pods)"
	@echo "make lab-down  remove the lab"
	@echo "make unit      unit tests only (no lab)"
	@echo "make coverage  unit tests with the coverage of the host module's logic"
	@echo "make lint      ansible-lint, production profile"
	@echo "make sanity    ansible-test sanity"
	@echo "make compat    the ansible-core matrix, 2.16 to 2.21 (unit, sanity, lab)"
	@echo "make bench     benchmarks into BENCHMARKS.md"
	@echo "make build     the collection tarball in build/ (ansible-galaxy collection build)"
	@echo "make docs      the documentation site in docs/site/build/html (antsibull-docs, Sphinx)"

deps:
	@scripts/deps.sh

pydeps:
	@scripts/deps.sh --python

controlplane: deps
	@tests/lab/controlplane/build.sh >/dev/null

lab-up: deps controlplane
	@LAB_WORKERS=$(LAB_WORKERS) LAB_INVENTORY=$(CURDIR)/inventories/lab/hosts.yml tests/lab/workers.sh up
	@cp inventories/lab/hosts.yml .lab/cgpx/inventory.yml
	@tests/lab/controlplane.sh up
	@if [[ "$(LAB_ENGINE)" != 0 ]]; then tests/lab/engine.sh up; fi

lab-down:
	@tests/lab/booted.sh down >/dev/null || true
	@# every other namespace lab of this checkout (scripts/test.sh's second and matrix labs, molecule's)
	@for d in .lab/*/; do [[ -d $$d ]] || continue; n=$$(basename "$$d"); [[ $$n == cgpx || $$n == cgpb ]] && continue; \
	  LAB_NAME=$$n tests/lab/controlplane.sh down >/dev/null 2>&1 || true; LAB_NAME=$$n tests/lab/workers.sh down >/dev/null 2>&1 || true; done
	@tests/lab/engine.sh down || true
	@tests/lab/controlplane.sh down || true
	@LAB_INVENTORY=$(CURDIR)/inventories/lab/hosts.yml tests/lab/workers.sh down

demo: lab-up
	@scripts/demo.sh

test:
	@scripts/test.sh

unit: pydeps
	@$(VENV)/pytest -q tests/unit

# how much of the host module's logic (module_utils) the unit tests run; the module itself
# (commands, files, the lock) is proven on the lab workers
coverage: pydeps
	@$(VENV)/coverage run --include='plugins/module_utils/*,plugins/modules/port_firewall.py' -m pytest -q -p no:cacheprovider tests/unit
	@$(VENV)/coverage report

lint: deps
	@$(VENV)/ansible-lint --offline

sanity: deps
	@scripts/sanity.sh

compat: lab-up
	@scripts/compat.sh

bench: LAB_ENGINE := 0
bench: lab-up
	@scripts/bench.sh

build: pydeps
	@$(VENV)/ansible-galaxy collection build --force --output-path build/

docs: pydeps
	@PATH=$(CURDIR)/$(VENV):$$PATH docs/site/build.sh

clean: lab-down
	rm -rf build .collections
