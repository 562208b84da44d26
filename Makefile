# The README's two set-up commands are `make demo` and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.installed

.PHONY: demo test test-all lint bench check install

$(PY):
	python3 -m venv $(VENV)

# torch is installed first and pinned, so that no later step can resolve a bare `torch`
# to a multi-GB CUDA build.
$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt torch
	$(PIP) install --quiet -c constraints.txt -e '.[dev,demo]'
	touch $(STAMP)

install: $(STAMP)

# The main job: every op checked against torch (a table, all rows ok), then the training demo.
demo: $(STAMP)
	$(VENV)/bin/scratchnn check
	$(VENV)/bin/scratchnn demo

check: $(STAMP)
	$(VENV)/bin/scratchnn check

# One worker per core; `make test-all` adds the slow tests.
test: $(STAMP)
	$(PY) -m pytest -q -n 2

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 -m ''

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy

bench: $(STAMP)
	$(VENV)/bin/scratchnn bench
