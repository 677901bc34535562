# Two commands: `make run` (demo service on SQLite, port 8000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export SUPPORTGATE_DATABASE_URL ?= sqlite:///supportgate.db
# Development only: lets the README's curl work at once. Never set this in production unless you mean it.
export SUPPORTGATE_BOOTSTRAP_ADMIN_KEY ?= dev-admin-key

.PHONY: install run test fuzz lint openapi screenshots clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/supportgate demo
	$(BIN)/supportgate serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy service tests benchmarks
	$(BIN)/lint-imports

# The PostgreSQL leg runs whenever a server answers at SUPPORTGATE_TEST_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/postgres); .ci/run makes it mandatory.
# TEST_WORKERS: pytest-xdist processes (most tests wait on servers and databases more than they compute).
TEST_WORKERS ?= 3
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy service tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS)
	$(MAKE) fuzz

# Contract fuzzing: schemathesis against a live server, every operation of its OpenAPI document.
fuzz: install
	$(BIN)/python tests/contract/run_schemathesis.py

openapi: install
	$(BIN)/supportgate openapi

# Rewrites docs/screenshots/ from the browser tests (needs /usr/bin/chromium).
screenshots: install
	SUPPORTGATE_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/ui/test_ui_browser.py -k sqlite

clean:
	rm -rf $(VENV) supportgate.db supportgate.db-wal supportgate.db-shm
