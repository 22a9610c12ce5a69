"""The one factory for the four stages every source has:

``<source>/raw_orders`` → ``normalized_transactions`` → ``journal_entries`` → ``posted_entries``.

Every asset reads ``context.partition_time_window``, so one run covers one day or any range: a backfill
is one run (``BackfillPolicy.single_run``), and each stage walks the run's days in windows of at most
``WINDOW_DAYS`` (31), so memory stays flat however long the range. Source SQL takes a window of days
(``lib/sources.window_params``): each window is one transaction (delete + insert, one statement per
step). If anything in a window cannot be booked, that transaction is rolled back and the stage goes
day by day: each business day its own transaction, a day whose input cannot be booked recorded in
``ops.day_errors``.

A failing day never holds back the good days of its run: a stage fails its step only when no day of
the run is left; otherwise the later stages skip the recorded days, and ``posted_entries`` fails the
run naming them (file, row, column) once the good days are posted.
"""



import datetime as dt

import dagster as dg

from acctsync_pipelines.defs.partitions import daily_partitions
from acctsync_pipelines.defs.resources import DUCKDB_POOL, AcctsyncResource
from acctsync_pipelines.lib import reconcile
from acctsync_pipelines.lib import sources as stages
from acctsync_pipelines.lib.errors import InputError, PostingError
from acctsync_pipelines.lib.posting import post_day, post_window
from acctsync_pipelines.lib.sources import Source

BACKFILL = dg.BackfillPolicy.single_run()
PREVIEW_LINES = 40
# Metadata: days of multi-day windows that went one by one (a window holding a bad day, or a source that
# reads day by day). 0 for good input: more means the window path fails somewhere and only costs time.
ONE_BY_ONE = "days_one_by_one"
_JOBS: dict = {}


def source_job(source: Source):
    """The one ``<source>_daily`` job object. The factory, the schedules and the sensors all use this
    instance: Dagster refuses two different job definitions with the same name."""
    if source.name not in _JOBS:
        _JOBS[source.name] = dg.define_asset_job(
            f"{source.name}_daily", selection=dg.AssetSelection.groups(source.name),
            description=f"All four stages of {source.label} for a day or a range of days.")
    return _JOBS[source.name]


def window_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    window = context.partition_time_window
    return stages.days_in(window.start.date(), window.end.date())


def fail_days(name: str, stage: str, failures: dict[dt.date, str]) -> dg.Failure:
    """The step's failure naming each failed day and why (``failures`` metadata: day → message)."""
    listed = "\n".join(f"{day}: {message}" for day, message in sorted(failures.items()))
    return dg.Failure(
        description=f"{name} {stage}: {len(failures)} day(s) failed; nothing of them was posted.\n{listed}",
        metadata={**failed_days_metadata(failures),
                  "failures": dg.MetadataValue.json({str(d): m for d, m in sorted(failures.items())})},
    )


def stop_if_no_day_left(context, name: str, stage: str, days: list[dt.date], failures: dict[dt.date, str]) -> None:
    """Fail the step only when every day of the run failed. Otherwise the failed days stay recorded in
    ``ops.day_errors``, the later stages skip them, and the run's last stage fails naming them."""
    if failures and len(failures) >= len(days):
        raise fail_days(name, stage, failures)
    if failures:
        context.log.warning(f"{name} {stage}: {len(failures)} day(s) failed, the later stages skip them: "
                            + ", ".join(str(d) for d in sorted(failures)))


def _table_md(names: list[str], rows) -> str:
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _markdown_table(cursor) -> str:
    """A query's result as a Markdown table (Dagster metadata)."""
    return _table_md([d[0] for d in cursor.description], cursor.fetchall())


def _rows_markdown(rows: list[dict]) -> str:
    """Failure rows (dicts with the same keys) as a Markdown table."""
    names = list(rows[0]) if rows else []
    return _table_md(names, [[r[n] for n in names] for r in rows])


def failed_days_metadata(failures: dict[dt.date, str]) -> dict:
    return {"failed_days": [str(d) for d in sorted(failures)]} if failures else {}


