# og-preview: `make test` and `make run` set up .venv themselves on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORPUS ?= ../shared/corpus

.DEFAULT_GOAL := help
.PHONY: help setup run test lint fmt demo bench accuracy clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)  ## create .venv and install og-preview with its dev tools

run: $(STAMP)  ## preview fixtures/urls.txt (needs internet) into ~/.cache/og-preview/, then show the counts
	@echo "$$ .venv/bin/og-preview batch fixtures/urls.txt" >&2
	@-$(BIN)/og-preview batch fixtures/urls.txt
	@echo "$$ .venv/bin/og-preview show --stats" >&2
	@$(BIN)/og-preview show --stats

test: $(STAMP)  ## run the whole test suite (loopback only, no internet)
	@$(BIN)/pytest -q

lint: $(STAMP)  ## ruff check, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)  ## format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP)  ## offline: serve a small bundled site on 127.0.0.1, preview it into demo.db
	@$(BIN)/python demo/run.py

bench: $(STAMP)  ## benchmark batch throughput, CPU and memory on 127.0.0.1
	$(BIN)/python bench/bench.py --corpus $(CORPUS)

accuracy: $(STAMP)  ## score `og-preview parse` on the shared corpus (when present)
	@if [ -d "$(CORPUS)" ]; then \
		OGP_BIN=$(BIN)/og-preview $(PYTHON) ../shared/tools/score.py --corpus $(CORPUS) og-preview; \
	else echo "no corpus at $(CORPUS): nothing to score"; fi

clean:  ## remove .venv and the tool caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
