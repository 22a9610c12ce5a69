"""Sensors that start runs when there is new data.

- ``inbox_sensor``: one sensor for ``$ACCTSYNC_HOME/inbox/<source>/`` of every available source.
  Its cursor maps each file to size, mtime and digest (``lib/inbox_scan.py``). It requests
  ``<source>_daily`` for the business days a new or changed file affects (the source says which,
  ``Source.days_for_inbox_file``), consecutive days as one range run, and only days that exist as
  partitions. Run keys hash the changed files' digests and mtimes, so a USEN re-close (a new
  締め回数 bundle) runs its day again even though that day ran before. Bank exports in
  ``inbox/bank/`` request ``settlement_daily`` for the value dates they hold (``BankInbox``).
- ``<source>_api_poll``: for API sources that implement ``poll_activity`` (``lib/polling.py``), off by
  default; requests the days with new activity since its cursor.
"""


import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import dagster as dg

from acctsync_pipelines.defs.available import available_sources
from acctsync_pipelines.defs.pipeline import source_job
from acctsync_pipelines.defs.resources import AcctsyncResource
from acctsync_pipelines.defs.schedules import day_range_request
from acctsync_pipelines.defs.settlement import settlement_job
from acctsync_pipelines.lib import inbox_scan
from acctsync_pipelines.lib.config import Settings, load_settings
from acctsync_pipelines.lib.polling import polls_activity
from acctsync_pipelines.lib.settlement.statement import BankInbox
from acctsync_pipelines.lib.sources import Source

POLLING_SOURCES = ("stores", "amazon_business")
MAX_LOGGED_NOTES = 50


def last_partition_day(settings: Settings, now: dt.datetime | None = None) -> dt.date:
    """Today in the business timezone if today is configured as a partition, else the day before."""
    today = (now or dt.datetime.now(dt.timezone.utc)).astimezone(ZoneInfo(settings.timezone)).date()
    return today if settings.sensors.inbox.include_today else today - dt.timedelta(days=1)


def _status(text: str) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if text == "running" else dg.DefaultSensorStatus.STOPPED


def build_inbox_sensor(sources: list[Source], settings: Settings) -> dg.SensorDefinition:
    cfg = settings.sensors.inbox
    by_name = {s.name: s for s in sources}
    first_days = {s.name: settings.source(s.name).start_date for s in sources}
    jobs = {s.name: source_job(s) for s in sources}
    if settings.settlement.enabled:
        by_name[BankInbox.name] = BankInbox(settings.settlement)
        first_days[BankInbox.name] = settings.settlement.start_date
        jobs[BankInbox.name] = settlement_job()

    @dg.sensor(
        name="inbox_sensor",
        jobs=list(jobs.values()),
        minimum_interval_seconds=cfg.interval_seconds,
        default_status=_status(cfg.default_status),
        description=("New or changed files in $ACCTSYNC_HOME/inbox/<source>/ → run that source for the business "
                     "days they affect. A file is read once its size is stable over two ticks (USEN bundles: "
                     "once close.csv exists); symlinks and paths outside the inbox are ignored."),
    )
    def inbox_sensor(context: dg.SensorEvaluationContext, acctsync: AcctsyncResource) -> dg.SensorResult:
        result = inbox_scan.scan(
            acctsync.home_path, by_name, context.cursor, first_days, last_partition_day(settings),
            max_files=cfg.max_files_per_tick, max_days_per_run=cfg.max_days_per_run,
            max_seconds=cfg.max_seconds_per_tick,
        )
        for note in result.notes[:MAX_LOGGED_NOTES]:
            context.log.info(note)
        requests = []
        for r in result.ranges:
            context.log.info(f"{r.source} {r.start}..{r.end}: {', '.join(r.files[:10])}"
                             + (f" and {len(r.files) - 10} more" if len(r.files) > 10 else ""))
            requests.append(day_range_request(jobs[r.source].name, r.start, r.end, r.run_key, "inbox_sensor"))
        skip = None if requests else (
            f"no new or changed inbox files ready; {result.waiting} file(s) waiting for their size to settle"
            if result.waiting else "no new or changed inbox files")
        return dg.SensorResult(run_requests=requests, cursor=result.cursor, skip_reason=skip)

    return inbox_sensor


def _consecutive(days: list[dt.date], max_days: int) -> list[tuple[dt.date, dt.date]]:
    ranges: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][-1] == dt.timedelta(days=1) and len(ranges[-1]) < max_days:
            ranges[-1].append(day)
        else:
            ranges.append([day])
    return [(r[0], r[-1]) for r in ranges]


def build_polling_sensor(source: Source, settings: Settings) -> dg.SensorDefinition:
    cfg = getattr(settings.sensors.polling, source.name)
    first_day = settings.source(source.name).start_date
    job_name = f"{source.name}_daily"

    @dg.sensor(
        name=f"{source.name}_api_poll",
        job=source_job(source),
        minimum_interval_seconds=cfg.interval_seconds,
        default_status=_status(cfg.default_status),
        description=f"{source.label} API: run the business days with new activity since the last tick.",
    )
    def api_poll(context: dg.SensorEvaluationContext, acctsync: AcctsyncResource) -> dg.SensorResult:
        activity = source.poll_activity(acctsync.settings, acctsync.home_path, context.cursor)
        for note in activity.notes[:MAX_LOGGED_NOTES]:
            context.log.info(note)
        last_day = last_partition_day(settings)
        days = [d for d in activity.days if first_day <= d <= last_day]
        later = sorted(d for d in activity.days if d > last_day)
        if later:
            context.log.info(f"activity on {', '.join(map(str, later))}: not a partition yet; the nightly "
                             "schedule books it")
        token = hashlib.sha256(activity.cursor.encode()).hexdigest()[:16]
        requests = [
            day_range_request(job_name, start, end, f"poll:{source.name}:{start}..{end}:{token}", "api_poll")
            for start, end in _consecutive(days, settings.sensors.inbox.max_days_per_run)
        ]
        return dg.SensorResult(run_requests=requests, cursor=activity.cursor,
                               skip_reason=None if requests else "no new activity")

    return api_poll


@dg.definitions
def sensors() -> dg.Definitions:
    settings = load_settings()
    sources = available_sources(settings)
    if not sources:
        return dg.Definitions()
    defined = [build_inbox_sensor(sources, settings)]
    defined += [build_polling_sensor(s, settings) for s in sources
                if s.name in POLLING_SOURCES and polls_activity(s)]
    return dg.Definitions(sensors=defined)
