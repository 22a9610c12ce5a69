"""After runs that touched the ledger, one publish run refreshes the analysts' copy."""

import datetime as dt
import warnings

import dagster as dg

from acctsync_pipelines.defs.publish import PUBLISH_JOB, PUBLISHED_KEY, may_change_warehouse
from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines_tests.defs.conftest import load


def tick(definitions, instance, cursor):
    sensor = definitions.resolve_sensor_def("publish_after_ledger_runs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=definitions))


def test_a_ledger_run_is_followed_by_one_publish_run(home, instance):
    write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=2)
    definitions = load(home)
    sensor = definitions.resolve_sensor_def("publish_after_ledger_runs")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    nothing = tick(definitions, instance, None)
    assert nothing.run_requests == [] and nothing.skip_message == "no run ended since the last tick"

    job = definitions.resolve_job_def("usen_reji_daily")
    for day in ("2025-06-01", "2025-06-02"):
        assert job.execute_in_process(partition_key=day, instance=instance).success
    result = tick(definitions, instance, nothing.cursor)
    (request,) = result.run_requests  # two ledger runs ended: one publish covers both
    last = instance.get_run_records(filters=dg.RunsFilter(job_name="usen_reji_daily"), limit=1)[0].dagster_run
    assert request.run_key == f"publish-after:{last.run_id}"
    assert tick(definitions, instance, result.cursor).run_requests == []

    publish = definitions.resolve_job_def(PUBLISH_JOB).execute_in_process(instance=instance, tags=request.tags)
    assert publish.success
    (event,) = publish.asset_materializations_for_node("analysts__published_warehouse")
    assert event.metadata["published"].value is True
    assert event.metadata["database"].value == str(home.root / "published" / "acctsync.duckdb")
    assert (home.root / "published" / "parquet" / "ledger" / "journal_lines").is_dir()

    after_publish = tick(definitions, instance, result.cursor)
    assert after_publish.run_requests == []
    assert after_publish.skip_message == "only publish runs ended since the last tick"

    # A lookback run over unchanged days ends: a publish run follows, and finds nothing to copy.
    assert job.execute_in_process(partition_key="2025-06-01", instance=instance).success
    (again,) = tick(definitions, instance, after_publish.cursor).run_requests
    unchanged = definitions.resolve_job_def(PUBLISH_JOB).execute_in_process(instance=instance, tags=again.tags)
    (event,) = unchanged.asset_materializations_for_node("analysts__published_warehouse")
    assert event.metadata["published"].value is False
    assert event.metadata["reason"].value == "the warehouse has not changed since the last copy"


def test_every_run_but_publishing_may_change_the_warehouse():
    backfill_run = dg.DagsterRun(job_name="__ASSET_JOB", asset_selection=frozenset(
        {dg.AssetKey(["usen_reji", "raw_orders"]), dg.AssetKey(["usen_reji", "posted_entries"])}))
    assert may_change_warehouse(dg.DagsterRun(job_name="usen_reji_daily"))
    assert may_change_warehouse(dg.DagsterRun(job_name="settlement_daily"))
    assert may_change_warehouse(backfill_run)
    assert not may_change_warehouse(dg.DagsterRun(job_name=PUBLISH_JOB, asset_selection=frozenset({PUBLISHED_KEY})))
    assert not may_change_warehouse(dg.DagsterRun(job_name="__ASSET_JOB", asset_selection=frozenset({PUBLISHED_KEY})))


def test_publishing_can_be_turned_off(home):
    home.configure({"publish": {"enabled": False}})
    definitions = load(home)
    assert "publish_after_ledger_runs" not in {s.name for s in definitions.get_repository_def().sensor_defs}
    assert PUBLISHED_KEY not in definitions.resolve_asset_graph().get_all_asset_keys()
