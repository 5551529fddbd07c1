"""The order `make test` hands test files to its two xdist processes.

`make test` runs with `--dist loadfile --no-loadscope-reorder`: each file goes whole to one
process, in collection order. xdist's default reorder puts files with the most tests first,
which left the few-but-long files (real DVC, 200-project leak check, clusters) to the end,
where one process ran them alone while the other sat idle. Longest first (the classic LPT
rule) lets the many short files fill in at the end instead.

SECONDS: each file's summed setup+call+teardown time from `--durations=0` of a full run on
2 cores (session 7, a quiet machine; only relative sizes matter; session 8 re-weighed the files it
changed or added from a --durations=0 run, scaled to this one). A file not listed counts as 0 and keeps its
collection place after the listed ones. Re-measure when a file grows a lot; a stale number
only costs balance, never correctness.
"""

from __future__ import annotations

SECONDS: dict[str, int] = {
    "e2e/test_correctness.py": 100,
    "planner/test_planshot.py": 75,
    "reliability/test_catalogue.py": 93,
    "planner/test_skipmemo.py": 22,
    "reliability/test_tampered_objects.py": 39,
    "executor/test_cluster_faults.py": 38,
    "executor/test_cluster_reconnect.py": 23,
    "reliability/test_hostile_paths.py": 36,
    "project/test_loadcache.py": 31,
    "migrate/test_import_dvc.py": 30,
    "fresh/test_gc_history.py": 29,
    "remote/test_packs.py": 31,
    "fresh/test_fresh_clone.py": 27,
    "executor/test_dask_run.py": 27,
    "remote/test_batched.py": 25,
    "e2e/test_features.py": 25,
    "exp/test_exp.py": 24,
    "show/test_get_diff.py": 24,
    "test_watch.py": 22,
    "e2e/test_concurrency.py": 21,
    "remote/test_verify_gc.py": 21,
    "remote/test_push_pull.py": 19,
    "project/test_params_refresh.py": 19,
    "executor/test_isolated_s3_requests.py": 16,
    "remote/test_noop_pull.py": 15,
    "executor/test_dask_faults.py": 15,
    "show/test_metrics_params.py": 15,
    "remote/test_cluster_s3.py": 15,
    "e2e/test_dep_changes_during_run.py": 15,
    "remote/test_repro_pull.py": 15,
    "notebooks/test_notebooks.py": 14,
    "notebooks/test_kernel_reruns.py": 14,
    "cluster/test_scripts.py": 14,
    "cli/test_doctor.py": 17,
    "cli/test_install_hooks.py": 10,
    "cli/test_move.py": 7,
    "migrate/test_export_dvc.py": 13,
    "notebooks/test_kernel_cluster_s3.py": 13,
    "show/test_plots.py": 13,
    "executor/test_live_output.py": 11,
    "exp/test_exp_share.py": 10,
    "remote/test_s3_epoch.py": 10,
    "show/test_declaration.py": 10,
    "executor/test_dask_window.py": 9,
    "cli/test_completion.py": 9,
    "remote/test_interrupted.py": 9,
    "fresh/test_pull_selects.py": 9,
    "fresh/test_shell_stages.py": 9,
    "reliability/test_leaks.py": 9,
    "fresh/test_modified_data.py": 9,
    "test_history.py": 8,
    "executor/test_local_pool.py": 8,
    "remote/test_config.py": 8,
    "fresh/test_gitignore_outputs.py": 8,
    "e2e/test_fuzz.py": 7,
    "planner/test_speedups.py": 7,
    "fresh/test_root_imports.py": 7,
    "fingerprint/test_code.py": 6,
    "remote/test_integrity.py": 6,
    "report/test_jsonl.py": 5,
    "graph/test_graph.py": 5,
    "test_readme.py": 5,
    "test_leftovers.py": 4,
    "remote/test_record_index.py": 4,
    "remote/test_status_remote.py": 4,
    "k8s/test_manifests.py": 3,
    "cache/test_s3sign.py": 3,
    "cache/test_s3_light_put.py": 3,
    "migrate/test_resolve.py": 3,
    "reliability/test_interrupt.py": 3,
    "executor/test_plugin.py": 3,
    "cache/test_odb.py": 3,
    "cli/test_broken_pipe.py": 2,
    "notebooks/test_kernel_output.py": 2,
    "test_yamlemit.py": 2,
    "reliability/test_orphans.py": 2,
    "migrate/test_dvc2_layout.py": 2,
    "cache/test_lazy_s3_store.py": 1,
    "fresh/test_install_extras.py": 1,
    "migrate/test_notes.py": 1,
    "cache/test_run_cache.py": 1,
    "structure/test_imports.py": 1,
    "project/test_discovery.py": 1,
    "reliability/test_cluster_connect.py": 1,
    "executor/test_long_lived_workers.py": 1,
}


def file_weight(nodeid: str) -> int:
    """``nodeid`` is "tests/dir/test_x.py::test_y[...]"."""
    path = nodeid.split("::", 1)[0]
    return SECONDS.get(path.removeprefix("tests/"), 0)
