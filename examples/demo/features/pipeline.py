"""Features: rolling means per region and window, then one combined table."""

import csv
import io
import statistics
from typing import Annotated

from pivot import Dep, Out, Pipeline, StageParams, loaders

REGIONS = ("north", "south", "east", "west", "central")
WINDOWS = (7, 30, 90)


class WindowParams(StageParams):
    window: int = 7


def rolling(clean: Annotated[str, Dep("../ingest/regions/north.csv", loaders.Text())],
            params: WindowParams) -> Annotated[dict, Out("rolling/north_7.json", loaders.JSON())]:
    amounts = [float(r["amount"]) for r in csv.DictReader(io.StringIO(clean))]
    tail = amounts[-params.window:] or [0.0]
    return {"window": params.window, "mean": round(statistics.fmean(tail), 4), "n": len(amounts)}


pipeline = Pipeline("features")
for region in REGIONS:
    for window in WINDOWS:
        pipeline.register(rolling, name=f"rolling@{region}-{window}", params=WindowParams(window=window),
                          dep_path_overrides={"clean": f"../ingest/regions/{region}.csv"},
                          out_path_overrides={"return": f"rolling/{region}_{window}.json"})

pipeline.register_cmd(
    "combine",
    cmd=["mkdir -p combined", "for f in rolling/*.json; do tr -d '\\n ' < $f; echo; done > combined/all.jsonl", "ls rolling | wc -l > combined/count.txt"],
    deps=[f"rolling/{r}_{w}.json" for r in REGIONS for w in WINDOWS],
    outs=["combined/"],
)
