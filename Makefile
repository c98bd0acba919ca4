# The two commands: `make run` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test bench lint install browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --port $(PORT)

test: $(STAMP) browser
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	DJANGO_SETTINGS_MODULE=bench.settings $(PY) manage.py bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf .run db.sqlite3 staticfiles .pytest_cache

# The API's hot paths against bare floor views, side by side (bench/load/api.py). Needs
# PostgreSQL (DATABASE_URL, default the benchmark database) and Redis on 127.0.0.1, and wrk.
.PHONY: bench-api
bench-api: $(STAMP)
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi; }
	$(PY) -m bench.load.api
