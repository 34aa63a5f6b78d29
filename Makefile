# Two commands do all the set-up on a fresh machine:
#   make repro   create .venv if missing, install, run the default DVC pipeline end to end
#   make test    create .venv if missing, install, run the test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.browser
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export PYTHONUNBUFFERED := 1
# Stage commands in dvc.yaml call `python`: make it the project venv's.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install repro test test-fast bench mutation ui serve paper-figures paper-tables

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null 2>&1) \
	  && echo "installed graphviz (dot)" ; } || echo "note: Graphviz 'dot' is not installed; scene-graph drawings need it (apt-get install graphviz)"
	@touch $(STAMP)

# The browser tests drive Debian's chromium with Playwright (Playwright's own browser download cannot run offline).
$(BROWSER_STAMP): $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) \
	  && echo "installed chromium (browser tests)" ; } || echo "note: chromium is not installed; the browser tests need it (apt-get install chromium)"
	@touch $(BROWSER_STAMP)

install: $(STAMP)

repro: install
	$(VENV)/bin/dvc repro
	$(PY) -m sg2im.summary

# Two pytest workers (pytest-xdist), one test file per worker: most tests wait on single-threaded work
# (imports, DVC, subprocesses), so two run side by side on 2 cores. TEST_WORKERS=1 runs them one by one.
# pytest exits 5 when it collects no test; say so loudly instead of failing with no message.
TEST_WORKERS ?= 2
test: install $(BROWSER_STAMP)
	@$(PY) -m pytest -q -x -n $(TEST_WORKERS) --dist loadfile --timeout=900 tests; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

test-fast: install
	$(PY) -m pytest -q -m "not slow" tests

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Mutation testing of the core modules against their own tests (tools/mutation.py, mutmut 3): each group
# gets MUTATION_BUDGET seconds; the score per group lands in build/mutation/report.md. Not part of `make test`.
MUTATION_BUDGET ?= 600
mutation: install
	@$(PY) -m pip install -q 'mutmut==3.8.1'
	$(PY) tools/mutation.py --budget $(MUTATION_BUDGET)

# The MLflow UI on the project's store (mlflow.db in this folder), telemetry off, opened on the model-training view.
ui: install
	@echo "MLflow UI: http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(abspath .)/mlflow.db --host 127.0.0.1 --port 5000

# The scene-graph editor on the VG model of `make repro` (params.yaml [serve]; sg2im serve --help)
serve: install
	$(VENV)/bin/sg2im serve

# The paper's figures and tables from the released models: fetch them first (README, "The released models"):
#   .venv/bin/python stages/download_models.py --models coco64,vg64,vg128 [--ablated 1]
paper-figures: install
	$(PY) -m sg2im.paper figures

# Evaluates every released model found with the evaluate stage's protocol on the official test splits
# (download_coco/download_vg with source official, preprocess_vg); extra flags: make paper-tables ARGS="--num_samples 500"
paper-tables: install
	$(PY) -m sg2im.paper tables $(ARGS)
