# The two commands: `make run` and `make test`. Everything installs into .venv, at the versions
# uv.lock pins (`make lock` updates it after pyproject.toml changes).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
PORT ?= 8000
# uv works on .venv with its interpreter and never fetches a Python of its own.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

# The translations: .po files are committed, .mo files compiled here (GNU gettext's msgfmt).
MO := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

.PHONY: run test bench lint install browser gettext messages clean lock

# pip only brings uv (which the lock also pins, so sync keeps it); uv installs the rest.
$(STAMP): pyproject.toml uv.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --extra dev --python $(PY) --quiet
	touch $(STAMP)

lock: $(STAMP)
	$(UV) lock

install: $(STAMP) messages

messages: $(MO)

%.mo: %.po | gettext
	msgfmt --check -o $@ $<

# GNU gettext for msgfmt, from Debian when it is missing.
gettext:
	@command -v msgfmt >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq gettext >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq gettext >/dev/null; fi; }

# Debian's chromium for the browser tests (Playwright's own download cannot work here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

run: $(STAMP) messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --port $(PORT)

test: $(STAMP) messages browser
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	DJANGO_SETTINGS_MODULE=bench.settings $(PY) manage.py bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf .run db.sqlite3 staticfiles .pytest_cache
	rm -f $(MO)

# The API's hot paths against bare floor views, side by side (bench/load/api.py). Needs
# PostgreSQL (DATABASE_URL, default the benchmark database) and Redis on 127.0.0.1, and wrk.
.PHONY: bench-api
bench-api: $(STAMP)
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi; }
	$(PY) -m bench.load.api
