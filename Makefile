# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest pytest-postgres bench browser-deps postgres-deps redis-deps r-deps gettext-deps messages clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the browser tests; installed when missing (needs root, as on CI).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL server for the second test run; installed when missing (needs root).
postgres-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing Debian's postgresql for the PostgreSQL test run"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# Debian's redis-server for the tests of the Redis task queue and cache; installed when missing.
redis-deps:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "Installing Debian's redis-server for the task-queue tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# R with lme4, lmerTest and emmeans from Debian: the outside reference of the mixed models.
r-deps:
	@Rscript -e 'for (p in c("lme4", "lmerTest", "emmeans")) if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)' >/dev/null 2>&1 || { \
	  echo "Installing Debian's R, lme4, lmerTest and emmeans for the reference tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    r-base-core r-cran-lme4 r-cran-lmertest r-cran-emmeans >/dev/null; }

# GNU gettext (msgfmt) compiles the translations of the participant pages; installed when missing.
gettext-deps:
	@command -v msgfmt >/dev/null 2>&1 || { \
	  echo "Installing Debian's gettext for the translations"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; }

# The participant pages' translations (locale/<language>/LC_MESSAGES/django.po), compiled to
# the .mo files Django reads; the .mo files are build output, not committed.
messages: install gettext-deps
	$(PY) manage.py compilemessages --ignore=.venv --ignore=var >/dev/null

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check analysis

typecheck: install
	$(VENV)/bin/mypy analysis config listening

# REQUIRE_R_REFERENCE=1: the reference tests fail rather than skip without R.
pytest: install browser-deps redis-deps r-deps messages
	REQUIRE_R_REFERENCE=1 $(VENV)/bin/pytest -n 2 --dist loadfile

# The suite again on a throwaway PostgreSQL server (browser and analysis tests excluded:
# they check the pages and the statistics, not the database); the server is always
# stopped, even on failure.
pytest-postgres: install postgres-deps redis-deps messages
	@dir=$$(mktemp -d /tmp/pgtest.XXXXXX); \
	  trap 'scripts/pg_test_server.sh stop "$$dir"' EXIT; \
	  url=$$(scripts/pg_test_server.sh start "$$dir") || exit 1; \
	  echo "PostgreSQL test server: $$url"; \
	  DATABASE_URL="$$url" $(VENV)/bin/pytest -n 2 --dist loadfile -m "not browser" --ignore=tests/analysis

test: lint typecheck pytest pytest-postgres

# Prepare a seeded demo study and serve it with its background worker (Ctrl-C stops both).
DEMO_HOST ?= 127.0.0.1
DEMO_PORT ?= 8000
demo: install messages
	$(PY) manage.py migrate --noinput
	$(PY) manage.py make_demo_study --base-url http://$(DEMO_HOST):$(DEMO_PORT)
	@echo "Serving on http://$(DEMO_HOST):$(DEMO_PORT)/ with the task worker (Ctrl-C stops both)."
	@trap 'kill 0' INT TERM EXIT; \
	  $(PY) manage.py db_worker --no-reload & \
	  $(PY) manage.py runserver $(DEMO_HOST):$(DEMO_PORT) --noreload

bench: install
	$(PY) benchmarks/bench_analysis.py
	$(PY) benchmarks/bench_preparation.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
