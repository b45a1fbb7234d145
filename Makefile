# The two commands of the README: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## run the whole system on its embedded default (Synapse on SQLite, demo data)
run: $(STAMP)
	$(BIN)/dieuhanh up

## lint, then run every test (add DIEUHANH_TEST_POSTGRES_URL=… to test on PostgreSQL too);
## test files run in parallel, each worker with a Synapse of its own
test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/import_city.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
