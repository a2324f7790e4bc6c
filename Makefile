# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PLAINRUN_DATA_DIR ?= var
export PLAINRUN_DATABASE_URL ?= sqlite:///var/plainrun.db

.PHONY: run test chaos install chromium tesseract iproute2 lint bench bench-all clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate the embedded SQLite database, set up the examples, serve on :8080
run: $(STAMP) tesseract
	$(BIN)/plainrun serve --examples

## Debian's chromium for the browser tests (Playwright drives it; no browser download)
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

## Debian's iproute2 for the many-host test (network namespaces: `ip netns`, veth pairs, a bridge)
iproute2:
	command -v ip >/dev/null || (apt-get update -qq && apt-get install -y -qq iproute2)

## Debian's Tesseract and its English data for OCR (the documents book reads scans with them)
tesseract:
	test -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata || (apt-get update -qq && apt-get install -y -qq tesseract-ocr tesseract-ocr-eng)

## make test: install, check types and style (make lint), then run every test (PostgreSQL tests use
## the local server); then, alone (they restart PostgreSQL), the reliability tests in their short form
test: $(STAMP) chromium tesseract iproute2 lint
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup
	CHAOS_RUNS=200 $(BIN)/python -m pytest -p no:cacheprovider tests/chaos

## make chaos: the reliability tests in full (1,000 runs); they restart PostgreSQL, run them alone
chaos: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -s tests/chaos

## make lint: ruff's checks and formatting, and mypy --strict over the package
lint: $(STAMP)
	$(BIN)/ruff check plainrun tests bench
	$(BIN)/ruff format --check plainrun tests bench
	$(BIN)/mypy

## make bench: the language and executor benchmarks (each prints ratios against a baseline run beside it)
bench: $(STAMP)
	$(BIN)/python bench/language.py
	$(BIN)/python bench/executor.py

## make bench-all: everything in docs/benchmarks.md: the peers side by side (needs their virtualenvs,
## see bench/peers.py), lists at 1M runs, 40 statements, a worker's memory over 100k runs, invoices read (~1 h)
bench-all: $(STAMP) tesseract
	$(BIN)/python bench/documents.py
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/lists.py
	$(BIN)/python bench/steps.py --db sqlite
	$(BIN)/python bench/steps.py --db postgres
	$(BIN)/python bench/memory.py

clean:
	rm -rf var .pytest_cache
