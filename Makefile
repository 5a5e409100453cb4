# shopstream: `make up` runs the pipeline, `make test` checks it. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install up test test-faults bench lint lock clean

install: $(STAMP)

# Re-runs only when the dependencies change; `make install` is instant otherwise.
$(STAMP): pyproject.toml constraints.txt scripts/system-deps
	@scripts/system-deps
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "shopstream needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e . --group dev
	@touch $(STAMP)

up: install
	$(BIN)/shopstream up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	@scripts/system-deps test
	$(BIN)/pytest --cov --cov-report=term:skip-covered

# Crashes, outages and poison under load; prints acknowledged / stored / lost / duplicated.
test-faults: install
	@scripts/system-deps test
	$(BIN)/pytest tests/faults

# Throughput and latency of every scenario; writes bench/results/<date>.json and RESULTS.md.
bench: install
	@scripts/system-deps bench
	$(BIN)/python -m bench

# Pin every package (direct and transitive) to what the suite was last run with.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q -e . --group dev
	.lock-venv/bin/python -m pip freeze --exclude-editable > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
