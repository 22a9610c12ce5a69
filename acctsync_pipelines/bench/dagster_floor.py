"""Dagster's own floor: what recording the backfill costs when the assets do nothing.

Dagster records a materialization event for every partition of every asset a run materializes (a
range run of 366 days of four assets: 1,464 events), each written to the instance's event log. This
runs, in process and against a fresh instance with the same (SQLite) storage the pipeline's bench
uses, one job of four no-op assets with the pipeline's partitions and backfill policy for each source
over the same days, so the report can say how much of the pipeline's time is this bookkeeping.

Run as a child process: ``python -m acctsync_pipelines.bench.dagster_floor <request.json> <result.json>``;
the environment carries ``DAGSTER_HOME`` (a fresh folder).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import warnings
from pathlib import Path

STAGES = ("raw_orders", "normalized_transactions", "journal_entries", "posted_entries")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _no_op_job(start: dt.date, timezone: str):
    import dagster as dg

    from acctsync_pipelines.defs.pipeline import BACKFILL

    partitions = dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone=timezone)
    assets = []
    for stage in STAGES:
        @dg.asset(name=stage, key_prefix=["floor"], partitions_def=partitions, backfill_policy=BACKFILL,
                  deps=assets[-1:])
        def no_op():
            return dg.MaterializeResult(metadata={"dagster/row_count": 0})

        assets.append(no_op)
    job = dg.define_asset_job("dagster_floor", selection=dg.AssetSelection.assets(*assets))
    return dg.Definitions(assets=assets, jobs=[job]).resolve_job_def("dagster_floor")


def run(sources: int, start: dt.date, end: dt.date, per_run: int, timezone: str) -> dict:
    import dagster as dg

    from acctsync_pipelines.bench.backfill import chunks

    warnings.filterwarnings("ignore")
    job = _no_op_job(start, timezone)
    instance = dg.DagsterInstance.get()
    began, cpu_began = time.perf_counter(), time.process_time()
    runs = 0
    for _ in range(sources):
        for first, last in chunks(start, end, per_run):
            result = job.execute_in_process(
                instance=instance, tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat()},
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}})
            assert result.success
            runs += 1
    days = (end - start).days + 1
    return {"wall_s": time.perf_counter() - began, "cpu_s": time.process_time() - cpu_began,
            "events": sources * days * len(STAGES), "runs": runs}


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text())
    result = run(request["sources"], dt.date.fromisoformat(request["start"]), dt.date.fromisoformat(request["end"]),
                 request["per_run"], request["timezone"])
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
