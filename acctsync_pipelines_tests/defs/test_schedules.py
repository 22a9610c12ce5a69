"""The nightly schedule: the previous Tokyo business day, plus a lookback range; only differences post."""

import datetime as dt
import warnings
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from acctsync_pipelines.defs.schedules import RANGE_END, RANGE_START, nightly_days
from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines_tests.defs.conftest import load

TOKYO = ZoneInfo("Asia/Tokyo")


def tick(definitions, name: str, when: dt.datetime):
    schedule = definitions.resolve_schedule_def(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = dg.build_schedule_context(scheduled_execution_time=when,
                                            repository_def=definitions.get_repository_def())
        return schedule.evaluate_tick(context)


def described(request: dg.RunRequest) -> tuple:
    if request.partition_key:
        return (request.partition_key,)
    return (request.tags[RANGE_START], request.tags[RANGE_END])


def test_schedule_runs_after_close_in_tokyo_and_requests_yesterday_and_lookback(home):
    home.configure({"schedules": {"hour": 4, "minute": 30, "lookback_days": {"usen_reji": 3}}})
    definitions = load(home)
    schedule = definitions.resolve_schedule_def("usen_reji_nightly")
    assert schedule.cron_schedule == "30 4 * * *"
    assert schedule.execution_timezone == "Asia/Tokyo"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    # 04:30 in Tokyo on 10 June is 19:30 UTC on 9 June: the previous business day is 9 June.
    result = tick(definitions, "usen_reji_nightly", dt.datetime(2025, 6, 10, 4, 30, tzinfo=TOKYO))
    assert [described(r) for r in result.run_requests] == [("2025-06-06", "2025-06-08"), ("2025-06-09",)]
    assert [r.run_key for r in result.run_requests] == ["lookback:2025-06-06..2025-06-08", "nightly:2025-06-09"]
    assert {r.job_name for r in result.run_requests} == {"usen_reji_daily"}
    assert result.run_requests[1].tags["acctsync/trigger"] == "schedule"


@pytest.mark.parametrize(
    ("when", "first_day", "lookback", "expected"),
    [
        (dt.datetime(2025, 6, 10, 3, tzinfo=TOKYO), dt.date(2025, 1, 1), 0, (dt.date(2025, 6, 9), None)),
        # the lookback never reaches before the first partition
        (dt.datetime(2025, 6, 3, 3, tzinfo=TOKYO), dt.date(2025, 6, 1), 7,
         (dt.date(2025, 6, 2), (dt.date(2025, 6, 1), dt.date(2025, 6, 1)))),
        (dt.datetime(2025, 6, 2, 3, tzinfo=TOKYO), dt.date(2025, 6, 1), 7, (dt.date(2025, 6, 1), None)),
        (dt.datetime(2025, 6, 1, 3, tzinfo=TOKYO), dt.date(2025, 6, 1), 7, (None, None)),
        # 23:00 UTC on 9 June is already 08:00 on 10 June in Tokyo
        (dt.datetime(2025, 6, 9, 23, tzinfo=dt.timezone.utc), dt.date(2025, 1, 1), 2,
         (dt.date(2025, 6, 9), (dt.date(2025, 6, 7), dt.date(2025, 6, 8)))),
    ],
)
def test_nightly_days(when, first_day, lookback, expected):
    assert nightly_days(when, "Asia/Tokyo", first_day, lookback) == expected


def test_schedule_before_the_first_partition_skips(home):
    home.configure({"sources": {"usen_reji": {"start_date": "2025-06-01"}}})
    result = tick(load(home), "usen_reji_nightly", dt.datetime(2025, 6, 1, 3, tzinfo=TOKYO))
    assert result.run_requests == []
    assert "before usen_reji's first partition 2025-06-01" in result.skip_message


def test_status_and_disabled_source_come_from_configuration(home):
    home.configure({"schedules": {"default_status": "stopped"}})
    assert load(home).resolve_schedule_def("usen_reji_nightly").default_status == dg.DefaultScheduleStatus.STOPPED
    home.configure({"sources": {"usen_reji": {"enabled": False}}})
    names = [s.name for s in load(home).get_repository_def().schedule_defs]
    assert "usen_reji_nightly" not in names


def test_requested_runs_book_the_days_and_the_lookback_posts_only_differences(home):
    write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=4)
    definitions = load(home)
    result = tick(definitions, "usen_reji_nightly", dt.datetime(2025, 6, 5, 3, tzinfo=TOKYO))
    assert [described(r) for r in result.run_requests] == [("2025-06-01", "2025-06-03"), ("2025-06-04",)]
    job = definitions.resolve_job_def("usen_reji_daily")
    instance = dg.DagsterInstance.ephemeral()
    for request in result.run_requests:
        run = job.execute_in_process(instance=instance, partition_key=request.partition_key, tags=request.tags,
                                     raise_on_error=False)
        assert run.success
    assert home.query("SELECT count(DISTINCT business_date) FROM ledger.posted_lines") == [(4,)]
    files = len(home.export_files())
    assert files == 4

    # The next night's lookback covers days already posted: nothing is sent again.
    again = tick(definitions, "usen_reji_nightly", dt.datetime(2025, 6, 5, 3, tzinfo=TOKYO))
    lookback = again.run_requests[0]
    assert job.execute_in_process(instance=instance, tags=lookback.tags, raise_on_error=False).success
    assert len(home.export_files()) == files
    assert home.query("SELECT count(*) FROM ledger.postings WHERE action = 'reverse'") == [(0,)]
