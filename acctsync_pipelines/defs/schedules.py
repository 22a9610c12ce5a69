"""One schedule per source: after the business day closes, book the previous day, then re-run a
lookback window so late data is picked up (posting sends only the difference).

``<source>_nightly`` runs at ``schedules.hour:minute`` in the configured timezone (Asia/Tokyo) and
requests two runs of ``<source>_daily``: the lookback range (``schedules.lookback_days.<source>``
days before the previous day, as one range run) and the previous day (its own partition).
"""


import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from acctsync_pipelines.defs.available import available_sources
from acctsync_pipelines.defs.pipeline import source_job
from acctsync_pipelines.lib.config import Settings, load_settings
from acctsync_pipelines.lib.sources import Source

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def day_range_request(job_name: str, start: dt.date, end: dt.date, run_key: str, trigger: str) -> dg.RunRequest:
    """One run of ``job_name`` for the days ``start``..``end`` (inclusive): a partition, or a range."""
    tags = {"acctsync/trigger": trigger}
    if start == end:
        return dg.RunRequest(run_key=run_key, job_name=job_name, partition_key=start.isoformat(), tags=tags)
    return dg.RunRequest(run_key=run_key, job_name=job_name,
                         tags={**tags, RANGE_START: start.isoformat(), RANGE_END: end.isoformat()})


def nightly_days(execution_time: dt.datetime, timezone: str, first_day: dt.date,
                 lookback_days: int) -> tuple[dt.date | None, tuple[dt.date, dt.date] | None]:
    """The previous business day, and the lookback range before it (None where nothing exists)."""
    previous = execution_time.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)
    if previous < first_day:
        return None, None
    if lookback_days <= 0:
        return previous, None
    start = max(previous - dt.timedelta(days=lookback_days), first_day)
    end = previous - dt.timedelta(days=1)
    return previous, ((start, end) if start <= end else None)


def _status(text: str) -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if text == "running" else dg.DefaultScheduleStatus.STOPPED


def nightly_schedule(*, name: str, job, hour: int, minute: int, timezone: str, status: str, first_day: dt.date,
                     lookback: int, what: str, too_early: str) -> dg.ScheduleDefinition:
    """A ``<name>`` schedule at ``hour:minute`` in ``timezone``: one run of ``job`` for the previous day and
    one range run for the ``lookback`` days before it (nothing before ``first_day``)."""

    @dg.schedule(
        name=name,
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=timezone,
        job=job,
        default_status=_status(status),
        description=(f"{what}: at {hour:02d}:{minute:02d} {timezone}, book the previous day and re-run the "
                     f"{lookback} day(s) before it."),
    )
    def nightly(context: dg.ScheduleEvaluationContext):
        when = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
        previous, lookback_range = nightly_days(when, timezone, first_day, lookback)
        if previous is None:
            return dg.SkipReason(f"the previous day is before {too_early} {first_day}")
        requests = []
        if lookback_range:
            start, end = lookback_range
            requests.append(day_range_request(job.name, start, end, f"lookback:{start}..{end}", "schedule_lookback"))
        requests.append(day_range_request(job.name, previous, previous, f"nightly:{previous}", "schedule"))
        return requests

    return nightly


def build_nightly_schedule(source: Source, settings: Settings) -> dg.ScheduleDefinition:
    cfg = settings.schedules
    return nightly_schedule(
        name=f"{source.name}_nightly", job=source_job(source), hour=cfg.hour, minute=cfg.minute,
        timezone=settings.timezone, status=cfg.default_status, first_day=settings.source(source.name).start_date,
        lookback=getattr(cfg.lookback_days, source.name), what=source.label,
        too_early=f"{source.name}'s first partition")


@dg.definitions
def schedules() -> dg.Definitions:
    settings = load_settings()
    return dg.Definitions(schedules=[build_nightly_schedule(s, settings) for s in available_sources(settings)])
