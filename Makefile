# Two set-up commands: `make demo` and `make test` (see README.md).
#
# One stack at a time: `make test PYTHON=3.13 DJANGO=6.1` builds (once) and uses
# .venvs/py3.13-django6.1; plain `make test` uses .venv with the default interpreter and the
# newest Django it allows. PYTHON is a version (3.11, 3.12, 3.13: found on PATH or in pyenv)
# or an interpreter command. The whole matrix: `nox` (noxfile.py) or `bash .ci/run`.
PYTHON ?=
DJANGO ?=
DEMO_PORT ?= 8000
SANDBOX_PORT ?= 8765
PYTEST_ARGS ?=

ifeq ($(PYTHON)$(DJANGO),)
VENV := .venv
else
VENV := .venvs/py$(or $(PYTHON),default)-django$(or $(DJANGO),newest)
endif
PY := $(VENV)/bin/python
comma := ,
# Django 6.1 -> "Django>=6.1,<6.2"; nothing -> whatever pyproject allows.
DJANGO_PIN := $(if $(DJANGO),Django>=$(DJANGO)$(comma)<$(shell echo $(DJANGO) | awk -F. '{printf "%d.%d", $$1, $$2 + 1}'))

# Each set of extras is installed once per venv (stamp files), again when pyproject changes.
$(VENV)/.created:
	scripts/make-venv "$(VENV)" "$(PYTHON)"
	touch $@

$(VENV)/.installed-%: pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$*]' $(if $(DJANGO_PIN),'$(DJANGO_PIN)')
	touch $@

.PHONY: install demo test test-fast smoke screenshots lint format check build bench clean

install: $(VENV)/.installed-test

# The demo needs the sandbox and the Slack bot's code, not the test or benchmark tools.
demo: $(VENV)/.installed-demo
	DEMO_PORT=$(DEMO_PORT) SANDBOX_PORT=$(SANDBOX_PORT) PY=$(PY) ./scripts/demo.sh

# The whole suite. Deprecation warnings attributed to wagtail_xpm or slackbot are errors
# (pyproject's filterwarnings).
test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTEST_ARGS)

# Everything but the tests marked slow (the install test, the reliability suite, the browser,
# the whole admin crawls, the permission matrix beyond the app's URLs, the 50 MB stream: see
# tests/conftest.py), on three pytest-xdist workers: a quarter of the suite's time is spent
# waiting (Retry-After, subprocesses, servers), so a third worker keeps both cores of a
# 2-core machine busy; a little over a minute there when quiet (CONTRIBUTING.md). With
# REDIS_URL set it runs serially, as the workers would share Redis.
TEST_FAST_WORKERS ?= $(if $(REDIS_URL),0,3)
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -m "not slow" -n $(TEST_FAST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The few-minute subset that CI runs on the stacks between the oldest and the newest.
smoke: $(VENV)/.installed-test
	$(PY) -m pytest -m smoke $(PYTEST_ARGS)

# Retake docs/screenshots/*.png with the browser tests (the suite itself writes under var/).
screenshots: $(VENV)/.installed-test
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -m browser $(PYTEST_ARGS)

# ruff, the import contracts of docs/architecture.md (pyproject's [tool.importlinter]) and
# no import cycles.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) scripts/import-cycles

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# System checks and migrations, with Django's and Wagtail's deprecations as errors in our code.
check: $(VENV)/.installed-test
	$(PY) scripts/strict-manage check
	$(PY) scripts/strict-manage makemigrations --check --dry-run

# The sdist and wheel in dist/, checked by twine.
build: $(VENV)/.installed-test
	rm -rf dist
	$(PY) -m build --outdir dist . >/dev/null
	$(VENV)/bin/twine check --strict dist/*

# Every bench/ script, then docs/benchmarks.md and docs/benchmarks/*.png (about 25 minutes on
# 2 cores, and 8 more for bench/tenants.py, which runs only with DATABASE_URL on PostgreSQL
# and REDIS_URL; see bench/report.py). `make bench BENCH_ARGS=--quick`: small sizes,
# var/bench/report/.
bench: $(VENV)/.installed-bench
	$(PY) bench/report.py $(BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache .ruff_cache dist build
