# Two set-up commands (see README): `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[api,dev,bench,sim]'
	@echo 'compiling the ruin and recreate (solver/fastrr.py, numba; once per installation)'
	$(BIN)/python -c 'from solver import fastrr; fastrr.warm_up()'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dispatch plan fixtures/demo.json --time-limit 10 --out demo-plan.json

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check dispatcher solver api tests bench
	$(BIN)/ruff format --check dispatcher solver api tests bench
	$(BIN)/mypy dispatcher solver api

clean:
	rm -rf $(VENV) demo-plan.json
