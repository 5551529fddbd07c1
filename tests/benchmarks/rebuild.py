"""Raw results rebuilt from a rendered report, for a `--merge` that finds none.

The raw results of BENCHMARKS.md are tracked beside it (tests/benchmarks/results.json), but
they were not always: until then they lived in the untracked work folder, so every session
started on a fresh machine without them, and a `--merge` there silently rendered a report of
only the rows it had just measured. This turns the rendered Results table back into rows:
each figure as three samples (minimum, median, maximum; one sample where the report shows
one), peak RSS as its median, the process-tree CPU medians of the limit rows, and every note
the report derives from extras (stage work, params read, heavy modules, digests, per-stage
overhead). Rendering the rebuilt rows gives the same Results table; figures keep the report's
three significant digits, so a target's detail may differ in the last digits.
"""

from __future__ import annotations

import re
from typing import Any

from tests.benchmarks.common import Row
from tests.benchmarks.measure import Sample, Series

# The report shows titles; the raw results key rows by id. Titles that carry a figure of the
# run (the hash size, the push set) are matched by their start.
_IDS = {
    "`pivot --help` (vs `dvc --help`)": "help",
    "`python -c 'import pivot'` (vs `python -c pass`)": "import",
    "modules imported by no-op `status --all`": "heavy_imports",
    "Dask: fresh `repro --cluster local` vs raw client.submit": "dask",
    "push vs the same files moved by one s3fs client (limit)": "push_limit",
    "pull vs the same files moved by one s3fs client (limit)": "pull_limit",
    "no-op push (everything already on the remote)": "push_noop",
    "no-op pull (everything already here)": "pull_noop",
    "fresh run vs the same commands in a plain process pool (limit)": "fresh_limit",
    "fresh run (first repro)": "fresh",
    "fresh run, --cluster local": "cluster_fresh",
    "no-op repro, --cluster local": "cluster_noop",
    "fresh run, mixed Python/shell stages": "mixed_fresh",
    "no-op status, mixed Python/shell stages": "mixed_status",
    "no-op status": "noop_status",
    "no-op repro": "noop_repro",
    "one leaf's params edited": "leaf_params",
    "one root input edited (p0 + p9 fan-in rerun)": "root_input",
    "fresh run, isolated workers, cache on S3 (moto) vs shared cache, same cluster": "isolated_s3",
}
_PREFIXES = (("hash a ", "hash"), ("push (", "push"), ("pull (", "pull"), ("5,000 stages in 50 sub-pipelines", "scale"))

_FIGURE = re.compile(r"^(?P<median>[0-9.e+]+) (?P<unit>\S+)(?: \((?P<low>[0-9.e+]+)-(?P<high>[0-9.e+]+)\))?(?P<dagger> †)?$")
_RSS = re.compile(r"^([0-9.]+) MB$")
_CPU = re.compile(r"CPU of the whole process tree \(median\): Pivot ([0-9.]+) s, baseline ([0-9.]+) s \(([0-9.]+)x\)")
_DERIVED = (  # notes the report writes from extras: (pattern, extra key, value from the match)
    (re.compile(r"the stage's own work: ([0-9.]+) ms"), "stage_work_s", lambda m: float(m[1]) / 1000),
    (re.compile(r"reading the edited params\.yaml alone: ([0-9.]+) ms"), "params_read_s", lambda m: float(m[1]) / 1000),
    (re.compile(r"heavy modules loaded: (.+)"), "heavy_modules", lambda m: [] if m[1] == "none" else m[1]),
    (re.compile(r"Pivot's per-stage overhead over raw submit: ([0-9.]+) ms"), "per_stage_overhead_ms",
     lambda m: float(m[1])),
    (re.compile(r"pivot [0-9.]+ GiB/s, raw [0-9.]+ GiB/s; same digest: (True|False)"), "digest_match",
     lambda m: m[1] == "True"),
)


def row_id(title: str) -> str | None:
    if title in _IDS:
        return _IDS[title]
    return next((rid for prefix, rid in _PREFIXES if title.startswith(prefix)), None)


def rows_from_report(text: str) -> list[Row]:
    """The rows of the report's Results table; ValueError naming a line it cannot read."""
    try:
        table = text.split("\n## Results\n", 1)[1].split("\n## ", 1)[0]
    except IndexError:
        raise ValueError("no '## Results' section") from None
    lines = [ln for ln in table.splitlines() if ln.startswith("| ") and not ln.startswith("| scenario |")]
    return [_row(ln) for ln in lines]


