# Two commands for a fresh machine with Python 3 and make:
#   make demo   creates .venv, installs GradientTools, writes ./gradienttools-demo/
#   make test   creates .venv, installs the test extras, runs the whole test suite
#   make app    creates .venv, installs the app extra, serves the page on the CT phantom
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := gradienttools-demo

APP_PORT ?= 8080

.PHONY: demo test app lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# stamps re-run the install when pyproject.toml changes
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[app]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/gradienttools demo --output $(DEMO_DIR)

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q Testing

# Ctrl-C stops it; APP_PORT=0 picks a free port
app: $(VENV)/.app-installed
	$(BIN)/gradienttools app --port $(APP_PORT)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check GradientToolsLib GradientTools Testing benchmarks

bench: $(VENV)/.test-installed
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache
