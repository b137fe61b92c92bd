# Two set-up commands (see README): `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The board's and the API docs' offline assets (Swagger UI, ReDoc, world outline), pinned by
# api/board/package-lock.json; npm ci with no install scripts, nothing fetched at run time.
ASSETS := api/board/node_modules/.installed

.PHONY: demo test lint install clean chromium

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[api,dev,bench,sim]'
	@echo 'compiling the ruin and recreate (solver/fastrr.py, numba; once per installation)'
	$(BIN)/python -c 'from solver import fastrr; fastrr.warm_up()'
	touch $(STAMP)

$(ASSETS): api/board/package-lock.json
	@command -v npm >/dev/null || { echo 'npm is needed for the board and docs assets (apt-get install -y npm)'; exit 1; }
	npm ci --prefix api/board --omit=peer --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(ASSETS)

install: $(STAMP) $(ASSETS)

# The browser tests (tests/e2e) drive Debian's Chromium; install it when missing and apt is there.
chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; } \
		|| echo 'chromium could not be installed: the browser tests will be skipped'; fi

demo: $(STAMP) $(ASSETS)
	$(BIN)/dispatch plan fixtures/demo.json --time-limit 10 --out demo-plan.json

test: $(STAMP) $(ASSETS)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check dispatcher solver api tests bench
	$(BIN)/ruff format --check dispatcher solver api tests bench
	$(BIN)/mypy dispatcher solver api

clean:
	rm -rf $(VENV) demo-plan.json api/board/node_modules