def _row(line: str) -> Row:
    cells = [c.replace("\\|", "|").strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
    if len(cells) != 9:
        raise ValueError(f"not a results row: {line[:80]}")
    title, n, pivot, pivot_rss, base_label, base, base_rss, _ratio, notes = cells
    rid = row_id(title)
    if rid is None:
        raise ValueError(f"unknown scenario title: {title}")
    extra, cpu, dagger_note = _extras(notes)
    pseries, unit = _series(pivot, pivot_rss, cpu[0] if cpu else 0.0, None)
    bseries = None if base_label == "—" else _series(base, base_rss, cpu[1] if cpu else 0.0, dagger_note)[0]
    row = Row(rid, title, int(n) if n else None, pseries, "" if base_label == "—" else base_label, bseries,
              unit or "s", extra)
    if rid == "hash":
        size = re.match(r"hash a ([0-9]+) MiB", title)
        row.extra["size_mib"] = int(size[1]) if size else 1024
    return row


def _series(cell: str, rss_cell: str, cpu: float, note: str | None) -> tuple[Series, str | None]:
    if cell == "—":
        return Series(), None
    if cell.startswith("error: "):
        return Series(error=cell[len("error: "):]), None
    m = _FIGURE.match(cell)
    if m is None:
        raise ValueError(f"cannot read the figure {cell!r}")
    median = float(m["median"])
    if m["dagger"]:  # a figure not measured here: kept as the fixed value it was rendered from
        return Series(note=note or "not measured in this run", fixed=median), m["unit"]
    rss_m = _RSS.match(rss_cell)
    rss = float(rss_m[1]) if rss_m else 0.0
    walls = [float(m["low"]), median, float(m["high"])] if m["low"] else [median]
    return Series([Sample(w, rss, cpu, 0, "", "") for w in walls]), m["unit"]


def _extras(notes: str) -> tuple[dict[str, Any], tuple[float, float] | None, str | None]:
    """(extras, the CPU medians of a limit row, the † note) from a notes cell; what is left is the
    row's free note."""
    extra: dict[str, Any] = {}
    left = notes
    dagger = None
    if left.startswith("† "):
        dagger, _, left = left[2:].partition("; ")
    cpu = None
    if (m := _CPU.search(left)) is not None:
        pivot_cpu, base_cpu, shown_ratio = float(m[1]), float(m[2]), float(m[3])
        if round(base_cpu * shown_ratio, 1) == pivot_cpu:  # closer to the measured figure: the ratio has 3 digits
            pivot_cpu = base_cpu * shown_ratio
        cpu = (pivot_cpu, base_cpu)
        left = left.replace(m[0], "")
    for pattern, key, value in _DERIVED:
        if (m := pattern.search(left)) is not None:
            extra[key] = value(m)
            left = left.replace(m[0], "")
    left = "; ".join(p.strip() for p in left.split("; ") if p.strip())
    if left:
        extra["note"] = left
    return extra, cpu, dagger


def meta_from_report(text: str) -> dict[str, Any]:
    """The run description the report's header and Machine section show."""
    command = re.search(r"^Reproduce with: `(.*)`  $", text, re.M)
    mode = re.search(r"^Mode: (.*)\. Run at (\S+), took ([0-9.]+) min\.$", text, re.M)
    reps = re.search(r"\(Pivot ([0-9]+), baseline ([0-9]+)\)", text)
    if command is None or mode is None or reps is None:
        raise ValueError("no 'Reproduce with', 'Mode' or repeat counts in the report's header")
    machine_part = text.split("\n## Machine\n", 1)[1].split("\n## ", 1)[0] if "\n## Machine\n" in text else ""
    machine = dict(m.groups() for m in re.finditer(r"^- ([^:]+): (.*)$", machine_part, re.M))
    return {
        "command": command[1], "date": mode[2], "elapsed_min": float(mode[3]),
        "pivot_reps": int(reps[1]), "dvc_reps": int(reps[2]), "mode": mode[1], "machine": machine,
        "notes": re.findall(r"^Note: (.*?)  $", text, re.M),
    }
