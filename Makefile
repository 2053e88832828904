# Everything a fresh Debian/Ubuntu machine with Python >= 3.10 needs, in a virtual
# environment (.venv): `make demo` runs the demo, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Root installs system packages directly; anyone else through sudo.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench notebooks system-deps browser-deps clean

# The Graphviz `dot` binary (pictures) and Python's venv module, from apt, if missing.
system-deps:
	@command -v dot >/dev/null 2>&1 && $(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  echo "Installing system packages: graphviz python3-venv"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q graphviz python3-venv; }

# Debian's Chromium and its driver, from apt, if missing: the browser test of the
# walkthrough page drives them (`make test` only; the demo does not need a browser).
browser-deps:
	@[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || { \
	  echo "Installing system packages: chromium chromium-driver"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver; }

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-demo: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,notebooks]'
	touch $@

$(VENV)/.installed-bench: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[bench]'
	touch $@

demo: system-deps $(VENV)/.installed-demo
	$(BIN)/python -m nn.demo

# Benchmarks against micrograd and hand-written floats; writes benchmarks/RESULTS.md.
bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks

# Re-execute every lesson in place (outputs saved), then regenerate and execute the solutions.
notebooks: system-deps $(VENV)/.installed-test
	PYTHONPATH=$(CURDIR) $(BIN)/python notebooks/build_solutions.py --execute

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy

test: system-deps browser-deps $(VENV)/.installed-test lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis .ruff_cache
