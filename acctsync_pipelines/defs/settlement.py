"""Settlement: each bank value date's deposits matched to the receivables they pay, then posted.

- ``settlement/matches`` reads ``$ACCTSYNC_HOME/inbox/bank/*.csv`` and writes the day's
  ``ledger.deposit_matches``, ``ledger.settlement_allocations`` and settlement entries
  (``ledger.journal_lines`` with source ``settlement``). It depends on every available source's
  ``journal_entries`` over the lookback window: the receivables it settles.
  Checks: ``entries_balance`` (blocking); ``settled_once`` and ``overdue_receivables`` (warnings).
- ``settlement/posted_entries`` posts the day's settlement entries to ``settlement.targets`` through
  the posting log, like every source's ``posted_entries``.
- Job ``settlement_daily`` runs both for a day or a range. The inbox sensor (``defs/sensors.py``)
  requests it for the value dates of a new or changed bank export; ``settlement_nightly`` runs it an
  hour after the sources' nightly schedules, for the previous day and the sources' longest lookback.
"""

import datetime as dt

import dagster as dg

from acctsync_pipelines.defs.available import available_sources
from acctsync_pipelines.defs.pipeline import (
    BACKFILL, _markdown_table, check_severity, fail_days, failed_days_metadata, stop_if_no_day_left, window_days,
)
from acctsync_pipelines.defs.resources import DUCKDB_POOL, AcctsyncResource
from acctsync_pipelines.defs.schedules import nightly_schedule
from acctsync_pipelines.lib import sources as stages
from acctsync_pipelines.lib.config import Settings, load_settings
from acctsync_pipelines.lib.errors import InputError, PostingError
from acctsync_pipelines.lib.settlement import matching
from acctsync_pipelines.lib.settlement.posting import post_settlement_day
from acctsync_pipelines.lib.settlement.statement import read_statements

GROUP = matching.SOURCE
MATCHES = dg.AssetKey([GROUP, "matches"])
POSTED = dg.AssetKey([GROUP, "posted_entries"])
EXAMPLES = 20
JOB_NAME = f"{GROUP}_daily"
_JOB: list = []


def settlement_job():
    """The one ``settlement_daily`` job object, shared by the definitions below and the inbox sensor
    (Dagster refuses two different job definitions with the same name)."""
    if not _JOB:
        _JOB.append(dg.define_asset_job(
            JOB_NAME, selection=dg.AssetSelection.groups(GROUP),
            description="Match a day's (or a range's) bank deposits and post the settlements."))
    return _JOB[0]


def build_nightly_schedule(settings: Settings) -> dg.ScheduleDefinition:
    """An hour after the sources' nightly runs (the receivables are booked by then): the previous
    value date, and the longest of the sources' lookbacks before it, whose receivables may have changed."""
    cfg = settings.schedules
    lookback = max((getattr(cfg.lookback_days, s.name, 0) for s in available_sources(settings)), default=0)
    return nightly_schedule(
        name=f"{GROUP}_nightly", job=settlement_job(), hour=(cfg.hour + 1) % 24, minute=cfg.minute,
        timezone=settings.timezone, status=cfg.default_status, first_day=settings.settlement.start_date,
        lookback=lookback, what="Settlement (the deposits of a value date)", too_early="settlement.start_date")


def _check_result(check: stages.DayCheck, failed: list[dict], severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check.name,
        passed=not failed,
        severity=severity,
        metadata={"failures": len(failed),
                  "examples": dg.MetadataValue.json([{k: str(v) for k, v in r.items()} for r in failed[:EXAMPLES]])},
    )


def _upstream(settings: Settings) -> list[dg.AssetDep]:
    """Each available source's journal over the lookback window: the receivables a day's deposits pay."""
    lookback = dg.TimeWindowPartitionMapping(start_offset=-settings.settlement.lookback_days, end_offset=0,
                                             allow_nonexistent_upstream_partitions=True)
    return [dg.AssetDep(dg.AssetKey([source.name, "journal_entries"]), partition_mapping=lookback)
            for source in available_sources(settings)]


def _matches_metadata(conn, days: list[dt.date]) -> dict:
    by_status = conn.execute(
        """SELECT status, count(*) AS deposits, sum(amount) AS amount, sum(fee) AS fees
           FROM ledger.deposit_matches WHERE list_contains(?, value_date) GROUP BY status ORDER BY status""",
        [days],
    )
    unmatched = conn.execute(
        """SELECT value_date, amount, description, reason FROM reports.unmatched_deposits
           WHERE list_contains(?, value_date) ORDER BY value_date LIMIT 40""",
        [days],
    )
    open_by_tender = conn.execute(
        """SELECT source, tender, store_code, open_amount, not_yet_due, overdue, oldest_sale_date
           FROM reports.unsettled_receivables ORDER BY source, tender, store_code LIMIT 40"""
    )
    (waiting,) = conn.execute(
        "SELECT count(DISTINCT entry_id) FROM ledger.journal_lines WHERE source = ? AND status = 'needs_review'",
        [matching.SOURCE],
    ).fetchone()
    return {
        "deposits_by_status": dg.MetadataValue.md(_markdown_table(by_status)),
        "unmatched_deposits": dg.MetadataValue.md(_markdown_table(unmatched)),
        "unsettled_receivables": dg.MetadataValue.md(_markdown_table(open_by_tender)),
        "entries_waiting_for_review": waiting,
    }


