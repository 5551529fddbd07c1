"""Models: two model kinds per region, trained on features, evaluated as metrics."""

import json
from typing import Annotated

from pivot import Dep, Metric, Out, Pipeline, StageParams, loaders

REGIONS = ("north", "south", "east", "west", "central")
KINDS = {"linear": 1.0, "boosted": 1.5}


class TrainParams(StageParams):
    boost: float = 1.0
    epochs: int = 3


def train(short: Annotated[dict, Dep("../features/rolling/north_7.json", loaders.JSON())],
          long: Annotated[dict, Dep("../features/rolling/north_90.json", loaders.JSON())],
          params: TrainParams) -> Annotated[dict, Out("trained/north_linear.json", loaders.JSON())]:
    slope = (short["mean"] - long["mean"]) * params.boost
    return {"slope": round(slope, 4), "base": long["mean"], "epochs": params.epochs}


def evaluate(model: Annotated[dict, Dep("trained/north_linear.json", loaders.JSON())],
             combined: Annotated[str, Dep("../features/combined/all.jsonl", loaders.Text())]) -> Annotated[dict, Metric("metrics/north_linear.json")]:
    rows = [json.loads(line) for line in combined.splitlines() if line.strip()]
    error = abs(model["base"] + model["slope"] - sum(r["mean"] for r in rows) / max(len(rows), 1))
    return {"mae": round(error, 4)}


pipeline = Pipeline("models")
for region in REGIONS:
    for kind, boost in KINDS.items():
        variant = f"{region}-{kind}"
        pipeline.register(train, name=f"train@{variant}", params=TrainParams(boost=boost),
                          dep_path_overrides={"short": f"../features/rolling/{region}_7.json",
                                              "long": f"../features/rolling/{region}_90.json"},
                          out_path_overrides={"return": f"trained/{region}_{kind}.json"})
        pipeline.register(evaluate, name=f"evaluate@{variant}",
                          dep_path_overrides={"model": f"trained/{region}_{kind}.json"},
                          out_path_overrides={"return": f"metrics/{region}_{kind}.json"})
