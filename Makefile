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
	$(BIN)/pip install -q -e '.[api,dev,bench,sim,cluster]'
	@echo 'compiling the ruin and recreate (solver/fastrr.py, numba; once per installation)'
	$(BIN)/python -c 'from solver import bounded, fastrr; fastrr.warm_up(); bounded.warm_up()'
	touch $(STAMP)

$(ASSETS): api/board/package-lock.json
	@command -v npm >/dev/null || { echo 'npm is needed for the board and docs assets (apt-get install -y npm)'; exit 1; }
	npm ci --prefix api/board --omit=peer --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(ASSETS)

# A local OSRM for the road-travel tests (docs/travel.md): the programs of PyPI's osrm-bindings
# wheel (they need only libc/libstdc++) and Monaco's extract from its source package. Once;
# offline it says so and the OSRM end-to-end tests are skipped.
OSRM := $(VENV)/osrm
OSRM_VERSION := 26.10.0
OSRM_STAMP := $(OSRM)/.ready

$(OSRM_STAMP): | $(STAMP)
	@mkdir -p $(OSRM)
	@echo 'osrm: downloading osrm-bindings $(OSRM_VERSION) (programs, car profile, Monaco extract)'
	@if $(BIN)/pip install -q --retries 1 --timeout 30 --upgrade --no-deps --only-binary :all: \
	        --python-version 3.12 --platform manylinux_2_28_x86_64 --target $(OSRM)/wheel \
	        osrm-bindings==$(OSRM_VERSION) \
	    && $(BIN)/pip download -q --retries 1 --timeout 30 --no-deps --no-binary osrm-bindings \
	        -d $(OSRM)/sdist osrm-bindings==$(OSRM_VERSION) \
	    && tar -xzf $(OSRM)/sdist/osrm_bindings-$(OSRM_VERSION).tar.gz -C $(OSRM) \
	        --strip-components=3 osrm_bindings-$(OSRM_VERSION)/test/data/monaco.osm.pbf; \
	then rm -rf $(OSRM)/sdist && touch $@; \
	else echo 'osrm: could not download osrm-bindings (offline?): OSRM tests will be skipped'; fi

install: $(STAMP) $(ASSETS) $(OSRM_STAMP)

# The browser tests (tests/e2e) drive Debian's Chromium; install it when missing and apt is there.
chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium >/dev/null; } \
		|| echo 'chromium could not be installed: the browser tests will be skipped'; fi

demo: $(STAMP) $(ASSETS)
	$(BIN)/dispatch plan fixtures/demo.json --time-limit 10 --out demo-plan.json

test: $(STAMP) $(ASSETS) $(OSRM_STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check dispatcher solver api tests bench
	$(BIN)/ruff format --check dispatcher solver api tests bench
	$(BIN)/mypy dispatcher solver api

clean:
	rm -rf $(VENV) demo-plan.json api/board/node_modules
