# Two commands for a fresh machine with Python 3 and make:
#   make demo   creates .venv, installs GradientTools, writes ./gradienttools-demo/
#   make test   creates .venv, installs the test extras, runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := gradienttools-demo

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# stamps re-run the install when pyproject.toml changes
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/gradienttools demo --output $(DEMO_DIR)

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q Testing

lint: $(VENV)/.test-installed
	$(BIN)/ruff check GradientToolsLib GradientTools Testing benchmarks

bench: $(VENV)/.test-installed
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
