# Every target bootstraps ./venv from requirements.txt first (and refreshes it when that changes).
# checkov pins conflict with the Pulumi SDK's, so it lives in its own .venv-checkov.
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
STACK ?= dev
BENCH_ARGS ?=

.PHONY: preview test snapshots bench format clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The CRD-schema validators of tests/manifests/validate_crds.mjs (node 20+), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

preview: $(VENV)/.installed ## run the program offline on a stack (STACK=dev) and show the plan
	$(PY) -m plan preview --stack $(STACK)

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed ## lint, format check and the whole test suite
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m pytest

snapshots: $(VENV)/.installed ## refresh the reviewed plan snapshots of every stack and example
	UPDATE_SNAPSHOTS=1 $(PY) -m pytest -q tests/test_stacks.py

bench: $(VENV)/.installed ## scale benchmark: plan preview at 10/100/1000 models against a bare mock-runtime program
	$(PY) benchmarks/scale.py $(BENCH_ARGS)

format: $(VENV)/.installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .pytest_cache .ruff_cache
