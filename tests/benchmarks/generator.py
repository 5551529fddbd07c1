"""Write one synthetic project twice: as Pivot `pipeline.py` files and as DVC `dvc.yaml` files.

Shape (N stages, N a multiple of 10, split over ten sub-pipelines p0..p9 of M = N/10):
  root    <- ../data/input.txt (tracked by `dvc add` / `pivot track`) + in.txt
  middle  M-2 stages in W parallel chains that fan out from the root; every 8 positions
          hold a 3-variant `foreach` group (own parent per variant) and a 2-variant
          `matrix` group (shared parent); Pivot names them `gNNNN@key` like DVC does
  fan-in  <- the W chain tails; p9's fan-in also reads every other pipeline's fan-in
Every stage does trivial work (cat | cksum, grep its params) so the tools' overhead is
what gets measured. Shell commands are byte-identical between the two tools.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shlex
from collections.abc import Sequence

import yaml

GENERATOR_VERSION = 3
N_PIPELINES = 10
TRACKED_INPUT = "data/input.txt"
# One params file at the project root shared by every sub-pipeline, as in the
# issue's DVC measurements (DVC re-parses it once per stage).
PARAMS_FILE = "params.yaml"
FOREACH_KEYS = ("a", "b", "c")
MATRIX_KEYS = ("x", "y")


@dataclasses.dataclass(frozen=True)
class Stage:
    pipeline: str  # "p3"
    name: str  # "s0012" or "g0013@a"
    group: str | None  # "g0013" for variants
    kind: str  # "single" | "foreach" | "matrix"
    key: str | None  # variant key
    deps: tuple[str, ...]  # relative to the pipeline folder
    out: str
    pkey: str  # key in params.yaml
    python: bool = False

    @property
    def cmd(self) -> str:
        return shell_cmd(self.deps, self.out, self.pkey)


def shell_cmd(deps: Sequence[str], out: str, pkey: str) -> str:
    """The one command template both tools run (placeholders allowed for DVC templating)."""
    return (
        f"mkdir -p out && cat {' '.join(deps)} | cksum > {out}"
        f" && grep -A1 '^{pkey}:' ../{PARAMS_FILE} >> {out}"
    )


def _width(m: int) -> int:
    return max(1, min(8, (m - 2) // 4))


def plan(n: int, style: str = "shell", pipelines: int = N_PIPELINES) -> list[Stage]:
    """All stages in a valid execution order (pipelines p0..p9, positions ascending).

    ``pipelines``: how many sub-pipelines share the N stages (the scale scenario uses 50)."""
    if n % pipelines or n < 3 * pipelines:
        raise ValueError(f"N must be a multiple of {pipelines} and >= {3 * pipelines}, got {n}")
    if style not in ("shell", "mixed"):
        raise ValueError(f"style must be shell or mixed, got {style}")
    m = n // pipelines
    fanins = [_fanin_out(k, m) for k in range(pipelines - 1)]
    stages: list[Stage] = []
    for k in range(pipelines):
        extra = tuple(f"../p{j}/{o}" for j, o in enumerate(fanins)) if k == pipelines - 1 else ()
        stages.extend(_plan_pipeline(k, m, style, extra))
    assert len(stages) == n, (len(stages), n)
    return stages


def _sid(k: int, m: int, pos: int) -> str:
    return f"{k * m + pos:04d}"


def _fanin_out(k: int, m: int) -> str:
    return f"out/s{_sid(k, m, m - 1)}.txt"


def _plan_pipeline(k: int, m: int, style: str, extra_fanin: tuple[str, ...]) -> list[Stage]:
    p, w = f"p{k}", _width(m)
    root_id = _sid(k, m, 0)
    outs: dict[int, str] = {0: f"out/s{root_id}.txt"}
    res = [_single(p, root_id, (f"../{TRACKED_INPUT}", "in.txt"), False)]
    last = m - 2
    j = 1

    def parent(pos: int) -> str:
        return outs[pos - w] if pos - w >= 1 else outs[0]

    while j <= last:
        r = (j - 1) % 8
        gid = f"g{_sid(k, m, j)}"
        if r == 2 and j + 2 <= last:
            for i, key in enumerate(FOREACH_KEYS):
                st = _variant(p, gid, "foreach", key, (parent(j + i),), style)
                outs[j + i] = st.out
                res.append(st)
            j += 3
        elif r == 5 and j + 1 <= last:
            shared = parent(j)
            for i, key in enumerate(MATRIX_KEYS):
                st = _variant(p, gid, "matrix", key, (shared,), style)
                outs[j + i] = st.out
                res.append(st)
            j += 2
        else:
            sid = _sid(k, m, j)
            st = _single(p, sid, (parent(j),), style == "mixed" and int(sid) % 3 == 0)
            outs[j] = st.out
            res.append(st)
            j += 1
    tails = tuple(outs[pos] for pos in range(max(1, last - w + 1), last + 1))
    res.append(_single(p, _sid(k, m, m - 1), tails + extra_fanin, False))
    return res


def _single(p: str, sid: str, deps: tuple[str, ...], python: bool) -> Stage:
    name = f"s{sid}"
    return Stage(p, name, None, "single", None, deps, f"out/{name}.txt", name, python)


def _variant(p: str, gid: str, kind: str, key: str, deps: tuple[str, ...], style: str) -> Stage:
    python = style == "mixed" and kind == "matrix"
    return Stage(
        p, f"{gid}@{key}", gid, kind, key, deps, f"out/{gid}_{key}.txt", f"{gid}_{key}", python
    )


# ---------------------------------------------------------------- writing files


def write_common(root: pathlib.Path, stages: Sequence[Stage]) -> None:
    """Inputs and params files shared by both tools' projects."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    line = "the quick brown fox jumps over the lazy dog {i}\n"
    (root / TRACKED_INPUT).write_text("".join(line.format(i=i) for i in range(200)))
    by_pipe: dict[str, list[Stage]] = {}
    for st in stages:
        by_pipe.setdefault(st.pipeline, []).append(st)
    shared = {st.pkey: {"factor": 1} for st in stages if not st.python}
    (root / PARAMS_FILE).write_text(yaml.safe_dump(shared, sort_keys=True))
    for p, sts in by_pipe.items():
        d = root / p
        (d / "out").mkdir(parents=True, exist_ok=True)
        (d / "in.txt").write_text(f"input of {p}\n" * 20)
        # Python stages (the Pivot-only mixed project) take StageParams from their own folder.
        local = {st.pkey: {"factor": 1} for st in sts if st.python and not st.group}
        if local:
            (d / "params.yaml").write_text(yaml.safe_dump(local, sort_keys=True))