def check_severity(days_failing: set, days: list) -> dg.AssetCheckSeverity:
    """A day that fails a blocking check is recorded in ops.day_errors, so posting skips it and then fails
    naming it. Dagster's blocking (severity ERROR) stops the whole step, so it is used only when no day of
    the run passed; otherwise WARN, and the good days of the run still post."""
    return dg.AssetCheckSeverity.ERROR if len(days_failing) >= len(days) else dg.AssetCheckSeverity.WARN


def build_source_pipeline(source: Source) -> dg.Definitions:
    name = source.name
    partitions = daily_partitions(name)
    day_checks = (*source.checks, *reconcile.day_checks(name))

    def key(stage: str) -> dg.AssetKey:
        return dg.AssetKey([name, stage])

    common = dict(
        group_name=name,
        partitions_def=partitions,
        pool=DUCKDB_POOL,
        kinds={"duckdb"},
        backfill_policy=BACKFILL,
    )

    @dg.asset(key=key("raw_orders"), description=f"{source.label} data for the day, verbatim, with file and revision.", **common)
    def raw_orders(context: dg.AssetExecutionContext, acctsync: AcctsyncResource) -> dg.MaterializeResult:
        settings, home = acctsync.settings, acctsync.home_path
        failures: dict[dt.date, str] = {}
        totals: dict[str, int] = {}
        days = window_days(context)
        one_by_one = 0

        def add(details: dict[str, int]) -> None:
            for k, v in details.items():
                totals[k] = totals.get(k, 0) + v

        with acctsync.warehouse.connect() as conn:
            for window in stages.windows_of(days):
                stats = stages.run_raw_window(conn, source, settings, home, window)
                if stats is not None:
                    add(stats.details)
                    context.log.info(f"{name} {window[0]}..{window[-1]}: raw {stats.details} (one transaction)")
                    continue
                one_by_one += len(window) if len(window) > 1 else 0
                for day in window:
                    try:
                        stats = stages.run_raw(conn, source, settings, home, day)
                    except InputError as exc:
                        failures[day] = str(exc)
                        context.log.error(str(exc))
                        continue
                    add(stats.details)
                    context.log.info(f"{name} {day}: raw {stats.details}")
        stop_if_no_day_left(context, name, "raw_orders", days, failures)
        return dg.MaterializeResult(metadata={**totals, "dagster/row_count": sum(totals.values()),
                                              ONE_BY_ONE: one_by_one, **failed_days_metadata(failures)})

    def _replace_stage(context, acctsync: AcctsyncResource, stage: str) -> tuple[int, dict[dt.date, str], int]:
        """Rows written, failed days, and the days of multi-day windows done one by one."""
        settings = acctsync.settings
        failures: dict[dt.date, str] = {}
        rows = one_by_one = 0
        with acctsync.warehouse.connect() as conn:
            for window in stages.windows_of(window_days(context)):
                failures.update(stages.blocking_errors(conn, name, window, stage))
                todo = [day for day in window if day not in failures]
                counts = stages.replace_window(conn, source, settings, todo, stage)
                if counts is not None:
                    rows += sum(counts.values())
                    continue
                one_by_one += len(todo) if len(todo) > 1 else 0
                for day in todo:
                    try:
                        rows += stages.replace_day(conn, source, settings, day, stage)
                    except InputError as exc:
                        failures[day] = str(exc)
                        context.log.error(str(exc))
        return rows, failures, one_by_one

    @dg.asset(key=key("normalized_transactions"), deps=[raw_orders],
              description="Source-neutral sales, cancellations and cash events (staging.normalized_transactions).",
              **common)
    def normalized_transactions(context: dg.AssetExecutionContext, acctsync: AcctsyncResource) -> dg.MaterializeResult:
        rows, failures, one_by_one = _replace_stage(context, acctsync, "normalized_transactions")
        days = window_days(context)
        stop_if_no_day_left(context, name, "normalized_transactions", days, failures)
        with acctsync.warehouse.connect() as conn:
            metadata = _normalized_metadata(conn, name, [d for d in days if d not in failures])
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, **metadata, ONE_BY_ONE: one_by_one,
                                              **failed_days_metadata(failures)})

    check_specs = [
        dg.AssetCheckSpec(check.name, asset=key("journal_entries"), blocking=True, description=check.description)
        for check in day_checks
    ]

    @dg.asset(key=key("journal_entries"), deps=[normalized_transactions], check_specs=check_specs,
              description="Balanced journal entries for the day (ledger.journal_lines).", **common)
    def journal_entries(context: dg.AssetExecutionContext, acctsync: AcctsyncResource):
        rows, failures, one_by_one = _replace_stage(context, acctsync, "journal_entries")
        days = [d for d in window_days(context) if d not in failures]
        check_failures: dict[str, list[dict]] = {check.name: [] for check in day_checks}
        with acctsync.warehouse.connect() as conn:
            source.register_config(conn, acctsync.settings)
            for window in stages.windows_of(days):
                for check in day_checks:
                    for day, failed in sorted(check.window_failures(conn, name, window).items()):
                        check_failures[check.name] += [{"business_date": str(day), **r} for r in failed]
                        stages.record_error(conn, name, day, "journal_entries",
                                            f"check {check.name} failed: {failed[:5]}")
            metadata = _journal_metadata(conn, name, days)
        stop_if_no_day_left(context, name, "journal_entries", window_days(context), failures)
        yield dg.MaterializeResult(metadata={"dagster/row_count": rows, **metadata, ONE_BY_ONE: one_by_one,
                                             **failed_days_metadata(failures)})
        severity = check_severity({r["business_date"] for failed in check_failures.values() for r in failed}, days)
        for check in day_checks:
            failed = check_failures[check.name]
            yield dg.AssetCheckResult(
                check_name=check.name,
                passed=not failed,
                severity=severity,
                metadata={"failures": len(failed), "examples": dg.MetadataValue.json(
                    [{k: str(v) for k, v in r.items()} for r in failed[:20]]),
                          **({"offending_figures": dg.MetadataValue.md(_rows_markdown(failed[:50]))} if failed else {})},
            )

    posted_check = dg.AssetCheckSpec(
        reconcile.POSTED_CHECK, asset=key("posted_entries"),
        description="per day and target, what the posting log says is posted (net of reversals) = the journal")

    @dg.asset(key=key("posted_entries"), deps=[journal_entries], check_specs=[posted_check],
              description="What was sent to each target: only the difference against the posting log.",
              **common)
    def posted_entries(context: dg.AssetExecutionContext, acctsync: AcctsyncResource) -> dg.MaterializeResult:
        settings, home = acctsync.settings, acctsync.home_path
        targets = settings.source(name).targets
        failures: dict[dt.date, str] = {}
        posts = reversals = lines = 0
        exports: list[str] = []
        posted_mismatches: list[dict] = []
        sent: list[str] = []
        with acctsync.warehouse.connect() as conn:
            days = window_days(context)
            failures.update(stages.blocking_errors(conn, name, days, "posted_entries"))
            todo = [day for day in days if day not in failures]
            # File targets take a window at once (a batch and file per day still); API targets, and a
            # window that fails, go day by day, which names the failing day.
            windowed: dict[str, dict] = {}
            for target in targets:
                for window in stages.windows_of(todo) if len(todo) > 1 else []:
                    try:
                        found = post_window(conn, settings, home, name, window, target)
                    except PostingError:
                        found = None
                    if found is not None:
                        windowed.setdefault(target, {}).update(found)
            for day in todo:
                for target in targets:
                    try:
                        result = (windowed[target][day] if day in windowed.get(target, {})
                                  else post_day(conn, settings, home, name, day, target))
                    except PostingError as exc:
                        failures[day] = f"{target}: {exc}"
                        continue
                    posts, reversals, lines = posts + result.posts, reversals + result.reversals, lines + result.lines
                    if result.export:
                        exports.append(str(result.export))
                    if result.posts or result.reversals:
                        where = f" in {result.export}" if result.export else f" (batch {result.batch_id})"
                        sent.append(f"{name} {day} → {target}: {result.posts} posted, {result.reversals} reversed, "
                                    f"{result.lines} lines{where}")
            # one log entry per window of days: each entry is a write to the run's event log
            for chunk in stages.windows_of(sent):
                context.log.info("\n".join(chunk))
            for target in targets:
                for window in stages.windows_of([day for day in todo if day not in failures]):
                    posted_mismatches += [{**r, "business_date": str(r["business_date"])}
                                          for r in reconcile.posted_mismatches(conn, name, window, target)]
            (waiting,) = conn.execute(
                "SELECT count(*) FROM ledger.journal_lines WHERE source = ? AND status = 'needs_review'", [name]
            ).fetchone()
        if failures:
            raise fail_days(name, "posted_entries", failures)
        return dg.MaterializeResult(
            metadata={
                "entries_posted": posts,
                "entries_reversed": reversals,
                "dagster/row_count": lines,
                # the latest window's files: the metadata is copied into every day's materialization of the run
                "export_files": dg.MetadataValue.json(exports[-stages.WINDOW_DAYS:]),
                "export_file_count": len(exports),
                **({"latest_export_file": dg.MetadataValue.path(exports[-1])} if exports else {}),
                "lines_waiting_for_review": waiting,
            },
            check_results=[dg.AssetCheckResult(
                check_name=reconcile.POSTED_CHECK, passed=not posted_mismatches, severity=dg.AssetCheckSeverity.ERROR,
                metadata={"mismatches": len(posted_mismatches),
                          **({"offending_figures": dg.MetadataValue.md(_rows_markdown(posted_mismatches[:50]))}
                             if posted_mismatches else {})},
            )],
        )

    job = source_job(source)
    return dg.Definitions(assets=[raw_orders, normalized_transactions, journal_entries, posted_entries], jobs=[job])


