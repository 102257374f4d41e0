# Two entry points for a new machine: `make dev` (the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test lint dev bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy components/cloudflare_byoip

dev: $(STAMP)
	$(PY) scripts/dev_up.py

bench: $(STAMP)
	$(PY) bench/validate.py
	$(PY) bench/provider.py

clean:
	rm -rf $(VENV) .pulumi-state .emulator
