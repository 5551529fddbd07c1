"""Pivot vs DVC benchmark harness (`make bench`); not collected by pytest.

    .venv/bin/python -m tests.benchmarks.run              # full run, writes BENCHMARKS.md
    .venv/bin/python -m tests.benchmarks.run --quick      # N=100 only, a few minutes
    .venv/bin/python -m tests.benchmarks.run --sizes 100,500 --only noop_status,noop_repro
    .venv/bin/python -m tests.benchmarks.run --report-only  # re-render from results.json
    .venv/bin/python -m tests.benchmarks.run --only hash --output /tmp/h.md  # raw results: /tmp/h.md.json

Modules: generator (the synthetic project, both tools), dvc_env (.bench-venv, fast-prepare,
cache), measure (wall time + peak RSS via os.wait4), common (config, rows, alternation),
scenarios (project scenarios), micro (start-up, imports, hashing, Dask), remote (push/pull
on moto S3), profiling (cProfile), report (BENCHMARKS.md), rebuild (raw results read back from a report), run (CLI),
raw_dask (Dask floor).
Generated projects and caches live in tests/benchmarks/.work/ (gitignored).
"""
