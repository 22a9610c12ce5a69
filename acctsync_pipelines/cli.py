"""The ``acctsync`` command.

``acctsync run --source <usen_reji|stores|amazon_business|settlement|all> --start YYYY-MM-DD --end YYYY-MM-DD``
materializes the four stages for each day through Dagster (in process, the same job the UI runs): one
run per source and window of up to 31 days, printing each day's outcome as its window finishes. A bad
day never holds back a good one (the run books and posts the good days, then fails naming the bad).
``all`` then settles the same days (``settlement_daily``: bank deposits matched to receivables) when
there are bank statements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

from acctsync_pipelines.lib.config import SOURCE_NAMES, ConfigError, Settings, acctsync_home, load_settings
from acctsync_pipelines.lib.sources import days_in, windows_of
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines.review_cli import add_review_parser, cmd_review

SETTLEMENT = "settlement"  # not a source: the settlement_daily job, after the sources' days


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acctsync", description="Open accounting sync for Japanese small businesses.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="materialize all four stages for a range of business days")
    run.add_argument("--source", required=True, choices=[*SOURCE_NAMES, SETTLEMENT, "all"])
    run.add_argument("--start", required=True, type=_date, help="first business day (YYYY-MM-DD)")
    run.add_argument("--end", required=True, type=_date, help="last business day, inclusive (YYYY-MM-DD)")

    commands.add_parser("status", help="what the warehouse holds: days, documents, journal, postings, review")
    commands.add_parser("publish", help="refresh the analysts' copy under $ACCTSYNC_HOME/published/")

    sample = commands.add_parser("sample", help="write the deterministic sample inbox")
    sample.add_argument("--home", type=Path, default=None, help="data root (default: ACCTSYNC_HOME)")
    add_review_parser(commands)
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"acctsync: {message}", file=sys.stderr)
    return code


def _check_range(settings: Settings, sources: list[str], start: dt.date, end: dt.date) -> str | None:
    if end < start:
        return f"--end {end} is before --start {start}"
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    if end >= today:
        return f"--end {end} is not a finished business day yet (today is {today} in {settings.timezone})"
    for source in sources:
        first = settings.settlement.start_date if source == SETTLEMENT else settings.source(source).start_date
        if start < first:
            key = "settlement" if source == SETTLEMENT else f"sources.{source}"
            return (f"--start {start} is before {key}.start_date ({first}); "
                    "set an earlier start_date in the configuration to book those days")
    return None


def _instance():
    import dagster as dg

    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def _failure_text(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                return data.user_failure_data.description
            if data.error:
                return data.error.message.strip()
    return "the run failed (see the Dagster run log)"


def _failed_days(result, days: list[dt.date]) -> dict[dt.date, str]:
    """The days of a run that failed, with why: from the steps' failures (``failures`` metadata, day →
    message); every day of the run when it failed otherwise (an error that is not about a day)."""
    if result.success:
        return {}
    failed: dict[dt.date, str] = {}
    for event in result.all_events:
        data = event.step_failure_data if event.is_step_failure else None
        listed = data.user_failure_data.metadata.get("failures") if data and data.user_failure_data else None
        for day, message in (listed.value if listed is not None else {}).items():
            failed.setdefault(dt.date.fromisoformat(day), message)
    return failed or dict.fromkeys(days, _failure_text(result))


def _day_summaries(warehouse: Warehouse, source: str, days: list[dt.date], since: dt.datetime) -> dict[dt.date, dict]:
    """Per day of a finished run: documents, journal lines, lines waiting for review, and the lines and
    batches posted since the run started."""
    found: dict[dt.date, dict] = {}
    with warehouse.connect(read_only=True) as conn:
        if source == SETTLEMENT:
            from acctsync_pipelines.lib.settlement.reports import day_summary

            found = {day: day_summary(conn, day) for day in days}
        else:
            rows = conn.execute(
                """WITH days AS (SELECT unnest($days::DATE[]) AS business_date),
                   docs AS (SELECT business_date, count(DISTINCT doc_id) AS n FROM staging.normalized_transactions
                            WHERE source = $s AND list_contains($days, business_date)
                              AND doc_kind NOT IN ('cash_in', 'cash_out', 'over_short') GROUP BY ALL),
                   lines AS (SELECT business_date, count(*) AS n, count(*) FILTER (WHERE status = 'needs_review') AS waiting
                             FROM ledger.journal_lines WHERE source = $s AND list_contains($days, business_date)
                             GROUP BY ALL)
                   SELECT business_date, coalesce(docs.n, 0), coalesce(lines.n, 0), coalesce(lines.waiting, 0)
                   FROM days LEFT JOIN docs USING (business_date) LEFT JOIN lines USING (business_date)""",
                {"s": source, "days": days},
            ).fetchall()
            found = {day: {"documents": d, "journal_lines": j, "waiting_review": w} for day, d, j, w in rows}
        batches = conn.execute(
            """SELECT business_date, line_count, target || ':' || coalesce(export_file, batch_id)
               FROM ledger.posting_batches
               WHERE source = ? AND list_contains(?, business_date) AND created_at >= ?
               ORDER BY business_date, created_at, batch_id""",
            [source, days, since],
        ).fetchall()
    for day in days:
        found[day]["posted"] = sum(n for d, n, _ in batches if d == day)
        found[day]["batches"] = [name for d, _, name in batches if d == day]
    return found


def cmd_run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc))
    sources = list(settings.enabled_sources) if args.source == "all" else [args.source]
    if args.source == SETTLEMENT:
        if not settings.settlement.enabled:
            return _fail("settlement is turned off (settlement.enabled: false)")
    elif args.source != "all" and args.source not in settings.enabled_sources:
        return _fail(f"source {args.source} is turned off (sources.{args.source}.enabled: false)")
    problem = _check_range(settings, sources, args.start, args.end)
    if problem:
        return _fail(problem)

    warnings.filterwarnings("ignore")  # Dagster's beta/supersession notices are not the user's concern here
    from acctsync_pipelines.definitions import defs
    from acctsync_pipelines.defs.schedules import RANGE_END, RANGE_START

    definitions = defs()
    instance = _instance()
    warehouse = Warehouse(acctsync_home() / "warehouse.duckdb")
    days = days_in(args.start, args.end + dt.timedelta(days=1))
    run_days = {source: days for source in sources}
    if args.source == "all" and settings.settlement.enabled:
        from acctsync_pipelines.lib.settlement.statement import statement_files

        # the same days' deposits, once the sources have booked the receivables they pay
        if statement_files(acctsync_home()):
            sources.append(SETTLEMENT)
            run_days[SETTLEMENT] = [d for d in days if d >= settings.settlement.start_date]
        else:
            print("(settlement: no bank statements in inbox/bank/; skipped)")
    failed: list[tuple[str, dt.date, str]] = []
    totals = {"days": 0, "documents": 0, "journal_lines": 0, "posted_lines": 0, "waiting_review": 0}
    began = time.monotonic()
    jobs = {}
    for source in list(sources):
        try:
            jobs[source] = definitions.resolve_job_def(f"{source}_daily")
        except Exception:  # noqa: BLE001 - Dagster raises an invariant violation for an unknown job
            if args.source != "all":
                return _fail(f"source {source} is not available in this version of acctsync")
            print(f"({source}: not available in this version; skipped)")
            sources.remove(source)
    total_days = sum(len(run_days[source]) for source in sources)
    for source in sources:
        job = jobs[source]
        for window in windows_of(run_days[source]):
            started = dt.datetime.now(dt.timezone.utc)
            trigger = {"acctsync/trigger": "cli"}
            which = ({"partition_key": window[0].isoformat(), "tags": trigger} if len(window) == 1 else
                     {"tags": {**trigger, RANGE_START: window[0].isoformat(), RANGE_END: window[-1].isoformat()}})
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}, **which)
            failed_days = _failed_days(result, window)
            summaries = _day_summaries(warehouse, source, [d for d in window if d not in failed_days], started)
            for day in window:
                done = totals["days"] + len(failed) + 1
                prefix = f"[{done}/{total_days}] {source} {day}"
                if day in failed_days:
                    failed.append((source, day, failed_days[day]))
                    print(f"{prefix}  FAILED  {failed_days[day].splitlines()[0]}", flush=True)
                    continue
                summary = summaries[day]
                totals["days"] += 1
                for key in ("documents", "journal_lines", "waiting_review", "posted_lines"):
                    totals[key] += summary["posted" if key == "posted_lines" else key]
                sent = (f"posted {summary['posted']} lines ({', '.join(summary['batches'])})" if summary["batches"]
                        else "nothing new to post")
                print(f"{prefix}  ok  documents {summary['documents']}{summary.get('detail', '')}  "
                      f"journal lines {summary['journal_lines']}  "
                      f"waiting for review {summary['waiting_review']}  {sent}", flush=True)
    elapsed = time.monotonic() - began
    if totals["days"] and settings.publish.enabled:
        _publish(settings, force=False)
    print(f"\nSummary: {totals['days']} day(s) ok, {len(failed)} failed in {elapsed:.1f}s; "
          f"documents {totals['documents']}, journal lines {totals['journal_lines']}, "
          f"posted lines {totals['posted_lines']}, lines waiting for review {totals['waiting_review']}")
    if failed:
        print("\nFailed days (nothing of them was posted):", file=sys.stderr)
        for source, day, reason in failed:
            print(f"- {source} {day}:\n    " + reason.replace("\n", "\n    "), file=sys.stderr)
        return 1
    return 0


def _publish(settings: Settings, force: bool) -> None:
    """Refresh the analysts' copy (nothing is rewritten when the ledger did not change)."""
    from acctsync_pipelines.lib.publish import publish

    home = acctsync_home()
    result = publish(Warehouse(home / "warehouse.duckdb"), home, parquet=settings.publish.parquet,
                     keep_parquet_versions=settings.publish.keep_parquet_versions, force=force)
    where = result.database or home / "published"
    print(f"Analysts' copy: {where} ({result.reason})")


