# aquifer: `make demo` runs the whole story; `make test` runs the whole suite. Both bootstrap .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

export SPARK_LOCAL_IP ?= 127.0.0.1
export GX_ANALYTICS_ENABLED ?= false
export PYTHONDONTWRITEBYTECODE ?= 1

.PHONY: install services test demo lint fmt bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev,ml,catalog]'
	@rm -f $(VENV)/.installed-*
	@touch $@

services:
	@bash scripts/services.sh

test: install services
	$(VENV)/bin/ruff check aquifer tests bench examples
	$(PY) -m pytest -q --durations=20

demo: install services
	$(VENV)/bin/aquifer demo

lint: install
	$(VENV)/bin/ruff check aquifer tests bench examples

fmt: install
	$(VENV)/bin/ruff format aquifer tests bench examples

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
