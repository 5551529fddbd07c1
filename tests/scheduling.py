"""The order `make test` hands test files to its two xdist processes.

`make test` runs with `--dist loadfile --no-loadscope-reorder`: each file goes whole to one
process, in collection order. xdist's default reorder puts files with the most tests first,
which left the few-but-long files (real DVC, 200-project leak check, clusters) to the end,
where one process ran them alone while the other sat idle. Longest first (the classic LPT
rule) lets the many short files fill in at the end instead.

SECONDS: each file's summed setup+call+teardown time from `--durations=150` of a full run on
2 cores under load (only relative sizes matter). A file not listed counts as 0 and keeps its
collection place after the listed ones. Re-measure when a file grows a lot; a stale number
only costs balance, never correctness.
"""

from __future__ import annotations

SECONDS: dict[str, int] = {
    "e2e/test_correctness.py": 262,
    "migrate/test_import_dvc.py": 131,
    "reliability/test_catalogue.py": 63,
    "executor/test_dask_run.py": 54,
    "executor/test_cluster_faults.py": 54,
    "remote/test_noop_pull.py": 48,
    "remote/test_batched.py": 48,
    "exp/test_exp.py": 46,
    "e2e/test_concurrency.py": 45,
    "reliability/test_leaks.py": 44,
    "fresh/test_fresh_clone.py": 40,
    "migrate/test_export_dvc.py": 38,
    "notebooks/test_kernel_reruns.py": 36,
    "fresh/test_gc_history.py": 33,
    "executor/test_isolated_s3_requests.py": 31,
    "project/test_params_refresh.py": 30,
    "planner/test_skipmemo.py": 29,
    "test_history.py": 28,
    "reliability/test_tampered_objects.py": 28,
    "remote/test_s3_epoch.py": 27,
    "remote/test_interrupted.py": 26,
    "fresh/test_modified_data.py": 26,
    "executor/test_dask_faults.py": 26,
    "test_watch.py": 25,
    "executor/test_live_output.py": 25,
    "planner/test_speedups.py": 24,
    "e2e/test_fuzz.py": 24,
    "report/test_jsonl.py": 23,
    "remote/test_repro_pull.py": 22,
    "remote/test_integrity.py": 20,
    "remote/test_cluster_s3.py": 20,
    "show/test_declaration.py": 19,
    "notebooks/test_notebooks.py": 19,
    "show/test_get_diff.py": 18,
    "remote/test_status_remote.py": 17,
    "cluster/test_scripts.py": 17,
    "remote/test_verify_gc.py": 16,
    "show/test_plots.py": 14,
    "show/test_metrics_params.py": 14,
    "e2e/test_dep_changes_during_run.py": 14,
    "test_readme.py": 13,
    "project/test_loadcache.py": 13,
    "notebooks/test_kernel_cluster_s3.py": 13,
    "fresh/test_pull_selects.py": 13,
    "fresh/test_root_imports.py": 10,
    "e2e/test_features.py": 10,
    "cli/test_completion.py": 10,
    "remote/test_push_pull.py": 9,
    "remote/test_config.py": 9,
    "reliability/test_interrupt.py": 9,
    "fresh/test_shell_stages.py": 8,
    "fingerprint/test_code.py": 8,
}


def file_weight(nodeid: str) -> int:
    """``nodeid`` is "tests/dir/test_x.py::test_y[...]"."""
    path = nodeid.split("::", 1)[0]
    return SECONDS.get(path.removeprefix("tests/"), 0)
