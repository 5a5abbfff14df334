# Two set-up commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_PORT ?= 8000
SANDBOX_PORT ?= 8765

.PHONY: install demo test test-fast lint format check bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	DEMO_PORT=$(DEMO_PORT) SANDBOX_PORT=$(SANDBOX_PORT) ./scripts/demo.sh

test: $(STAMP)
	$(PY) -W error::DeprecationWarning:wagtail_xpm -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: $(STAMP)
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Every bench/ script, then docs/benchmarks.md and docs/benchmarks/*.png (about 25 minutes on
# 2 cores; see bench/report.py). `make bench BENCH_ARGS=--quick`: small sizes, var/bench/report/.
bench: $(STAMP)
	$(PY) bench/report.py $(BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache .ruff_cache
