"""What the review queue adds whenever a day's journal is rebuilt (the journal stage and the review CLI):
people's corrections, and holds from failed non-blocking checks."""

from __future__ import annotations

import datetime as dt

import duckdb

from acctsync_pipelines.lib import config_tables
from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.sql import run, split_statements, sql_text


def apply_overrides(conn: duckdb.DuckDBPyConnection, settings: Settings, source: str, day: dt.date) -> int:
    """Apply the corrections made on the versions of the day's entries that the source just computed.

    Runs inside the caller's transaction, after the source's journal step. Returns the lines corrected.
    """
    (pending,) = conn.execute(
        "SELECT count(*) FROM ledger.review_overrides WHERE source = ? AND business_date = ?", [source, day]
    ).fetchall()[0]
    if not pending:
        return 0
    config_tables.register_common(conn, settings)
    params = {"source": source, "day": day, "rounding": settings.tax.rounding}
    for statement in split_statements(sql_text(__file__, "apply_overrides.sql")):
        run(conn, statement, params)
    (applied,) = conn.execute("SELECT count(*) FROM review_override_hits").fetchall()[0]
    return applied


def hold_for_checks(conn: duckdb.DuckDBPyConnection, source, days: list[dt.date]) -> int:
    """Evaluate the source's non-blocking checks (``source.review_checks``) on the journal of ``days``. A
    failed check makes its day's entries wait, or only the entries its rows name in an ``entry_id`` column;
    the reason goes on each entry's first line. Returns the entries held."""
    held = 0
    for check in source.review_checks:
        for day, failed in sorted(check.window_failures(conn, source.name, days).items()):
            named = sorted({str(row["entry_id"]) for row in failed if row.get("entry_id") is not None})
            cursor = run(conn, sql_text(__file__, "hold_entries.sql"), {
                "source": source.name, "day": day, "all_entries": not named, "entries": named,
                "reason": f"day check {check.name} failed ({check.description}): {len(failed)} finding(s)",
            })
            held += cursor.fetchall()[0][0]
    return held


def review_day(conn: duckdb.DuckDBPyConnection, settings: Settings, source, day: dt.date) -> None:
    """What the review queue adds to a day's journal the source just built (a ``lib.sources.Source``):
    people's corrections, then holds from failed non-blocking checks."""
    review_days(conn, settings, source, [day])


def review_days(conn: duckdb.DuckDBPyConnection, settings: Settings, source, days: list[dt.date]) -> None:
    """``review_day`` for a window of days: corrections on the days that have any, then the checks once."""
    corrected = conn.execute(
        "SELECT DISTINCT business_date FROM ledger.review_overrides WHERE source = ? AND list_contains(?, business_date) "
        "ORDER BY 1", [source.name, list(days)]).fetchall()
    for (day,) in corrected:
        apply_overrides(conn, settings, source.name, day)
    hold_for_checks(conn, source, days)