def cmd_publish(_: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        return _fail(str(exc))
    _publish(settings, force=True)
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    home = acctsync_home()
    path = home / "warehouse.duckdb"
    if not path.exists():
        return _fail(f"no warehouse yet at {path}; run `acctsync run` first")
    with Warehouse(path).connect(read_only=True) as conn:
        rows = conn.execute(
            """WITH j AS (SELECT source, count(DISTINCT business_date) AS days, count(*) AS journal_lines,
                                 count(*) FILTER (WHERE status = 'needs_review') AS waiting
                          FROM ledger.journal_lines WHERE status <> 'reversed' GROUP BY source),
                    d AS (SELECT source, count(DISTINCT source || doc_id) AS documents
                          FROM staging.normalized_transactions
                          WHERE doc_kind NOT IN ('cash_in', 'cash_out', 'over_short') GROUP BY source),
                    p AS (SELECT source, count(*) AS posted_lines, count(DISTINCT batch_id) AS batches
                          FROM ledger.posted_lines GROUP BY source)
               SELECT source, coalesce(days, 0), coalesce(documents, 0), coalesce(journal_lines, 0),
                      coalesce(posted_lines, 0), coalesce(batches, 0), coalesce(waiting, 0)
               FROM j FULL JOIN d USING (source) FULL JOIN p USING (source) ORDER BY source"""
        ).fetchall()
        from acctsync_pipelines.lib.settlement.reports import status_lines

        settlement = status_lines(conn)
    header = ("source", "days", "documents", "journal lines", "posted lines", "batches", "waiting for review")
    widths = [max(len(str(v)) for v in col) for col in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(row, widths))))
    if settlement:
        print("\n" + "\n".join(settlement))
    print(f"\nYayoi import files: {home / 'exports' / 'yayoi'}")
    print("Lines waiting for review: acctsync review list   (approve, correct, learn: acctsync review --help)")
    print(f"Warehouse (pipeline-owned, do not open while it runs): {path}")
    print("Open the Dagster UI: make ui   (http://127.0.0.1:3000)")
    published = home / "published" / "acctsync.duckdb"
    print(f"Query the journal (analysts' copy; refresh: acctsync publish): .venv/bin/python -c \"import duckdb; "
          f"print(duckdb.connect('{published}', read_only=True).sql('SELECT * FROM ledger.journal_lines LIMIT 20'))\"")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from acctsync_pipelines.lib.sample import write_all

    home = (args.home or acctsync_home()).resolve()
    for line in write_all(home):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"run": cmd_run, "status": cmd_status, "sample": cmd_sample, "review": cmd_review,
               "publish": cmd_publish}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
