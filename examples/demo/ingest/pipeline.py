"""Ingest: split the tracked sales file by region, then clean each region."""

import csv
import io
from typing import Annotated

from pivot import Dep, Out, Pipeline, StageParams, loaders

REGIONS = ("north", "south", "east", "west", "central")


class SplitParams(StageParams):
    region: str = "north"


class CleanParams(StageParams):
    min_amount: float = 0.0


def split(sales: Annotated[str, Dep("../data/sales.csv", loaders.Text())],
          params: SplitParams) -> Annotated[str, Out("regions/raw.csv", loaders.Text())]:
    rows = [r for r in csv.DictReader(io.StringIO(sales)) if r["region"] == params.region]
    return _to_csv(rows)


def clean(raw: Annotated[str, Dep("regions/raw.csv", loaders.Text())],
          params: CleanParams) -> Annotated[str, Out("regions/clean.csv", loaders.Text())]:
    rows = [r for r in csv.DictReader(io.StringIO(raw)) if float(r["amount"]) >= params.min_amount]
    return _to_csv(rows)


def _to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["day", "region", "amount"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


pipeline = Pipeline("ingest")
for region in REGIONS:
    pipeline.register(split, name=f"split@{region}", params=SplitParams(region=region),
                      out_path_overrides={"return": f"regions/{region}_raw.csv"})
    pipeline.register(clean, name=f"clean@{region}",
                      dep_path_overrides={"raw": f"regions/{region}_raw.csv"},
                      out_path_overrides={"return": f"regions/{region}.csv"})
