"""The fast lock emitter: what it writes reads back (safe loader) as exactly what it was given."""

from __future__ import annotations

import datetime
import math
import random
import string
from pathlib import Path

import pytest
import yaml

from pivot import lockfile, yamlemit
from tests.test_lockfile import RECORD

TRICKY_STRINGS = [
    "", " ", "a b", " lead", "trail ", "1e-05", "1e5", "1.0", "1_000", "0x1f", "0o17", "017", "1:20",
    "1:20.5", "+1", "-1", ".5", ".inf", "-.inf", ".nan", "~", "null", "Null", "NULL", "true", "True",
    "yes", "no", "on", "off", "y", "n", "=", "<<", "2020-01-01", "2001-12-14t21:59:43.10-05:00",
    "a: b", "a:", ":a", "a #b", "#x", "- x", "-", "--", "---", "...", "? x", "!tag", "&a", "*a", "@x",
    "`x", "|", ">", "%x", "'q'", '"d"', "a'b", 'a"b', "back\\slash", "tab\there", "new\nline",
    "cr\rx", "\x00nul", "\x07bell", "\x1b[0m", "del\x7f", "\x85nel", "\u2028ls", "\u2029ps",
    "\ufeffbom", "\ufffe", "ünïcødé", "日本語", "emoji 😀", "x" * 2000,
    ".", "./a", "../params.yaml:g0903_a.factor", ".hidden", "..a", "....", "p1:stage@a", "models/dir/", "xxh3_128:00ff", "data/x.csv", "[a]", "{a}", "a,b", "a\tb",
]

TRICKY_NUMBERS = [0, 1, -1, 10**30, -(10**30), 0.0, -0.0, 1e-05, 1e-5, 0.1, 1e16, 1e300, 5e-324,
                  -2.5e-10, 123456789.123, math.inf, -math.inf, 1.0, 3.0e20, True, False, None]


def _load(text: str) -> object:
    return yaml.load(text, Loader=lockfile.yaml_loader())


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize("value", TRICKY_STRINGS + TRICKY_NUMBERS)
def test_every_scalar_round_trips_as_value_and_as_key(value: object) -> None:
    doc = {"v": value, "l": [value], "n": {"k": value}}
    assert _same(_load(yamlemit.dumps(doc)), doc)
    if isinstance(value, str) and len(value) < 900:
        keyed = {value: 1}
        assert _same(_load(yamlemit.dumps(keyed)), keyed)


def test_float_pitfall_is_written_with_a_dot() -> None:
    text = yamlemit.dumps({"lr": 1e-05, "s": "1e-05"})
    assert "lr: 1.0e-05\n" in text
    assert _load(text) == {"lr": 1e-05, "s": "1e-05"}
    assert isinstance(_load(text)["lr"], float)  # type: ignore[index]


def test_nan_round_trips() -> None:
    assert math.isnan(_load(yamlemit.dumps({"x": math.nan}))["x"])  # type: ignore[index]


def test_nesting_matches_pyyaml_layout() -> None:
    doc = {"a": {"b": [1, [2, 3], {"c": [4], "d": {}}, [], {}]}, "e": [], "f": {}, "g": [[{"h": 1}]]}
    assert yamlemit.dumps(doc) == yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    assert _load(yamlemit.dumps(doc)) == doc


@pytest.mark.parametrize("params", [RECORD.params, {"../params.yaml:g0903_a.factor": 1, "x": "", "y": 0.5}])
def test_plain_lock_is_byte_identical_to_pyyaml(params: dict[str, object]) -> None:
    # The common case stays byte-for-byte what PyYAML wrote before.
    import dataclasses

    record = dataclasses.replace(RECORD, params=params)
    data = record.to_dict()
    assert lockfile.dumps(record) == yaml.safe_dump(data, sort_keys=False, default_flow_style=False,
                                                    allow_unicode=True)


def test_random_documents_round_trip() -> None:
    rng = random.Random(18)
    alphabet = string.printable + "äß日😀\u2028\x85\x00\x7f"

    def scalar() -> object:
        kind = rng.randrange(6)
        if kind == 0:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
        if kind == 1:
            return rng.choice(TRICKY_STRINGS)
        if kind == 2:
            return rng.randint(-(10**20), 10**20)
        if kind == 3:
            return rng.choice([rng.uniform(-1e6, 1e6), 10.0 ** rng.randint(-30, 30), rng.random() * 1e-7])
        return rng.choice(TRICKY_NUMBERS)

    def value(depth: int) -> object:
        if depth > 3 or rng.random() < 0.5:
            return scalar()
        if rng.random() < 0.5:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {k: value(depth + 1) for _ in range(rng.randrange(4)) if len(k := str(scalar())) < 900}

    for _ in range(400):
        doc = {k: value(0) for _ in range(rng.randrange(1, 5)) if len(k := str(scalar())) < 900}
        assert _same(_load(yamlemit.dumps(doc)), doc), doc


def test_unsupported_values_fall_back_to_pyyaml() -> None:
    with pytest.raises(yamlemit.Unsupported):
        yamlemit.dumps({"d": datetime.date(2020, 1, 1)})
    with pytest.raises(yamlemit.Unsupported):
        yamlemit.dumps({"m": {1: "x"}})
    with pytest.raises(yamlemit.Unsupported):
        yamlemit.dumps({"s": "\ud800lone"})
    import dataclasses

    odd = dataclasses.replace(RECORD, params={"when": datetime.date(2020, 1, 1)})
    assert _load(lockfile.dumps(odd))["params"] == {"when": datetime.date(2020, 1, 1)}  # type: ignore[index]


def test_lock_record_round_trips_through_the_file(tmp_path: Path) -> None:
    import dataclasses

    record = dataclasses.replace(RECORD, stage="p1:s@ü", params={
        "lr": 1e-05, "big": 1e300, "tiny": 5e-324, "n": 10**20, "s": "1e-05", "octal": "007",
        "flag": "yes", "none": None, "t": True, "name": "日本 😀", "multi": "a\nb", "empty": "",
        "list": [1.5, "2", [3, {"k": "v: w"}]]})
    path = lockfile.lock_path(tmp_path, record.stage)
    assert lockfile.write(path, record) is True
    assert lockfile.read(path) == record
    assert lockfile.write(path, record) is False  # canonical: same bytes, not rewritten