def write_dvc(root: pathlib.Path, stages: Sequence[Stage]) -> None:
    """One dvc.yaml per sub-pipeline, variant groups as real foreach/matrix stages."""
    if any(st.python for st in stages):
        raise ValueError("the DVC projects are shell-only")
    write_common(root, stages)
    docs: dict[str, dict[str, object]] = {}
    for st in stages:
        doc = docs.setdefault(st.pipeline, {})
        if st.group is None:
            doc[st.name] = {
                "cmd": st.cmd, "deps": list(st.deps), "params": [{f"../{PARAMS_FILE}": [f"{st.pkey}.factor"]}],
                "outs": [st.out],
            }
        else:
            _add_dvc_variant(doc, st)
    for p, doc in docs.items():
        (root / p / "dvc.yaml").write_text(yaml.safe_dump({"stages": doc}, sort_keys=False))


def _add_dvc_variant(doc: dict[str, object], st: Stage) -> None:
    assert st.group is not None and st.key is not None
    if st.kind == "foreach":
        entry = doc.setdefault(st.group, {"foreach": {}, "do": _dvc_do(st.group, "${key}", ["${item.dep}"])})
        assert isinstance(entry, dict)
        entry["foreach"][st.key] = {"dep": st.deps[0]}
    else:
        # DVC's matrix form has no `do:`; the stage body sits beside `matrix`.
        body = _dvc_do(st.group, "${item.v}", list(st.deps))
        entry = doc.setdefault(st.group, {"matrix": {"v": []}, **body})
        assert isinstance(entry, dict)
        entry["matrix"]["v"].append(st.key)


