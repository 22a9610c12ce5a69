# acctsync_pipelines — the two commands a fresh machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SAMPLE_START := 2025-06-01
SAMPLE_END   := 2025-06-21

# Vendor specs and samples are read from ../shared/vendor, never copied here.
export ACCTSYNC_VENDOR_DIR ?= $(abspath $(CURDIR)/../shared/vendor)

.PHONY: install demo test ui status sample check-defs clean-data

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# Runs every implemented source over the committed sample through Dagster, settles the bank
# statement's deposits against the receivables, then summarises. Without data/acctsync.yaml (or
# ACCTSYNC_CONFIG) the sample café's settlement rules are used: acctsync_pipelines/lib/sample/demo_config.yaml.
demo: install
	ACCTSYNC_HOME=$(CURDIR)/data DAGSTER_HOME=$(CURDIR)/data/dagster_home \
		ACCTSYNC_CONFIG=$${ACCTSYNC_CONFIG:-$(if $(wildcard data/acctsync.yaml),$(CURDIR)/data/acctsync.yaml,$(CURDIR)/acctsync_pipelines/lib/sample/demo_config.yaml)} \
		$(BIN)/acctsync run --source all --start $(SAMPLE_START) --end $(SAMPLE_END)
	@echo
	@ACCTSYNC_HOME=$(CURDIR)/data $(BIN)/acctsync status

check-defs: install
	cd $(CURDIR) && VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg check defs --use-active-venv

test: install check-defs
	$(BIN)/pytest -q

# The Dagster UI (and its daemon, for schedules, sensors and backfills) on 127.0.0.1 only.
ui: install
	ACCTSYNC_HOME=$(CURDIR)/data DAGSTER_HOME=$(CURDIR)/data/dagster_home \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

status: install
	ACCTSYNC_HOME=$(CURDIR)/data $(BIN)/acctsync status

# Rewrites data/inbox from the deterministic generators (the committed sample).
sample: install
	$(BIN)/acctsync sample --home $(CURDIR)/data

# Removes what the pipeline wrote (warehouse, exports, run history); keeps the inbox.
clean-data:
	rm -rf data/warehouse.duckdb data/warehouse.duckdb.wal data/exports data/published
	find data/dagster_home -mindepth 1 ! -name dagster.yaml -exec rm -rf {} +

# Benchmark: the pipeline (a Dagster backfill of a synthetic year) against DuckDB alone reading the
# same files. Reports only; see docs/performance.md. Work files go to bench/ (git-ignored).
.PHONY: bench bench-small
bench: install
	$(BIN)/python -m acctsync_pipelines.bench --size full

bench-small: install
	$(BIN)/python -m acctsync_pipelines.bench --size small

# The reliability suite at full scale (make test runs the same tests at a small scale); prints a figures table.
.PHONY: reliability
reliability: install
	ACCTSYNC_RELIABILITY=full $(BIN)/pytest -q acctsync_pipelines_tests/reliability
