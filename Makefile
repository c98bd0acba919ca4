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
	@mkdir -p .run/broker/out .run/broker/processed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo
	@trap 'kill 0' EXIT; \
	$(VENV)/bin/celery -A loyalty_site worker --loglevel=INFO --concurrency=2 >.run/worker.log 2>&1 & \
	$(VENV)/bin/celery -A loyalty_site beat --loglevel=INFO --schedule .run/celerybeat-schedule >.run/beat.log 2>&1 & \
	echo; echo "  Site:          http://127.0.0.1:$(PORT)/"; \
	echo "  Member portal: http://127.0.0.1:$(PORT)/portal/"; \
	echo "  Staff portal:  http://127.0.0.1:$(PORT)/staff/   Admin: http://127.0.0.1:$(PORT)/admin/"; \
	echo "  API docs:      http://127.0.0.1:$(PORT)/api/v1/docs/   Health: http://127.0.0.1:$(PORT)/healthz"; \
	echo "  Celery worker and beat log to .run/worker.log and .run/beat.log. Ctrl-C stops everything."; echo; \
	$(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

test: $(STAMP) browser
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) manage.py bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf .run db.sqlite3 staticfiles .pytest_cache