def _dvc_do(gid: str, key: str, deps: list[str]) -> dict[str, object]:
    out, pkey = f"out/{gid}_{key}.txt", f"{gid}_{key}"
    return {"cmd": shell_cmd(deps, out, pkey), "deps": deps, "params": [{f"../{PARAMS_FILE}": [f"{pkey}.factor"]}],
            "outs": [out]}


def write_pivot(root: pathlib.Path, stages: Sequence[Stage]) -> None:
    """One pipeline.py per sub-pipeline: register_cmd for shell stages, functions otherwise."""
    write_common(root, stages)
    by_pipe: dict[str, list[Stage]] = {}
    for st in stages:
        by_pipe.setdefault(st.pipeline, []).append(st)
    for p, sts in by_pipe.items():
        (root / p / "pipeline.py").write_text(_pivot_source(p, sts))


_HEADER = '''"""Generated by tests/benchmarks/generator.py (version {ver}); do not edit."""
from __future__ import annotations

import pathlib
from typing import Annotated

from pivot import Dep, Out, Pipeline, StageParams, loaders


class P(StageParams):
    factor: int = 1


class PV(StageParams):
    factor: int = 1
    out: str = ""


def _work(paths: tuple[pathlib.Path, ...], out: str, factor: int) -> pathlib.Path:
    text = "".join(p.read_text() for p in paths)
    target = pathlib.Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"{{len(text) * factor}}\\n")
    return target

'''


def _pivot_source(p: str, sts: Sequence[Stage]) -> str:
    parts = [_HEADER.format(ver=GENERATOR_VERSION)]
    regs = [f"pipeline = Pipeline({p!r})"]
    defined: set[str] = set()
    for st in sts:
        if not st.python:
            regs.append(
                f"pipeline.register_cmd({st.name!r}, cmd=[{st.cmd!r}], deps={list(st.deps)!r},"
                f" outs=[{st.out!r}], params=[{'../' + PARAMS_FILE + ':' + st.pkey + '.factor'!r}])"
            )
            continue
        fn = st.group or st.name
        if fn not in defined:
            defined.add(fn)
            parts.append(_py_function(fn, st))
        if st.group is None:
            regs.append(f"pipeline.register({fn})")
        else:
            factor = MATRIX_KEYS.index(st.key or "") + 1
            regs.append(
                f"pipeline.register({fn}, name={st.name!r}, params=PV(factor={factor}, out={st.out!r}),"
                f" out_path_overrides={{'return': {st.out!r}}})"
            )
    return "\n".join(parts) + "\n" + "\n".join(regs) + "\n"


def _py_function(fn: str, st: Stage) -> str:
    # Variants share one function: the declared Out is the first variant's and is overridden
    # per variant, so the function writes where its params say.
    pcls, target = ("PV", "params.out") if st.group else ("P", repr(st.out))
    args = "".join(
        f"    d{i}: Annotated[pathlib.Path, Dep({d!r}, loaders.PathOnly())],\n"
        for i, d in enumerate(st.deps)
    )
    names = ", ".join(f"d{i}" for i in range(len(st.deps)))
    return (
        f"def {fn}(\n{args}    params: {pcls},\n"
        f") -> Annotated[pathlib.Path, Out({st.out!r}, loaders.PathOnly())]:\n"
        f"    return _work(({names},), {target}, params.factor)\n\n"
    )


def prepare_script(stages: Sequence[Stage]) -> str:
    """A plain shell script that runs every command in order (DVC's fast-prepare path)."""
    lines = ["set -e", 'top="$(pwd)"']
    for st in stages:
        lines.append(f'cd "$top"/{shlex.quote(st.pipeline)} && {st.cmd}')
    return "\n".join(lines) + "\n"


def dump_plan(path: pathlib.Path, stages: Sequence[Stage]) -> None:
    path.write_text(json.dumps([dataclasses.asdict(s) | {"cmd": s.cmd} for s in stages], indent=1))


def leaf_stage(stages: Sequence[Stage]) -> Stage:
    """The final fan-in: nothing consumes it, so editing its params reruns it alone."""
    return stages[-1]


def root_input(stages: Sequence[Stage]) -> str:
    """Project-relative path of p0's untracked root input: p0 reruns whole, plus p9's fan-in."""
    return f"{stages[0].pipeline}/in.txt"
