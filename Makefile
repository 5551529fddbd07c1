# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench fuzz clean venv bytecode

# constraints.txt pins the S3 stack, which pip otherwise resolves by downloading hundreds of
# botocore wheels.
$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "need python3.11 on PATH (or set PYTHON=...)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

venv: $(STAMP)

# Pivot's own modules, byte-compiled once. pip compiles what it installs, but an editable
# install leaves pivot/ as source, and where PYTHONDONTWRITEBYTECODE is set (this workplace sets
# it) every CLI run and every worker process compiled ~100 modules again: ~0.09 s of CPU each.
# checked-hash: a pyc is used only while its source's hash matches, so an edit is never stale.
bytecode: $(STAMP)
	$(PY) -m compileall -q --invalidation-mode checked-hash pivot

demo: bytecode
	$(PY) examples/run_demo.py

test: bytecode
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder tests --ignore=tests/benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check pivot tests
	$(VENV)/bin/mypy --strict pivot

bench: bytecode
	$(PY) -m tests.benchmarks.run

# The long fuzz run has no per-test timeout (the 300 s default killed it before it finished).
# Sequences: FUZZ_EXAMPLES on the inline executor, FUZZ_DASK_EXAMPLES on a LocalCluster.
FUZZ_EXAMPLES ?= 2000
FUZZ_DASK_EXAMPLES ?= 200
# The inline sequences are the long pole, so they are split over two processes (hypothesis
# seeds each at random, so the halves explore different projects); the Dask run goes beside
# them. The run fails if any of the three fails; the count lines printed add up.
FUZZ_HALF = $$(( ($(FUZZ_EXAMPLES) + 1) / 2 ))
FUZZ_PYTEST = $(PY) -m pytest -q -p no:cacheprovider --timeout=0 tests/e2e/test_fuzz.py -s
fuzz: bytecode
	PIVOT_FUZZ_EXAMPLES=$(FUZZ_HALF) $(FUZZ_PYTEST) -k "not on_dask" & first=$$!; \
	PIVOT_FUZZ_EXAMPLES=$(FUZZ_HALF) $(FUZZ_PYTEST) -k "not on_dask" & second=$$!; \
	PIVOT_FUZZ_DASK_EXAMPLES=$(FUZZ_DASK_EXAMPLES) $(FUZZ_PYTEST) -k on_dask; dask=$$?; \
	wait $$first; first=$$?; wait $$second; second=$$?; \
	echo "fuzz: inline runs exited $$first and $$second, dask run exited $$dask"; \
	test $$first -eq 0 -a $$second -eq 0 -a $$dask -eq 0

clean:
	rm -rf $(VENV) build *.egg-info
