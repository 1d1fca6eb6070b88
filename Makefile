# The two commands a new user needs: `make demo` and `make test`. Everything else is plumbing.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# CPU machines (CI, laptops) take the CPU wheel; set TORCH_SPEC= to keep a CUDA torch you already have:
# the venv then sees the system's site-packages, so pip finds that torch installed and keeps it.
TORCH_SPEC ?= torch==2.13.0
VENV_FLAGS := $(if $(TORCH_SPEC),,--system-site-packages)

.PHONY: install demo test check lint bench soak pictures clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV_FLAGS) $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ]; then $(BIN)/pip install -q "$(TORCH_SPEC)"; fi
	# setuptools warns on every editable install that a folder named like the package may shadow it: that
	# folder is the package itself here, so the warning is noise to a newcomer (and only that one is hidden).
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install -q -e ".[train,serve,test,lint]"
	touch $(STAMP)

demo: install
	$(BIN)/cockpit demo

# The suite runs on the machine's cores, up to 4 (pytest-xdist). Its time is real trainers started on the tiny
# model, one torch thread each (tests/conftest.py): on 2 cores two workers took 17 min 51 s against 31 min 47 s
# one at a time (bench/README.md, "The suite on two workers"). A file's tests stay on one worker (loadfile):
# they share its module fixtures. `pytest` alone still runs them one at a time.
JOBS = $$($(BIN)/python -c "import os; n = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count(); print(max(1, min(4, n or 1)))")

test: install lint
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile

# The fast tier for your own loop (under 3 minutes on two cores): lint, then the tests that start no trainer
# and no terminal app: the advisor, readers, config, data audit, history, run directory and report logic.
QUICK_TESTS := tests/test_advisor.py tests/test_advisor_consistency.py tests/test_advisor_registry.py \
	tests/test_advisor_sop.py tests/test_causes.py tests/test_config.py tests/test_config_patches.py \
	tests/test_control_values.py tests/test_data_audit.py tests/test_data_load.py \
	tests/test_fuzz_readers.py tests/test_history.py tests/test_memory_reader.py tests/test_metric_values.py \
	tests/test_preload.py tests/test_report_bands.py tests/test_rundir.py tests/test_shared_modules.py \
	tests/test_study_stages.py tests/test_log_cache.py
check: install lint
	$(BIN)/python -m pytest -q -m "not slow" $(QUICK_TESTS)

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