@dg.definitions
def settlement() -> dg.Definitions:
    settings = load_settings()
    if not settings.settlement.enabled:
        return dg.Definitions()
    partitions = dg.DailyPartitionsDefinition(
        start_date=settings.settlement.start_date.isoformat(), timezone=settings.timezone)
    common = dict(group_name=GROUP, partitions_def=partitions, pool=DUCKDB_POOL, kinds={"duckdb"},
                  backfill_policy=BACKFILL)
    check_specs = [
        *(dg.AssetCheckSpec(check.name, asset=MATCHES, blocking=True, description=check.description)
          for check in matching.CHECKS),
        *(dg.AssetCheckSpec(check.name, asset=MATCHES, blocking=False, description=check.description)
          for check in matching.WARNINGS),
    ]

    @dg.asset(key=MATCHES, deps=_upstream(settings), check_specs=check_specs,
              description="Each deposit on the bank statement matched to the receivables it pays "
                          "(ledger.deposit_matches, ledger.settlement_allocations) and its settlement entry; "
                          "reports.unsettled_receivables and reports.unmatched_deposits.",
              **common)
    def matches(context: dg.AssetExecutionContext, acctsync: AcctsyncResource):
        settings, home = acctsync.settings, acctsync.home_path
        days = window_days(context)
        failures: dict[dt.date, str] = {}
        check_failures: dict[str, list[dict]] = {c.name: [] for c in (*matching.CHECKS, *matching.WARNINGS)}
        totals = {status: 0 for status in matching.STATUSES} | {"entries": 0, "journal_lines": 0}
        not_applied: set[str] = set()
        with acctsync.warehouse.connect() as conn:
            try:
                statement = read_statements(home, settings.settlement.columns)
            except InputError as exc:  # an export nobody can read: no day can be settled
                statement = None
                context.log.error(str(exc))
                for day in days:
                    failures[day] = str(exc)
                    stages.record_error(conn, GROUP, day, "journal_entries", str(exc))
            for day in days if statement is not None else ():
                try:
                    result = matching.match_day(conn, settings, day, statement)
                except InputError as exc:
                    failures[day] = str(exc)
                    context.log.error(str(exc))
                    continue
                for status, count in result.deposits.items():
                    totals[status] += count
                totals["entries"] += result.entries
                totals["journal_lines"] += result.lines
                not_applied.update(result.rules_not_applied)
                context.log.info(f"settlement {day}: deposits {result.deposits}, {result.entries} entries")
                for check in matching.CHECKS:
                    failed = check.failures(conn, GROUP, day)
                    if failed:
                        check_failures[check.name] += [{"value_date": str(day), **r} for r in failed]
                        stages.record_error(conn, GROUP, day, "journal_entries",
                                            f"check {check.name} failed: {failed[:5]}")
            done = [d for d in days if d not in failures]
            # the warnings are about the whole ledger, as of the last day settled
            for check in matching.WARNINGS if done else ():
                check_failures[check.name] = [{"as_of": str(done[-1]), **r}
                                              for r in check.failures(conn, GROUP, done[-1])]
            metadata = _matches_metadata(conn, done)
        for note in sorted(not_applied):
            context.log.warning(f"settlement rule not applied ({note}); remove the sub-account from the rule")
        stop_if_no_day_left(context, GROUP, "matches", days, failures)
        yield dg.MaterializeResult(metadata={**totals, "dagster/row_count": totals["journal_lines"],
                                             "rules_not_applied": dg.MetadataValue.json(sorted(not_applied)),
                                             **metadata, **failed_days_metadata(failures)})
        severity = check_severity({r["value_date"] for c in matching.CHECKS for r in check_failures[c.name]}, done)
        for check in matching.CHECKS:
            yield _check_result(check, check_failures[check.name], severity)
        for check in matching.WARNINGS:
            yield _check_result(check, check_failures[check.name], dg.AssetCheckSeverity.WARN)

    @dg.asset(key=POSTED, deps=[matches],
              description="The day's settlement entries sent to settlement.targets: only the difference "
                          "against the posting log (freee: payments on the deals they settle).",
              **common)
    def posted_entries(context: dg.AssetExecutionContext, acctsync: AcctsyncResource) -> dg.MaterializeResult:
        settings, home = acctsync.settings, acctsync.home_path
        failures: dict[dt.date, str] = {}
        posts = reversals = lines = 0
        exports: list[str] = []
        with acctsync.warehouse.connect() as conn:
            for day in window_days(context):
                blocked = stages.blocking_error(conn, GROUP, day, "posted_entries")
                if blocked:
                    failures[day] = blocked
                    continue
                for target in settings.settlement.targets:
                    try:
                        result = post_settlement_day(conn, settings, home, day, target)
                    except PostingError as exc:
                        failures[day] = f"{target}: {exc}"
                        continue
                    posts, reversals, lines = posts + result.posts, reversals + result.reversals, lines + result.lines
                    if result.export:
                        exports.append(str(result.export))
                    if result.posts or result.reversals:
                        context.log.info(f"settlement {day} → {target}: {result.posts} posted, "
                                         f"{result.reversals} reversed, {result.lines} lines")
            (waiting,) = conn.execute(
                "SELECT count(*) FROM ledger.journal_lines WHERE source = ? AND status = 'needs_review'", [GROUP]
            ).fetchone()
        if failures:
            raise fail_days(GROUP, "posted_entries", failures)
        return dg.MaterializeResult(metadata={
            "entries_posted": posts, "entries_reversed": reversals, "dagster/row_count": lines,
            "export_files": dg.MetadataValue.json(exports), "lines_waiting_for_review": waiting,
        })

    return dg.Definitions(assets=[matches, posted_entries], jobs=[settlement_job()],
                          schedules=[build_nightly_schedule(settings)])
