# The README's commands. Everything installs itself: only python3 is needed beforehand.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .uv
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# allotropy in an environment of its own (instrument_parser/; docs/ingestion.md says why)
PARSER_VENV := .parser-venv
DEMO_BATCHES ?= 24
DEMO_SEED ?= 7
export BIOTWIN_HOME ?= $(CURDIR)/.biotwin
export UV_PYTHON_DOWNLOADS := never
# the platform's certificate store, as pip uses it: a shell without SSL_CERT_FILE (env -i, cron)
# behind a TLS-inspecting proxy otherwise fails uv's downloads with "invalid peer certificate"
export UV_SYSTEM_CERTS ?= 1


.PHONY: postgres postgres-stop
.PHONY: install install-spark compare-engines bench-engines manifest demo test test-validation test-postgres test-spark test-repeat ui docs lint format bench bench-ingest bench-ingest-instruments bench-ingest-json bench-pipeline bench-incremental bench-twin-latency bench-twin-validation bench-growth bench-demo bench-peer bench-definitions clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(PARSER_VENV)/.installed: $(UV) instrument_parser/pyproject.toml instrument_parser/uv.lock
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(PARSER_VENV) $(UV) sync --frozen --project instrument_parser \
		--python "$$(command -v $(PYTHON))"
	touch $@

# (an environment that has the Spark engine keeps it: `uv sync` removes what it is not asked for)
$(VENV)/.installed: $(UV) pyproject.toml uv.lock $(PARSER_VENV)/.installed
	$(UV) sync --frozen $(if $(wildcard $(VENV)/.spark),--group spark) \
		--python "$$(command -v $(PYTHON))"
	touch $@

install: $(VENV)/.installed

# the Spark engine, only where it is used (docs/scale-out.md): Java 17 (scripts/java.sh
# installs Debian's if the machine has none) and the `spark` dependency group (pyspark,
# dbt-spark) into the project's environment
$(VENV)/.spark: $(VENV)/.installed pyproject.toml uv.lock scripts/java.sh
	bash scripts/java.sh
	$(UV) sync --frozen --group spark --python "$$(command -v $(PYTHON))"
	touch $@

install-spark: $(VENV)/.spark

# the dbt manifest the Dagster definitions read: prepared explicitly, never at import
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -path dbt_project/logs \
	-prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print)

$(MANIFEST): $(VENV)/.installed $(DBT_SOURCES)
	$(BIN)/python -c "from orchestration.dbt_cli import prepare_manifest; prepare_manifest(force=True)"

manifest: $(MANIFEST)

demo: manifest
	$(BIN)/biotwin demo --batches $(DEMO_BATCHES) --seed $(DEMO_SEED)

# the default suite (under 10 minutes on 2 cores); two steps of their own, which .ci/run also
# calls: the twin's statistical validation on the 80-batch plant (`make test-validation`), and
# the tests against a real PostgreSQL server that scripts/postgres.sh installs and starts for
# them (`make test-postgres`: readers through whole runs, the served marts, Dagster's storage)
test: manifest
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not validation_plant and not postgres and not spark"

test-validation: manifest
	$(BIN)/pytest -m validation_plant

test-postgres: manifest
	$(BIN)/pytest -m postgres

# the same plant built on DuckDB and on Spark (local[2]), every mart compared (make install-spark
# first, done here): a step of its own, like the two above
test-spark: manifest $(VENV)/.spark
	$(BIN)/pytest -m spark

# dbt on DuckDB against Spark local[2] from one ingestion, times and peak memory (JVM included);
# BENCH_BATCHES=400 for the large plant
bench-engines: manifest $(VENV)/.spark
	$(BIN)/python bench/engines.py --batches $${BENCH_BATCHES:-80}

# the comparison anyone can run: the 12-batch plant on both engines, a table per mart
compare-engines: manifest $(VENV)/.spark
	$(BIN)/biotwin compare-engines --home $(CURDIR)/.biotwin-engines

# the suite twice, in file order and shuffled with another PYTHONHASHSEED, compared test by
# test (tests/determinism.py); about twice the time of `make test`
test-repeat: manifest
	$(BIN)/python -m tests.determinism $${SEED:+--seed $$SEED}

ui: manifest
	$(BIN)/biotwin ui

# dbt's documentation of the demo warehouse as one static page (prints where it is); `make
# docs SERVE=1` also serves it on 127.0.0.1:8080
docs: manifest
	$(BIN)/biotwin docs $${SERVE:+--serve}

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# a local PostgreSQL under $$BIOTWIN_HOME/postgres on 127.0.0.1 (installed with apt-get when
# absent): prints the environment that serves the marts from it (docs/scale-out.md)
postgres:
	scripts/postgres.sh start

postgres-stop:
	scripts/postgres.sh stop

clean:
	rm -rf $(VENV) $(PARSER_VENV) $(TOOLS) .biotwin .pytest_cache

bench: install
	$(BIN)/python bench/generate.py --batches $${BENCH_BATCHES:-400}

# historian CSV ingestion vs plain DuckDB read_csv; generates a 400-batch CSV plant (~5 GB,
# ~4 min) under $$BENCH_PLANT (default /tmp/biotwin-bench-csv400) the first time
bench-ingest: install
	$(BIN)/python bench/ingest_historian.py $${BENCH_PLANT:+--plant $$BENCH_PLANT}

# instrument files per second through the parser workers (PLANT: a plant_builder home)
bench-ingest-instruments: install
	$(BIN)/python bench/ingest_instruments.py --plant $(PLANT)
	$(BIN)/python bench/ingest_instruments.py --plant $(PLANT) --workers 1

# the PI Web API responses of the demo's Basel site against a plain DuckDB read_json (make demo first)
bench-ingest-json: install
	$(BIN)/python bench/ingest_historian.py --format json --plant $${BIOTWIN_HOME:-.biotwin}

# ingestion + dbt build against a plain DuckDB load of the same files (same CSV plant as above)
bench-pipeline: manifest
	$(BIN)/python bench/pipeline.py $${BENCH_PLANT:+--plant $$BENCH_PLANT}

# one new day of historian files: the 400-batch warehouse against one of only that day's batches
bench-incremental: manifest
	$(BIN)/python bench/incremental_day.py $${BENCH_PLANT:+--plant $$BENCH_PLANT}

# new historian file -> updated twin monitoring and forecast, on the demo home (make demo first)
bench-twin-latency: manifest
	$(BIN)/python bench/twin_latency.py --home $${BIOTWIN_HOME:-.biotwin}

# forecast and monitoring on held-out batches of a demo home (e.g. 80 batches, see the script)
bench-twin-validation: install
	$(BIN)/python bench/twin_validation.py --home $${BIOTWIN_HOME:-.biotwin}

# `biotwin demo` into a fresh home, step by step (generation, ingestion, dbt, twin)
bench-demo: manifest
	$(BIN)/python bench/demo.py

# one site's historian aligned by a hand-written pandas script beside biotwin's ingestion + dbt
# of the same files (the demo home by default: make demo first)
bench-peer: manifest
	$(BIN)/python bench/peer_pandas.py --plant $${BIOTWIN_HOME:-.biotwin} $${SITE:+--site $$SITE}

# the growth model's fit and bootstrap per process, on the demo home (make demo first)
bench-growth: install
	$(BIN)/python bench/growth_fit.py --home $${BIOTWIN_HOME:-.biotwin}

# how long the Dagster definitions take to import (every run, the UI's code location)
bench-definitions: manifest
	$(BIN)/python bench/definitions_load.py