def _normalized_metadata(conn, source: str, days: list[dt.date]) -> dict:
    """Totals by tender and by tax rate over the window: what a person checks against the register."""
    if not days:
        return {}
    by_tender = _markdown_table(conn.execute(
        """SELECT coalesce(tender, '') AS tender, coalesce(tender_name, '') AS tender_name,
                  count(DISTINCT doc_id) AS documents, sum(amount) AS amount
           FROM staging.normalized_transactions
           WHERE source = ? AND list_contains(?, business_date) AND tender IS NOT NULL
           GROUP BY ALL ORDER BY tender, tender_name""",
        [source, days],
    ))
    by_kind = _markdown_table(conn.execute(
        """SELECT doc_kind, coalesce(tax_rate::VARCHAR, '') AS tax_rate, count(*) AS rows, sum(amount) AS amount
           FROM staging.normalized_transactions
           WHERE source = ? AND list_contains(?, business_date)
           GROUP BY ALL ORDER BY doc_kind, tax_rate""",
        [source, days],
    ))
    return {
        "totals_by_tender": dg.MetadataValue.md(by_tender),
        "totals_by_kind_and_tax_rate": dg.MetadataValue.md(by_kind),
    }


def _journal_metadata(conn, source: str, days: list[dt.date]) -> dict:
    if not days:
        return {}
    by_account = conn.execute(
        """SELECT account, sub_account,
                  sum(amount) FILTER (WHERE side = 'debit') AS debit,
                  sum(amount) FILTER (WHERE side = 'credit') AS credit
           FROM ledger.journal_entry_lines WHERE source = ? AND list_contains(?, business_date)
           GROUP BY ALL ORDER BY account, sub_account""",
        [source, days],
    )
    by_account_md = _markdown_table(by_account)
    preview = conn.execute(
        f"""SELECT entry_id, line_no, side, account, sub_account, tax_category, amount, tax_amount, status
            FROM ledger.journal_lines WHERE source = ? AND business_date = ?
            ORDER BY entry_id, line_no LIMIT {PREVIEW_LINES}""",
        [source, days[-1]],
    )
    preview_md = _markdown_table(preview)
    (waiting,) = conn.execute(
        "SELECT count(*) FROM ledger.journal_lines WHERE source = ? AND list_contains(?, business_date) "
        "AND status = 'needs_review'",
        [source, days],
    ).fetchone()
    return {
        "totals_by_account": dg.MetadataValue.md(by_account_md),
        f"journal_preview_{days[-1]}": dg.MetadataValue.md(preview_md),
        "lines_waiting_for_review": waiting,
    }
