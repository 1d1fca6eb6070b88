# The two commands a new user needs: `make demo` and `make test`. Everything else is plumbing.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# CPU machines (CI, laptops) take the CPU wheel; set TORCH_SPEC= to keep a CUDA torch you already have:
# the venv then sees the system's site-packages, so pip finds that torch installed and keeps it.
TORCH_SPEC ?= torch==2.13.0
VENV_FLAGS := $(if $(TORCH_SPEC),,--system-site-packages)

.PHONY: install demo test lint bench soak pictures clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/pip install -q "$(TORCH_SPEC)"; fi
	$(BIN)/pip install -q -e ".[train,serve,test,lint]"
	touch $(STAMP)

demo: install
	$(BIN)/cockpit demo

test: install lint
	$(BIN)/python -m pytest -q

# Ruff's rules and the import contracts (the layers) in pyproject.toml.
lint: install
	$(BIN)/ruff check
	$(BIN)/lint-imports
	$(BIN)/ruff format --check

bench: install
	$(BIN)/python bench/run_all.py

soak: install
	$(BIN)/python -m pytest -q -m soak tests/test_soak.py

# The README's pictures (docs/pictures/): the cockpit's SVG screenshots, the report and `cockpit serve` in
# headless chromium, and a real lr sweep on the demo model (~1 minute on two cores).
pictures: install
	OMP_NUM_THREADS=1 $(BIN)/python bench/pictures.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache .import_linter_cache
