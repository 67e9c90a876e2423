# Two commands on a fresh machine: `make setup`, then `make demo` (or `make test`).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# Airflow's environment (home, DAG folder, port) is set in one place,
# deltran/airflow_env.py: always start it through `deltran airflow ...`.

.PHONY: setup test-deps demo test test-fast lint lint-sql lint-sql-fix airflow bench-parse bench-clearing bench-intraday bench-history bench-recon bench db-url db-stop clean

setup: $(VENV)/.installed  ## create the virtual environment and install everything

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	$(BIN)/deltran airflow db migrate >/dev/null
	touch $@

test-deps:  ## system packages the tests use beyond the venv: Debian's Chromium for the browser test (needs root)
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version)"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "test-deps: run as root (apt-get install chromium); without it the browser test skips outside CI"; exit 1; fi

demo: setup  ## generate a business day and run it through the platform's DAGs
	$(BIN)/deltran demo

test: setup  ## the whole suite, slow end-to-end tests included
	$(BIN)/python -m pytest

lint: setup  ## ruff (lint and format check), mypy, sqlfluff on the dbt models; .pre-commit-config.yaml runs the same
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(MAKE) --no-print-directory lint-sql

# sqlfluff's dbt templater compiles the models with dbt, which connects to the
# warehouse: the profile's variables come from deltran (embedded server or DATABASE_URL).
# It takes about 1 CPU minute for the 29 models (3 to 6 minutes of wall time on 2 busy cores).
DBT_PROFILE_ENV = $(BIN)/python -c "from deltran import db; from deltran.warehouse.dbt import profile_env; \
	print(' '.join(f'{k}={v}' for k, v in profile_env(db.database_url()).items()))"

lint-sql: setup  ## sqlfluff on the dbt models (dbt templater, postgres dialect; config in .sqlfluff)
	env $$($(DBT_PROFILE_ENV)) $(BIN)/sqlfluff lint dbt/models

lint-sql-fix: setup  ## sqlfluff's automatic fixes on the dbt models
	env $$($(DBT_PROFILE_ENV)) $(BIN)/sqlfluff fix dbt/models

test-fast: setup  ## unit tests only (no database, dbt, GX or Airflow)
	$(BIN)/python -m pytest -m "not slow and not db and not airflow"

airflow: setup  ## the Airflow UI on http://localhost:8080 (login printed at start)
	$(BIN)/deltran airflow standalone

bench-parse: setup
	$(BIN)/python bench/bench_parse.py

bench-clearing: setup
	$(BIN)/python bench/bench_clearing.py

bench-intraday: setup  ## an intraday (tier 2) run with 10,000 new notifications, beside bare parse + COPY
	$(BIN)/python bench/bench_intraday.py

bench-history: setup  ## day 30 of a 30-day history against day 1 (demo-sized days; DAYS=5 for a quick look)
	$(BIN)/python bench/bench_history.py $(if $(DAYS),--days $(DAYS))

bench-recon: setup  ## end of day for 1,000,000 bank entries vs 1,000,000 ledger postings (ENTRIES=100000 for a smaller day)
	$(BIN)/python bench/bench_recon.py $(if $(ENTRIES),--entries $(ENTRIES))

bench: bench-parse bench-clearing bench-intraday bench-history bench-recon

db-url: setup
	@$(BIN)/deltran db url

db-stop:
	@$(BIN)/deltran db stop

clean:  ## remove generated state (database, Airflow home, var/); keeps the venv
	-$(BIN)/deltran db stop
	rm -rf .pgdata .airflow var
