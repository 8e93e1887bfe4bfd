# Two entry points: `make demo` (the backup system on a local fleet) and `make test` (everything CI runs).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV       := .venv
BIN        := $(CURDIR)/$(VENV)/bin
# The tag follows the recipe, so a changed recipe builds a new image and an unchanged one is reused.
IMAGE      := localhost/dcs-vps:bookworm-$(shell sha256sum tests/support/build_image.sh | cut -c1-12)
SCENARIOS  := $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
export PATH := $(BIN):$(PATH)
export CONTAINERS_CONF := $(CURDIR)/tests/support/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export DCS_IMAGE := $(IMAGE)

.PHONY: help test lint pytest molecule demo demo-down system-deps venv image clean program bench bench-backup bench-fleet \
        bench-scale

help:
	@echo "make demo       start local S3 servers + fleet, provision it, back up, drill"
	@echo "make demo-down  stop and remove everything the demo started"
	@echo "make test       lint, pytest and every Molecule scenario (what CI runs)"

system-deps:
	@tests/support/install_system_deps.sh

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

image: system-deps
	@tests/support/build_image.sh $(IMAGE)

# The backup program ships as one zipapp built from roles/minio_backup/files/src (committed; the
# pytest suite fails when it is out of date).
program:
	python3 roles/minio_backup/files/src/build.py

lint: venv
	yamllint --strict .
	ruff check .
	ansible-lint --profile production --strict

pytest: venv system-deps
	pytest

molecule: venv image
	@mkdir -p .cache/apt/vps1/archives/partial .cache/apt/vps1/lists/partial \
	          .cache/apt/vps2/archives/partial .cache/apt/vps2/lists/partial
	@for s in $(SCENARIOS); do \
	  echo "=== molecule test -s $$s"; \
	  molecule test -s $$s || exit 1; \
	done

# pytest and Molecule mostly wait (on servers, engines, containers), so they run side by side; each
# one's output is printed whole when it ends (--output-sync), and either failing fails the target.
test: lint
	@$(MAKE) --no-print-directory -j2 --output-sync=target pytest molecule

# Performance runs (not part of make test): ratios against a baseline measured in the same run.
bench: bench-backup bench-fleet

bench-backup: venv system-deps
	python -m benchmarks.backup_vs_rclone

bench-fleet: venv image
	python -m benchmarks.fleet_converge

# One bucket at 50k, 100k and 200k objects: program memory per object and no-change time vs raw rclone
# (slow: seeding 200k objects takes a while; SIZES=50000,100000 for a shorter run).
SIZES ?= 50000,100000,200000
bench-scale: venv system-deps
	python -m benchmarks.bench_scale --sizes $(SIZES)

demo: venv image
	@tests/support/demo.sh up

demo-down: venv
	@tests/support/demo.sh down

clean: demo-down
	rm -rf $(VENV) .cache .ansible
