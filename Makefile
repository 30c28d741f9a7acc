# Lianyungang One Map: two commands on a fresh Debian machine.
#   make demo   install everything, start the local PostGIS, migrate, load the sample, serve
#   make test   install everything, then lint (ruff), type-check (mypy) and test (pytest)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     ?= .venv
PY       := $(VENV)/bin/python
ONEMAP   := $(VENV)/bin/onemap
SAMPLE   ?= data/samples/small
HOST     ?= 127.0.0.1
PORT     ?= 8000
# OS packages the platform needs; each is installed only when missing.
OS_PACKAGES := postgresql-15 postgresql-15-postgis-3 postgresql-contrib pgbackrest fonts-noto-cjk gdal-bin chromium chromium-driver python3-qgis

.PHONY: help os-deps venv install vendor demo test lint typecheck pytest bench db-start db-stop clean

help:
	@echo "make demo   run the platform with its sample data at http://$(HOST):$(PORT)"
	@echo "make test   run ruff, mypy and the test suite against a real local PostGIS"
	@echo "make bench  run the benchmarks (bench/)"

os-deps:
	@missing=""; for p in $(OS_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "OS packages present"; exit 0; fi; \
	echo "installing OS packages:$$missing"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; \
	else echo "error: missing$$missing and neither root nor sudo: install them, or set ONEMAP_DATABASE_URL to an existing PostGIS" >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	  || { echo "error: apt-get could not install$$missing: install them by hand, or set ONEMAP_DATABASE_URL to an existing PostGIS" >&2; exit 1; }

# A Python >= 3.12: $PYTHON, python3.13/python3.12 on PATH, or one installed by pyenv.
$(VENV)/bin/python:
	@py=""; for c in "$$PYTHON" python3.13 python3.12 python3 $$HOME/.pyenv/versions/3.1[3-9]*/bin/python $$HOME/.pyenv/versions/3.12*/bin/python; do \
	  [ -n "$$c" ] || continue; \
	  if "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then echo "error: no Python >= 3.12 found: install one (apt, pyenv) or set PYTHON=/path/to/python3.12" >&2; exit 1; fi; \
	echo "creating $(VENV) with $$("$$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')"; \
	"$$py" -m venv $(VENV)

venv: $(VENV)/bin/python

# Reinstalled when pyproject.toml changes.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

install: os-deps $(VENV)/.installed

# The HTML pages' front-end files (services/web/static/vendor, committed, so no install needs
# npm): refreshed from the npm registry at the versions package-lock.json pins. To upgrade,
# change a pin in package.json, `npm install --package-lock-only --ignore-scripts`, then this.
vendor: $(VENV)/.installed
	@command -v npm >/dev/null || { echo "installing npm"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null; }
	npm ci --ignore-scripts --omit=peer --no-audit --no-fund
	$(PY) -m services.web.vendor

demo: install
	$(ONEMAP) keys init
	$(ONEMAP) db start
	$(ONEMAP) db upgrade
	$(ONEMAP) samples load $(SAMPLE) --replace
	$(ONEMAP) basemap seed --levels 8-11
	$(ONEMAP) plans conflicts urban_plan landuse_plan > /dev/null  # the page shows the latest run
	$(ONEMAP) backup create --type full  # WAL is archived from db start on; a first backup to recover from
	@echo ""
	@echo "  the map: http://$(HOST):$(PORT)/  (一张图: base maps, plans, grid, conflicts, site check)"
	@echo "  health:  http://$(HOST):$(PORT)/health"
	@echo "  OGC API: http://$(HOST):$(PORT)/ogc  (QGIS: Layer > Add Layer > Add WFS / OGC API - Features Layer)"
	@echo "  WMTS:    http://$(HOST):$(PORT)/wmts/1.0.0/WMTSCapabilities.xml  (Tianditu paths: /vec_c/wmts, /DataServer?T=vec_c&x=&y=&l=)"
	@echo "  backups: $(ONEMAP) backup list   (docs/operations-backup.md)"
	@echo "  stop the database afterwards with: $(ONEMAP) db stop"
	@echo ""
	$(ONEMAP) serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: install lint typecheck pytest

bench: install
	$(PY) -m bench $(BENCH_ARGS)

db-start: install
	$(ONEMAP) db start

db-stop:
	$(ONEMAP) db stop

clean:
	-$(ONEMAP) db stop
	rm -rf $(VENV) .onemap .pytest_cache .mypy_cache .ruff_cache
