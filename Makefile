# Two commands: `make run` serves http://127.0.0.1:8080 (or $PORT) on the embedded default,
# `make test` runs the whole suite. Both create .venv when it is missing.
# While working: `make test-fast` (the suite without the tests marked slow) and `make lint`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint bench bench-quick install install-test clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, apt-get install python3-venv"; exit 1; }
	@$(BIN)/pip install -q --upgrade pip

# The `fast` extra (uvloop) is what production runs on (requirements.txt), so we run on it too.
$(VENV)/.installed: setup.py setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[fast]'
	@touch $@

$(VENV)/.installed-test: setup.py setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,fast]'
	@touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The built-in local scorekeeper key `dev-key`, so curl and /console work at once (the console
# names it); it is used only while SCOREBOARD_API_KEYS is unset: set your keys for anything real.
# PORT=9000 make run (or make run PORT=9000) serves on another port.
# `exec`: the server takes the recipe shell's place, so a SIGTERM to `make run` (make hands it
# to its child) reaches the server, which drains and stops, instead of orphaning it.
run: export SCOREBOARD_DEV_KEY ?= true
run: install
	exec $(BIN)/python -m scoreboard serve

# The suite runs in parallel processes (pytest-xdist, whole files per worker: most tests wait on
# real servers, sockets and timeouts rather than compute). The browser tests run in a second
# pass of their own: Playwright's sync API keeps an event loop running in its worker, which
# asyncio tests must not share. Both passes always run; either failing fails `make test`.
TEST_WORKERS ?= 4
BROWSER_WORKERS ?= 3
test: install-test
	@status=0; \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --ignore=tests/browser $(PYTEST_ARGS) || status=1; \
	$(BIN)/python -m pytest -n $(BROWSER_WORKERS) --dist loadfile tests/browser $(PYTEST_ARGS) || status=1; \
	exit $$status

# The core without browser, multi-instance, fleet, fuzzing, benchmark and wheel tests
# (marked `slow`): the inner loop while changing code. `make test` still runs everything.
test-fast: install-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow" $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

# The benchmark against a textbook aiohttp baseline: ingest, fan-out and connect time on SQLite
# and on Redis, the deploy storm (about 8 minutes; writes bench/results/latest.{json,md}).
# BENCH_ARGS adds options, e.g. `make bench BENCH_ARGS=--big` for the opt-in N=50,000 row.
# bench-quick is the small smoke run of every section.
BENCH_ARGS ?=
bench: install
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py --deflate both $(BENCH_ARGS)

bench-quick: install
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache build dist
