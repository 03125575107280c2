# DL Foundations — every command sets up .venv first (pinned torch + tools from requirements-dev.txt).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: course test export data bench site
SITE_JS := site/node_modules/.installed
.DEFAULT_GOAL := course

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

## The website's MathJax, pinned in site/package-lock.json (the only npm package; the site serves it itself).
$(SITE_JS): site/package.json site/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the website needs it once to fetch MathJax (Debian: apt-get install npm)" >&2; exit 1; }
	npm ci --prefix site --no-audit --no-fund --loglevel=error
	touch $@

## The main job: export exp/ from the notebooks, then execute every lecture in order on the embedded default.
course: $(VENV)/.installed
	DLF_DATASET=embedded $(PY) -m tools.run_course

## Every test: export sync, unit tests, notebooks with nbdev-test and nbval, every lecture in JupyterLab in headless
## Chromium (tests/test_browser.py installs Debian's chromium + chromium-driver when missing, as root), and the website
## (quick mode, embedded data, offline).
test: $(VENV)/.installed $(SITE_JS)
	DLF_QUICK=1 DLF_DATASET=embedded DLF_OFFLINE=1 $(PY) -m pytest tests nbs --nbval-lax

## Regenerate exp/ from nbs/ after editing an exported cell (every export cell is compiled first; exp/ is never left broken).
export: $(VENV)/.installed
	$(PY) -m tools.export

## Remake the small data sets in data/ (files that exist and differ are kept unless FORCE=1).
data: $(VENV)/.installed
	$(PY) -m helpers.make_data $(if $(filter 1,$(FORCE)),--force)

## Benchmarks: prints one table and writes bench/results.md. Measured section by section on this 2-core machine:
## fashion + cnn 6.2 min, distributed 4.7 min (a whole run took 5.1–5.7 min before the CNN and distributed sections).
bench: $(VENV)/.installed
	$(PY) -m bench.run

## The course website, offline, into build/site/ (published by .github/workflows/site.yml).
site: $(VENV)/.installed $(SITE_JS)
	$(PY) -m tools.site
