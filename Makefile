# DL Foundations — every command sets up .venv first (pinned torch + tools from requirements-dev.txt).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: course test export data bench
.DEFAULT_GOAL := course

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

## The main job: export exp/ from the notebooks, then execute every lecture in order on the embedded default.
course: $(VENV)/.installed
	DLF_DATASET=embedded $(PY) -m tools.run_course

## Every test: export sync, unit tests, notebooks with nbdev-test and nbval (quick mode, embedded data, offline).
test: $(VENV)/.installed
	DLF_QUICK=1 DLF_DATASET=embedded DLF_OFFLINE=1 $(PY) -m pytest tests nbs --nbval-lax

## Regenerate exp/ from nbs/ after editing an exported cell (every export cell is compiled first; exp/ is never left broken).
export: $(VENV)/.installed
	$(PY) -m tools.export

## Remake the small data sets in data/ (files that exist and differ are kept unless FORCE=1).
data: $(VENV)/.installed
	$(PY) -m helpers.make_data $(if $(filter 1,$(FORCE)),--force)

## Benchmarks: prints one table and writes bench/results.md (5.1–5.7 min in four runs on this 2-core machine).
bench: $(VENV)/.installed
	$(PY) -m bench.run
