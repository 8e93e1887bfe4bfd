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
        bench-scale bench-restore collection sanity docs

# Each target's line in `make help` is its `## ` comment (tests/unit/repository/test_makefile.py checks that
# every .PHONY target has one).
help: ## list every target with what it does (this text)
	@awk -F ':[^#]*## ' '/^[a-z][a-z-]*:[^=]*## / { printf "make %-13s %s\n", $$1, $$2 }' $(firstword $(MAKEFILE_LIST))

system-deps: ## install the Debian packages the tests need when missing (podman, rclone, promtool, ...)
	@tests/support/install_system_deps.sh

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## create .venv with requirements-dev.txt (again when a requirements file changes)

image: system-deps ## build the Debian VPS container image of the fleet (reused while its recipe is unchanged)
	@tests/support/build_image.sh $(IMAGE)

# The backup program ships as one zipapp built from src/ (committed; the
# pytest suite fails when it is out of date).
program: ## rebuild the backup program's zipapp from src/dream_backup
	python3 src/build.py

# Each role's variable table in its README is written from meta/argument_specs.yml (the pytest suite
# fails when one is out of date).
docs: venv ## rewrite the roles' README variable tables from their meta/argument_specs.yml
	python3 tests/support/role_docs.py

# The collection dream.backup is a copy of roles/, library/, module_utils/, filter_plugins/ and playbooks/
# with the names a collection needs (collection/build.py says which); the repository's layout stays.
collection: venv ## build the collection dream.backup into dist/ (staged in .cache/collection for ansible-test)
	python3 collection/build.py

# ansible-test installs its own tool versions into ~/.ansible/test/venv on the first run (a few minutes);
# later runs take about 2.5 min on a busy 2-core machine.
sanity: collection ## ansible-test sanity on the built collection (Python 3.11), zero errors
	collection/sanity.sh

lint: venv ## yamllint, ruff and ansible-lint, all strict
	yamllint --strict .
	ruff check .
	ansible-lint --profile production --strict

pytest: venv system-deps ## every pytest test: unit, and integration against local S3 servers
	pytest

# Two lanes side by side, each one scenario at a time on a fleet (container names, apt caches) of its
# own; lanes balanced by measured durations (listed in the script; a scenario not listed runs too).
molecule: venv image ## every Molecule scenario, in two lanes side by side (tests/support/molecule_lanes.sh)
	@tests/support/molecule_lanes.sh $(SCENARIOS)

# Molecule, pytest and the collection's sanity run mostly wait (on containers, servers, engines), so all
# start at once, Molecule first; with two job slots Molecule waited for one of the others. Lint runs
# beside them too: run first, its minutes were added to the longest job's. Each one's output is printed
# whole when it ends and kept in .cache/test-results/; --keep-going lets the others finish when one
# fails, and a summary printed last names each part's exit code and the lines that say what failed
# (a CI page showing only the end of the output still shows them). Any part failing fails the target.
TEST_RESULTS := .cache/test-results
TEST_PARTS   := molecule pytest sanity lint
test: venv ## lint, every Molecule scenario, pytest and the collection's sanity run side by side (what CI runs)
	@rm -rf $(TEST_RESULTS) && mkdir -p $(TEST_RESULTS)
	@rc=0; $(MAKE) --no-print-directory -j4 --keep-going $(addprefix test-part-,$(TEST_PARTS)) || rc=$$?; \
	  tests/support/test_summary.sh $(TEST_RESULTS) && exit $$rc

# One part of `make test`: its output into $(TEST_RESULTS)/PART.log, printed whole when it ends, and
# its exit code into PART.rc for the summary.
test-part-%:
	@rc=0; $(MAKE) --no-print-directory $* >$(TEST_RESULTS)/$*.log 2>&1 || rc=$$?; \
	  cat $(TEST_RESULTS)/$*.log; echo $$rc >$(TEST_RESULTS)/$*.rc; exit $$rc

# Performance runs (not part of make test): ratios against a baseline measured in the same run.
bench: bench-backup bench-fleet ## both performance runs (not part of make test)

bench-backup: venv system-deps ## the backup program against plain rclone on the same data
	python -m benchmarks.backup_vs_rclone

bench-fleet: venv image ## re-converging a 4-host fleet against a baseline play
	python -m benchmarks.fleet_converge

# One bucket at 50k, 100k and 200k objects: program memory per object and no-change time vs raw rclone
# (slow: seeding 200k objects takes a while; SIZES=50000,100000 for a shorter run).
SIZES ?= 50000,100000,200000
bench-scale: venv system-deps ## one bucket at 50k-200k objects: program memory per object and time vs raw rclone
	python -m benchmarks.bench_scale --sizes $(SIZES)

# A whole-bucket restore at 20k and 100k objects: program memory per object and time vs raw rclone copy
# (RESTORE_SIZES=2000,8000 for a quick look; ENGINE=mc for the mc engine's restore).
RESTORE_SIZES ?= 20000,100000
ENGINE ?= rclone
bench-restore: venv system-deps ## a whole-bucket restore at 20k-100k objects: program memory per object and time vs raw rclone
	python -m benchmarks.bench_restore --sizes $(RESTORE_SIZES) --engine $(ENGINE)

demo: venv image ## start local S3 servers + fleet, provision it, back up, drill
	@tests/support/demo.sh up

demo-down: venv ## stop and remove everything the demo started
	@tests/support/demo.sh down

clean: demo-down ## demo-down, then remove .venv, .cache, .ansible and dist
	rm -rf $(VENV) .cache .ansible dist
