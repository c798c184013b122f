# Every target bootstraps ./venv from requirements.txt first (tools/bootstrap-venv: uv when it can,
# rebuilt when requirements or the Python change). checkov's pins conflict with the Pulumi SDK's,
# so it lives in its own .venv-checkov.
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
STACK ?= dev
BENCH_ARGS ?=
# Bytecode compiled once per checkout, into .pycache (the venvs stay as installed): each process
# (test workers, checkov, CLI subprocesses, previews) would otherwise compile the SDKs' sources
# again when the environment sets PYTHONDONTWRITEBYTECODE, as Docker's Python images do.
PYCACHE := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.pycache

.PHONY: preview test snapshots bench format clean

export PYTHON

.PHONY: setup setup-checkov
setup: ## the project's venv (fast with uv); a no-op when it is current
	@tools/bootstrap-venv $(VENV) requirements.txt

# After setup: both venvs come from the one uv that setup may bootstrap into .venv-bootstrap.
setup-checkov: setup
	@tools/bootstrap-venv $(CHECKOV_VENV) requirements-checkov.txt

preview: setup ## run the program offline on a stack (STACK=dev) and show the plan
	$(PYCACHE) $(PY) -m plan preview --stack $(STACK)

# The CRD-schema validators of tests/manifests/validate_crds.mjs (node 20+), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: ## lint, format check and the whole test suite
	@# The venvs and the npm packages install side by side (a first run's ~10 s each).
	@$(MAKE) --no-print-directory -j2 setup-checkov node_modules/.installed
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PYCACHE) $(PY) -m pytest -n auto

snapshots: setup ## refresh the reviewed plan snapshots of every stack and example
	UPDATE_SNAPSHOTS=1 $(PY) -m pytest -q tests/test_stacks.py

bench: setup ## scale benchmark: plan preview at 10/100/1000 models against a bare mock-runtime program
	$(PY) benchmarks/scale.py $(BENCH_ARGS)

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .venv-bootstrap node_modules .pytest_cache .ruff_cache .pycache
