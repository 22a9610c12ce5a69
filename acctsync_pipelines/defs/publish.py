"""The analysts' copy (``$ACCTSYNC_HOME/published/``), refreshed after each run that touched the ledger.

- Asset ``analysts/published_warehouse`` (group ``analysts``, pool ``duckdb``): a read-only DuckDB copy
  and Parquet files (``lib/publish.py``). It depends on every source's ``posted_entries``, so a
  backfill launched from the asset graph publishes once after the last day.
- Job ``publish_for_analysts`` and sensor ``publish_after_ledger_runs``: when runs end (succeeded or
  failed: a failed range may still have booked its good days), request one publish run. Runs that
  end while a publish run is still waiting are covered by it. The publish run copies only when the
  warehouse's content changed since the last copy (a fingerprint of every table), so a run that
  changed nothing (a lookback pass over unchanged days) leaves the copy as it is.
"""


import datetime as dt
import json

import dagster as dg

from acctsync_pipelines.defs.available import available_sources
from acctsync_pipelines.defs.resources import DUCKDB_POOL, AcctsyncResource
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.publish import publish

PUBLISHED_KEY = dg.AssetKey(["analysts", "published_warehouse"])
PUBLISH_JOB = "publish_for_analysts"
ENDED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
WAITING = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING]


def may_change_warehouse(run: dg.DagsterRun) -> bool:
    """Every run of this code location writes the warehouse, except publishing itself."""
    return run.job_name != PUBLISH_JOB and set(run.asset_selection or ()) != {PUBLISHED_KEY}


def _status(text: str) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if text == "running" else dg.DefaultSensorStatus.STOPPED


@dg.definitions
def analysts_copy() -> dg.Definitions:
    settings = load_settings()
    if not settings.publish.enabled:
        return dg.Definitions()
    sources = available_sources(settings)

    @dg.asset(
        key=PUBLISHED_KEY,
        group_name="analysts",
        deps=[dg.AssetKey([s.name, "posted_entries"]) for s in sources],
        pool=DUCKDB_POOL,
        kinds={"duckdb", "parquet"},
        description="Read-only copy of the warehouse for analysts ($ACCTSYNC_HOME/published/acctsync.duckdb) "
                    "and Parquet partitioned by source and business_date ($ACCTSYNC_HOME/published/parquet/). "
                    "See docs/warehouse.md.",
    )
    def published_warehouse(context: dg.AssetExecutionContext, acctsync: AcctsyncResource) -> dg.MaterializeResult:
        cfg = acctsync.settings.publish
        result = publish(acctsync.warehouse, acctsync.home_path, parquet=cfg.parquet,
                         keep_parquet_versions=cfg.keep_parquet_versions)
        context.log.info(f"publish: {result.reason}")
        metadata: dict = {
            "published": result.published,
            "reason": result.reason,
            "fingerprint": result.fingerprint,
            "dagster/row_count": sum(result.rows.values()),
            "rows_by_relation": dg.MetadataValue.json(result.rows),
        }
        if result.database:
            metadata["database"] = dg.MetadataValue.path(str(result.database))
        if result.parquet:
            metadata["parquet"] = dg.MetadataValue.path(str(result.parquet))
        return dg.MaterializeResult(metadata=metadata)

    job = dg.define_asset_job(PUBLISH_JOB, selection=[PUBLISHED_KEY],
                              description="Refresh the analysts' copy of the warehouse.")

    @dg.sensor(
        name="publish_after_ledger_runs",
        job=job,
        minimum_interval_seconds=settings.publish.interval_seconds,
        default_status=_status(settings.publish.default_status),
        description="When runs end (success or failure), publish the analysts' copy once if the warehouse changed.",
    )
    def publish_after_ledger_runs(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state = json.loads(context.cursor) if context.cursor else {"after": 0.0}
        after = dt.datetime.fromtimestamp(state["after"], tz=dt.timezone.utc)
        records = context.instance.get_run_records(
            filters=dg.RunsFilter(statuses=ENDED, updated_after=after), order_by="update_timestamp", ascending=True,
            limit=500,
        )
        if not records:
            return dg.SensorResult(skip_reason="no run ended since the last tick")
        newest = max(r.update_timestamp for r in records)
        cursor = json.dumps({"after": newest.timestamp()})
        ledger_runs = [r.dagster_run for r in records if may_change_warehouse(r.dagster_run)]
        if not ledger_runs:
            return dg.SensorResult(skip_reason="only publish runs ended since the last tick", cursor=cursor)
        waiting = context.instance.get_run_records(
            filters=dg.RunsFilter(job_name=PUBLISH_JOB, statuses=WAITING), limit=1)
        if waiting:
            return dg.SensorResult(skip_reason="a publish run is already waiting; it will copy the latest ledger",
                                   cursor=cursor)
        last = ledger_runs[-1]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"publish-after:{last.run_id}",
                                        tags={"acctsync/trigger": "publish_sensor", "acctsync/after_run": last.run_id})],
            cursor=cursor,
        )

    return dg.Definitions(assets=[published_warehouse], jobs=[job], sensors=[publish_after_ledger_runs])
