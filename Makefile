# Zhongcao: every target creates .venv on first use, so a fresh clone needs only `make serve` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
export FLASK_APP := zhongcao

.PHONY: serve dev test test-fast install lock migrate import bench-pages bench-search bench-checkout clean

# constraints.txt pins every dependency to the release the suite last passed with, so a fresh clone
# installs what CI tested, not whatever was published since.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Resolve every dependency afresh (the newest releases pyproject.toml allows) into constraints.txt;
# then run `make test` and commit the file if the suite passes.
LOCK_VENV := .venv-lock
lock:
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet -e '.[test]'
	{ echo "# Exact versions that make test last passed with (pip install -c): run 'make lock' to move to newer releases."; \
	  $(LOCK_VENV)/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf $(LOCK_VENV)

migrate: $(STAMP)
	$(BIN)/zhongcao migrate

import: migrate
	$(BIN)/zhongcao import content/

serve: import
	$(BIN)/zhongcao reindex
	$(BIN)/gunicorn --config gunicorn.conf.py --workers 2 --worker-class sync --bind 127.0.0.1:$(PORT) \
		--access-logfile - 'zhongcao:create_app()'

dev: import
	$(BIN)/flask --app 'zhongcao:create_app()' run --debug --host 127.0.0.1 --port $(PORT)

# Both cores: every test makes its own database, index and ports, so workers never meet.
PYTEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m 'not browser' -x -q $(PYTEST_ARGS)

bench-pages: import
	$(BIN)/python bench/pages.py

# Synthetic 100k products + 20k articles into both search backends (BENCH_SCALE=0.1 for a quick run).
bench-search: $(STAMP)
	$(BIN)/python bench/search.py

# The HTTP checkout (add, review, place, sandbox pay) against gunicorn with 2 sync workers, 2 and 16
# clients, on SQLite and (with ZHONGCAO_TEST_DATABASE_URL or ZHONGCAO_BENCH_DATABASE_URL) PostgreSQL.
bench-checkout: $(STAMP)
	$(BIN)/python bench/checkout.py

clean:
	rm -rf $(VENV) instance data .pytest_cache

# Until the first release the schema is one migration, regenerated from the models.
regen-migration: $(STAMP)
	$(BIN)/python scripts/regen_initial_migration.py
