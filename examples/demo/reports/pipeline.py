"""Reports: one page per region and a project summary (shell stages, as imported from DVC)."""

from pivot import Pipeline

REGIONS = ("north", "south", "east", "west", "central")

pipeline = Pipeline("reports")
for region in REGIONS:
    pipeline.register_cmd(
        f"page@{region}",
        cmd=[f"mkdir -p pages", f"cat ../models/metrics/{region}_linear.json ../models/metrics/{region}_boosted.json > pages/{region}.txt"],
        deps=[f"../models/metrics/{region}_linear.json", f"../models/metrics/{region}_boosted.json"],
        outs=[f"pages/{region}.txt"],
    )
pipeline.register_cmd(
    "summary",
    cmd=["cat pages/*.txt > summary.txt", "echo regions: $(ls pages | wc -l) >> summary.txt"],
    deps=[f"pages/{r}.txt" for r in REGIONS],
    outs=["summary.txt"],
)
