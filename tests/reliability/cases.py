"""The catalogue: malformed inputs and faults, each a Case for the harness.

Grouped as the issue lists them: pipeline definitions, on-disk files, runtime
faults, CLI misuse, and silent successes that must not be silent.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess

from tests.reliability.harness import PIPELINE, Case, Project, Step

NON_UTF8 = b"\xff\xfe\x00 not text \x80\x81\n"
GARBAGE = bytes(range(256)) * 4
STAGES = ".pivot/stages"


def _pipeline(extra: str) -> Step:
    def fault(p: Project) -> None:
        p.write("pipeline.py", PIPELINE.lstrip() + "\n" + extra)
    return fault


def _replace(rel: str, old: str, new: str) -> Step:
    def fault(p: Project) -> None:
        path = p.root / rel
        text = path.read_text()
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new))
    return fault


def _put(rel: str, content: str | bytes) -> Step:
    def fault(p: Project) -> None:
        path = p.root / rel
        if path.exists():
            path.chmod(0o644)
        p.write(rel, content)
    return fault


def _restore(*rels: str) -> Step:
    def repair(p: Project) -> None:
        for rel in rels:
            p.restore(rel)
    return repair


def _remove(*rels: str) -> Step:
    def step(p: Project) -> None:
        for rel in rels:
            path = p.root / rel
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    return step


def _steps(*steps: Step) -> Step:
    def step(p: Project) -> None:
        for s in steps:
            s(p)
    return step


def _no_outputs(*rels: str) -> Step:
    """A failed stage leaves none of its outputs, and `pivot checkout` brings the previous ones back."""
    def check(p: Project) -> None:
        left = [rel for rel in rels if os.path.lexists(p.root / rel)]
        assert not left, f"a failed stage left outputs: {left}"
    return check


def _global_config(content: bytes) -> Step:
    def fault(p: Project) -> None:
        path = p.home / ".config" / "pivot" / "config.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return fault


def _fix_global_config(p: Project) -> None:
    (p.home / ".config" / "pivot" / "config.yaml").write_text("{}\n")


def _read_only_cache(p: Project) -> None:
    """A real read-only cache: a read-only bind mount as root (who ignores mode bits), chmod otherwise."""
    cache = p.root / ".pivot" / "cache"
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", cache, cache], check=True)
        p.cleanups.append(lambda: subprocess.run(["umount", cache], check=True))
        subprocess.run(["mount", "-o", "remount,ro,bind", cache], check=True)
        return
    folders = [cache, *(d for d in cache.rglob("*") if d.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    p.cleanups.append(lambda: [f.chmod(0o755) for f in folders])


def _full_cache(p: Project) -> None:
    """Writes into the cache fail as on a full disk: a 64 KiB tmpfs as root, else RLIMIT_FSIZE.

    The stage's 256 KiB output is a hard link to a file made beforehand, so the
    stage itself writes nothing; only Pivot's copy into the cache hits the limit.
    """
    (p.root / "big.bin").write_bytes(os.urandom(256 << 10))
    cache = p.root / ".pivot" / "cache"
    if os.geteuid() == 0:
        saved = p.root.parent / "cache-saved"
        shutil.copytree(cache, saved, symlinks=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", cache], check=True)
        p.cleanups.append(lambda: subprocess.run(["umount", cache], check=True))
        p.cleanups.append(lambda: shutil.rmtree(saved))
        shutil.copytree(saved, cache, symlinks=True, dirs_exist_ok=True)
        return

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (128 << 10, 128 << 10))
    p.preexec = limit


BIG_STAGE = '''
pipeline.register_cmd("big", cmd="ln big.bin out/big.bin", deps=["big.bin"], outs=["out/big.bin"])
'''


def _new_params(p: Project) -> None:
    p.write("params.yaml", "shout:\n  times: 3\n")  # new outputs: the cache must take new objects


CASES = [
    # -- pipeline definitions: exit 2, one line naming pipeline.py --------------------------
    Case("pipeline-syntax-error", _pipeline("def broken(:\n"), ("repro",), 2,
         r"pipeline\.py.*SyntaxError", repair=_restore("pipeline.py")),
    Case("pipeline-import-error", _pipeline("import no_such_module_here\n"), ("status",), 2,
         r"pipeline\.py.*no_such_module_here", repair=_restore("pipeline.py")),
    Case("pipeline-raises", _pipeline("1 / 0\n"), ("list",), 2,
         r"pipeline\.py.*ZeroDivisionError", repair=_restore("pipeline.py")),
    Case("pipeline-bad-annotation", _pipeline(
        "def bad(x: Annotated[str, 'not a Dep']) -> Annotated[str, Out('o.txt', loaders.Text())]:\n"
        "    return x\npipeline.register(bad)\n"), ("status",), 2, r"pipeline\.py.*bad", repair=_restore("pipeline.py")),
    Case("pipeline-duplicate-stage", _pipeline("pipeline.register(shout)\n"), ("status",), 2,
         r"pipeline\.py.*shout.*already registered", repair=_restore("pipeline.py")),
    Case("pipeline-cycle", _pipeline(
        'pipeline.register_cmd("a", cmd="true", deps=["b.txt"], outs=["a.txt"])\n'
        'pipeline.register_cmd("b", cmd="true", deps=["a.txt"], outs=["b.txt"])\n'), ("repro",), 2,
         r"cycle", repair=_restore("pipeline.py")),
    Case("pipeline-output-clash", _pipeline(
        'pipeline.register_cmd("again", cmd="true", outs=["out/count.txt"])\n'), ("status",), 2,
         r"out/count\.txt", repair=_restore("pipeline.py")),
    Case("pipeline-output-in-state-dir", _pipeline(
        'pipeline.register_cmd("sneaky", cmd="true", outs=[".pivot/x.txt"])\n'), ("status",), 2,
         r"\.pivot", repair=_restore("pipeline.py")),
    Case("pipeline-no-pipeline", _put("pipeline.py", "x = 1\n"), ("status",), 2,
         r"pipeline\.py.*Pipeline", repair=_restore("pipeline.py")),

    # -- on-disk files ------------------------------------------------------------------------
    # A damaged lock reads as "never ran" (one warning); the run cache then restores the stage.
    Case("lock-garbage-bytes", _put(f"{STAGES}/shout.lock", GARBAGE), ("repro",), 0,
         r"shout\.lock.*never run"),
    Case("lock-non-utf8", _put(f"{STAGES}/shout.lock", NON_UTF8), ("repro",), 0,
         r"shout\.lock.*never run"),
    Case("lock-wrong-types", _replace(f"{STAGES}/shout.lock", "code:\n", "code: [1, 2]\nold_code:\n"),
         ("repro",), 0, r"shout\.lock.*never run"),
    Case("lock-wrong-shape", _put(f"{STAGES}/count.lock", "- just\n- a list\n"), ("repro",), 0,
         r"count\.lock.*never run"),
    Case("lock-bad-digest", _replace(f"{STAGES}/shout.lock", "hash: xxh3_128:ae", "hash: xxh3_128:ZZ/../ae"),
         ("repro",), 0, r"shout\.lock.*never run"),
    Case("run-record-garbage", _steps(_remove(f"{STAGES}/shout.lock"),
                                      lambda p: [_put(str(f.relative_to(p.root)), NON_UTF8)(p)
                                                 for f in (p.root / ".pivot/cache/runs").rglob("*") if f.is_file()]),
         ("repro",), 0, r"unreadable run record"),
    Case("state-db-garbage", _put(".pivot/state.lmdb/data.mdb", GARBAGE * 8), ("status",), 0,
         r"state DB .* rebuilt"),
    Case("config-non-utf8", _put(".pivot/config.yaml", NON_UTF8), ("status",), 2,
         r"config\.yaml: not UTF-8", repair=_restore(".pivot/config.yaml")),
    Case("config-not-a-mapping", _put(".pivot/config.yaml", "- a\n- b\n"), ("status",), 2,
         r"config\.yaml: expected a mapping", repair=_restore(".pivot/config.yaml")),
    Case("config-bad-yaml", _put(".pivot/config.yaml", "cache: [unclosed\n"), ("status",), 2,
         r"config\.yaml: invalid YAML at line", repair=_restore(".pivot/config.yaml")),
    Case("config-wrong-type", _put(".pivot/config.yaml", "cache:\n  type: 7\n"), ("repro",), 2,
         r"config\.yaml: cache\.type", repair=_restore(".pivot/config.yaml")),
    Case("config-unknown-protocol", _put(".pivot/config.yaml", "cache:\n  dir: s4://bucket/cache\n"), ("status",), 2,
         r"cache\.dir: s4://bucket/cache: unknown protocol 's4'", repair=_restore(".pivot/config.yaml")),
    Case("config-bad-timeout", _put(".pivot/config.yaml", "cluster:\n  connect_timeout: soon\n"),
         ("repro", "-f", "--cluster", "tcp://127.0.0.1:9"), 2, r"cluster\.connect_timeout 'soon'",
         repair=_restore(".pivot/config.yaml")),
    Case("global-config-non-utf8", _global_config(NON_UTF8), ("status",), 2,
         r"\.config/pivot/config\.yaml: not UTF-8", repair=_fix_global_config),
    Case("params-non-utf8", _put("params.yaml", NON_UTF8), ("status",), 2,
         r"params\.yaml: not UTF-8", repair=_restore("params.yaml")),
    Case("params-wrong-type", _put("params.yaml", "shout:\n  times: many\n"), ("repro",), 2,
         r"params\.yaml: key 'shout': times", repair=_restore("params.yaml")),
    Case("params-wrong-shape", _put("params.yaml", "shout: 3\n"), ("status",), 2,
         r"params\.yaml: key 'shout' must be a mapping", repair=_restore("params.yaml")),
    Case("pvt-bad-hash", _replace("words.txt.pvt", "hash: xxh3_128:", "hash: xxh3_128:zz"), ("checkout",), 2,
         r"words\.txt\.pvt: not a valid \.pvt file.*not a digest", repair=_restore("words.txt.pvt"),
         then=("checkout",)),
    Case("pvt-non-utf8", _put("words.txt.pvt", NON_UTF8), ("status",), 2,
         r"words\.txt\.pvt: not a valid \.pvt file", repair=_restore("words.txt.pvt")),
    Case("pvt-wrong-shape", _put("words.txt.pvt", "- 1\n- 2\n"), ("checkout",), 2,
         r"words\.txt\.pvt: not a valid \.pvt file", repair=_restore("words.txt.pvt"), then=("checkout",)),
    Case("pivotignore-non-utf8", _put(".pivotignore", NON_UTF8), ("status",), 2,
         r"\.pivotignore", repair=_remove(".pivotignore")),

    # -- runtime faults: exit 1, no outputs of the failed stage, previous ones restorable -------
    Case("stage-raises", _replace("pipeline.py", "return words.upper()", "raise RuntimeError('boom'); return words.upper()"),
         ("repro", "-f"), 1, r"RuntimeError: boom", check=_no_outputs("out/shout.txt"),
         repair=_restore("pipeline.py"), then=("checkout",)),
    Case("shell-exit-code", _replace("pipeline.py", 'cmd="wc -c < out/shout.txt > out/count.txt"',
                                     'cmd="wc -c < out/shout.txt > out/count.txt; exit 3"'),
         ("repro",), 1, r"exit code 3", check=_no_outputs("out/count.txt"),
         repair=_restore("pipeline.py")),
    Case("shell-one-of-two-outputs", _pipeline(
        'pipeline.register_cmd("pair", cmd="echo one > out/one.txt", deps=["words.txt"],'
        ' outs=["out/one.txt", "out/two.txt"])\n'), ("repro",), 1, r"did not produce 'out/two\.txt'",
         check=_no_outputs("out/one.txt", "out/two.txt"), repair=_restore("pipeline.py")),
    Case("file-for-directory-output", _replace("pipeline.py", '"mkdir -p out/parts", "cp out/count.txt out/parts/a.txt"',
                                               '"cp out/count.txt out/parts"'),
         ("repro",), 1, r"output 'out/parts/' is declared a folder .* but the stage wrote a file", check=_no_outputs("out/parts"),
         repair=_restore("pipeline.py")),
    Case("stage-killed", _replace("pipeline.py", "return words.upper()",
                                  "import os, signal; os.kill(os.getpid(), signal.SIGKILL); return words.upper()"),
         ("repro", "-f"), 1, r"shout", check=_no_outputs("out/shout.txt"), repair=_restore("pipeline.py")),
    Case("read-only-cache", _steps(_new_params, _read_only_cache), ("repro",), 1,
         r"storing 'out/shout\.txt' in the cache failed: Read-only file system|Permission denied",
         check=_no_outputs("out/shout.txt"), then=("repro",)),
    Case("full-cache", _steps(_pipeline(BIG_STAGE), _full_cache), ("repro",), 1,
         r"storing 'out/big\.bin' in the cache failed: (No space left on device|File too large)",
         check=_no_outputs("out/big.bin")),
    Case("temp-files-of-killed-run", _steps(_put("out/.shout.txt.pivot-0123456789ab", "half"),
                                            _put("out/.parts.pivot-feedbeefcafe/a.txt", "half")),
         ("repro",), 0, r"skipped",
         check=_no_outputs("out/.shout.txt.pivot-0123456789ab", "out/.parts.pivot-feedbeefcafe")),

    # -- nothing silent -------------------------------------------------------------------------
    # A fresh clone's tracked input that the cache holds is placed before planning (issue 12).
    Case("missing-tracked-file", _remove("words.txt"), ("repro",), 0, r"", then=("verify",)),
    Case("missing-tracked-not-cached", _steps(_remove("words.txt"), _remove(".pivot/cache/files")), ("repro",), 1,
         r"words\.txt.*`pivot pull`", repair=lambda p: p.write("words.txt", "hello world\n")),
    Case("missing-untracked-dep", _replace("pipeline.py", 'Dep("words.txt"', 'Dep("nothere.txt"'), ("repro",), 1,
         r"nothere\.txt does not exist.*`pivot track nothere\.txt`",
         repair=lambda p: p.write("nothere.txt", "hello world\n")),
    Case("downstream-of-blocked", _replace("pipeline.py", 'Dep("words.txt"', 'Dep("nothere.txt"'), ("repro",), 1,
         r"blocked count: upstream blocked \(shout\)", repair=lambda p: p.write("nothere.txt", "hello world\n")),
    Case("params-key-typo", _put("params.yaml", "shoutt:\n  times: 3\n"), ("status",), 0,
         r"params\.yaml: key 'shoutt'.*did you mean 'shout'\?"),
    Case("track-inside-state-dir", lambda p: None, ("track", ".pivot/config.yaml"), 2,
         r"\.pivot/config\.yaml: inside \.pivot/", then=("status",)),

    # -- CLI misuse -----------------------------------------------------------------------------
    Case("unknown-target", lambda p: None, ("repro", "no_such_stage"), 2, r"unknown stage 'no_such_stage'"),
    Case("track-missing-file", lambda p: None, ("track", "nope.csv"), 2, r"nope\.csv: no such file"),
    Case("remote-unknown-protocol", lambda p: None, ("remote", "add", "r", "foo://bucket/x"), 2,
         r"foo://bucket/x: unknown protocol 'foo'", then=("remote", "list")),
    Case("remote-unknown-protocol-in-config",
         _put(".pivot/config.yaml", "remotes:\n  r: foo://bucket/x\n"), ("push",), 2,
         r"remote 'r'.*foo://bucket/x: unknown protocol", repair=_restore(".pivot/config.yaml"), then=("status",)),
    Case("cluster-malformed", lambda p: None, ("repro", "-f", "--cluster", "not an address"), 2,
         r"--cluster: 'not an address' is not a scheduler address"),
    Case("cluster-unknown-scheme", lambda p: None, ("repro", "-f", "--cluster", "http://127.0.0.1:8786"), 2,
         r"--cluster: 'http://127.0.0.1:8786': unknown scheme 'http'"),
    Case("cluster-refused", lambda p: None, ("repro", "-f", "--cluster", "tcp://127.0.0.1:{refused}"), 2,
         r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:\d+ \(Connection refused\)"),
    Case("cluster-garbage-server", lambda p: None, ("repro", "-f", "--cluster", "{garbage}"), 2,
         r"tcp://127\.0\.0\.1:\d+ is not a Dask scheduler"),
    Case("cluster-silent-server", _put(".pivot/config.yaml", "cluster:\n  connect_timeout: 1\n"),
         ("repro", "-f", "--cluster", "{silent}"), 2, r"sent no Dask handshake within 1 s"),
]

ENV_CASES = [
    Case("pivot-cluster-garbage", lambda p: p.env.update(PIVOT_CLUSTER="garbage"), ("repro", "-f"), 2,
         r"PIVOT_CLUSTER: 'garbage' is not a scheduler address",
         repair=lambda p: p.env.pop("PIVOT_CLUSTER")),
]

