# DL Foundations — every command sets up .venv first (pinned torch + tools from requirements-dev.txt).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: course test export data bench site lecture kernel

## A switch given on the command line, $(call on,NAME): 1, yes or true turn it on; 0, no, false or nothing leave it off;
## anything else stops make with a message.
on = $(if $(filter 1 yes true YES TRUE True Yes,$($(1))),1,$(if $(filter-out 0 no false NO FALSE False No,$($(1))),$(error \
     $(1)=$($(1)) is not a switch: write $(1)=1 to turn it on, or leave it out)))
SITE_JS := site/node_modules/.installed
.DEFAULT_GOAL := course

## Set-up, once: .venv with the pinned tools, the course installed in it (editable). The stamp holds a digest of the
## two files it was made from, so a newer file with the same content (a git checkout, an editor's save) re-installs
## nothing: it only refreshes the stamp. Offline, nothing here reaches for the package index once .venv exists.
SETUP_DIGEST = cat requirements-dev.txt pyproject.toml | sha256sum | cut -c1-64
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	@if [ -f $@ ] && [ "$$(cat $@)" = "$$($(SETUP_DIGEST))" ]; then touch $@; else \
	  set -e; $(PYTHON) -m venv $(VENV); \
	  $(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt; \
	  $(PY) -m pip install -q --disable-pip-version-check --no-deps -e .; \
	  $(SETUP_DIGEST) > $@; fi

## The website's MathJax, pinned in site/package-lock.json (the only npm package; the site serves it itself).
$(SITE_JS): site/package.json site/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: the website needs it once to fetch MathJax (Debian: apt-get install npm)" >&2; exit 1; }
	npm ci --prefix site --no-audit --no-fund --loglevel=error
	touch $@

## The main job: export exp/ from the notebooks, execute every lecture in order on the embedded default (outputs written
## back into nbs/), then once more in quick mode; both times go into the README's run-time table. Nothing is downloaded:
## a section whose optional data is missing says how to get it. `make course DOWNLOAD=1` lets lectures download.
course: $(VENV)/.installed
	DLF_DATASET=embedded DLF_OFFLINE=$(if $(call on,DOWNLOAD),0,1) $(PY) -m tools.run_course --times

## Every test, each lecture executed once (by nbval, in a simulated Colab session: see tools/pytest_lectures.py), in
## quick mode on the embedded data with downloads off, on 2 workers (a test file or a notebook each); the browser test
## installs Debian's chromium and chromium-driver when missing, as root.
test: $(VENV)/.installed $(SITE_JS)
	DLF_QUICK=1 DLF_DATASET=embedded DLF_OFFLINE=1 $(PY) -m pytest tests nbs --nbval-lax --lectures -n 2 --dist loadfile

## Regenerate exp/ from nbs/ after editing an exported cell (every export cell is compiled, every module imported; exp/ is never left broken).
export: $(VENV)/.installed
	$(PY) -m tools.export

## A new lecture: make lecture NN=11 NAME=resnets TITLE="Residual networks" (skeleton, README rows, exercise stubs).
lecture: $(VENV)/.installed
	$(PY) -m tools.new_lecture "$(NN)" "$(NAME)" "$(TITLE)"

## The course's .venv as a Jupyter kernel ("Python (DL Foundations)"), to use the course from notebooks in any folder.
kernel: $(VENV)/.installed
	$(PY) -m ipykernel install --user --name dl-foundations --display-name "Python (DL Foundations)"

## Remake the small data sets in data/ (files that exist and differ are kept unless FORCE=1).
data: $(VENV)/.installed
	$(PY) -m helpers.make_data $(if $(call on,FORCE),--force)

## Benchmarks: prints one table and writes bench/results.md. Measured section by section on this 2-core machine:
## fashion + cnn 6.2 min, distributed 4.7 min (a whole run took 5.1–5.7 min before the CNN and distributed sections).
bench: $(VENV)/.installed
	$(PY) -m bench.run

## The course website, offline, into build/site/ (published by .github/workflows/site.yml).
site: $(VENV)/.installed $(SITE_JS)
	$(PY) -m tools.site
