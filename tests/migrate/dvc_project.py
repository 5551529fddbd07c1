"""A small DVC project that uses every dvc.yaml feature import-dvc converts (~20 stages).

Root: tracked file and folder (`dvc add`), vars from a file with selected keys and inline,
foreach over a list, `cache: false` metrics, plots, frozen, always_changed. ``p1/``: foreach
over a mapping with ``${item.x}`` in cmd/deps/outs, params from two files, matrix, wdir,
persist, whole-file params. ``p2/``: a chain reading the other folders' outputs.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

ROOT_DVC = r"""
vars:
  - config/extra.yaml:model
  - {suffix: txt}
stages:
  prepare:
    desc: Join the raw inputs.
    cmd: mkdir -p out && cat data/raw.txt data/images/a.txt data/images/b.txt > out/prepared.${suffix}
    deps: [data/raw.txt, data/images]
    outs: ["out/prepared.${suffix}"]
    params: [seed]
  split:
    foreach: ${regions}
    do:
      cmd: grep -c . out/prepared.txt > out/${item}.txt && echo ${item} ${train.lr} ${model.kind} >> out/${item}.txt
      deps: [out/prepared.txt]
      outs: ["out/${item}.txt"]
      params: [train.lr]
  report:
    cmd:
      - cat out/us.txt out/eu.txt > report.txt
      - 'printf ''{"lines": %s}\n'' "$(wc -l < report.txt)" > metrics.json'
      - printf 'x,y\n1,%s\n' "$(wc -c < report.txt)" > plot.csv
    deps: [out/us.txt, out/eu.txt]
    outs: [report.txt]
    metrics: [{metrics.json: {cache: false}}]
    plots: [plot.csv]
  frozen_copy:
    frozen: true
    cmd: cp data/raw.txt out/frozen.txt
    deps: [data/raw.txt]
    outs: [out/frozen.txt]
  stamp:
    always_changed: true
    cmd: mkdir -p out && echo stamped > out/stamp.txt
    outs: [out/stamp.txt]
"""

P1_DVC = r"""
vars:
  - ../params.yaml:train
stages:
  models:
    foreach:
      small: {depth: 1, file: small.txt}
      large: {depth: 3, file: large.txt}
    do:
      cmd: mkdir -p models && echo ${key} ${item.depth} $(cat ../out/${item.file}) > models/${item.file}
      deps: ["../out/${item.file}"]
      outs: ["models/${item.file}"]
      params:
        - ../params.yaml: [train.epochs]
        - ../config/extra.yaml: [threshold]
  grid:
    matrix:
      opt: [adam, sgd]
      lr: [1, 2]
    cmd: mkdir -p grid && echo ${item.opt} ${item.lr} ${train.epochs} > grid/${key}.txt
    deps: [models/small.txt]
    outs: ["grid/${key}.txt"]
  evaluate:
    wdir: sub
    cmd: cat ../models/small.txt ../grid/adam-1.txt > eval.txt
    deps: [../models/small.txt, ../grid/adam-1.txt]
    outs: [eval.txt]
  history:
    cmd: cat models/large.txt >> history.log
    deps: [models/large.txt]
    outs: [{history.log: {persist: true}}]
  whole:
    cmd: cat ../config/extra.yaml > whole.txt
    params: [{../config/extra.yaml: }]
    outs: [whole.txt]
"""

P2_DVC = r"""
stages:
  collect:
    cmd: mkdir -p merged && cat ../p1/sub/eval.txt ../report.txt > merged/all.txt && cp ../out/frozen.txt merged/
    deps: [../p1/sub/eval.txt, ../report.txt, ../out/frozen.txt]
    outs: [merged]
  count:
    cmd: ls merged | wc -l > count.txt && wc -c < in.txt >> count.txt
    deps: [merged, in.txt]
    outs: [count.txt]
"""

FILES = {
    "params.yaml": "seed: 1\nregions: [us, eu]\ntrain: {lr: 0.1, epochs: 2}\n",
    "config/extra.yaml": "model: {kind: cnn, depth: 3}\nthreshold: 0.5\n",
    "data/raw.txt": "".join(f"raw line {i}\n" for i in range(30)),
    "data/images/a.txt": "image a\n",
    "data/images/b.txt": "image b\n",
    "data/images/crlf.txt": "DVC 3 hashes\r\nthe plain bytes\r\n",  # DVC 2 hashed text as if CRLF were LF
    "out/small.txt": "small input\n",
    "out/large.txt": "large input\n",
    "out/frozen.txt": "made before the stage was frozen\n",
    "dvc.yaml": ROOT_DVC,
    "p1/dvc.yaml": P1_DVC,
    "p1/sub/.keep": "",
    "p2/dvc.yaml": P2_DVC,
    "p2/in.txt": "p2 input\n",
}


def write(root: Path) -> None:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
