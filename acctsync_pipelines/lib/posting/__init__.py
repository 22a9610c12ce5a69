"""Posting: send each day only the difference against the net of what the append-only log says is posted.

Order of work for one (target, source, day):
1. finish anything a crash left half-done (a claimed batch without its file);
2. compute the actions (diff.sql) and claim them — log rows and the exact lines — in one transaction;
3. send the batch (for yayoi_csv: write its file atomically).
Nothing is claimed twice: (target, entry_id, action_seq) is the log's primary key.
A file target can take a window of days at once (``post_window``): one diff and one claim for all of them
(still one batch, and one file, per day), then the files, rendered together.

A target provides ``reference_for(batch_id)`` and either
- ``recover(conn, source)`` + ``write(conn, batch_id)`` + ``write_batches(conn, batch_ids)`` (a file target:
  re-render what a crash left unwritten; write one batch's file, or render many at once and write each), or
- ``prepare(conn, source, day, pending)`` + ``send(conn, batch_id)`` (an API target, lib/targets/api_base.py):
  ``prepare`` refuses a day the target cannot take before anything of it is claimed, and finishes the
  day's actions an earlier run claimed but did not finish; ``send`` sends each claimed action and
  records its outcome in ledger.posting_results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.sources import window_params
from acctsync_pipelines.lib.sql import run, split_statements, sql_text
from acctsync_pipelines.lib.targets.freee import FreeeTarget
from acctsync_pipelines.lib.targets.quickbooks import QuickBooksTarget
from acctsync_pipelines.lib.targets.yayoi_csv import YayoiCsvTarget
from acctsync_pipelines.lib.targets.zoho_books import ZohoBooksTarget
from acctsync_pipelines.lib.warehouse import transaction

TARGETS = {t.name: t for t in (YayoiCsvTarget, FreeeTarget, QuickBooksTarget, ZohoBooksTarget)}


@dataclass(frozen=True)
class PostingResult:
    target: str
    day: dt.date
    batch_id: str | None = None
    posts: int = 0
    reversals: int = 0
    lines: int = 0
    export: Path | None = None
    resumed: int = 0  # actions an earlier run claimed and this one finished (API targets)


def make_target(name: str, settings: Settings, home: Path):
    if name not in TARGETS:
        raise PostingError(f"target {name!r} is not available in this version; available: {', '.join(TARGETS)}")
    return TARGETS[name](settings, home)


def post_day(
    conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, source: str, day: dt.date, target_name: str
) -> PostingResult:
    target = make_target(target_name, settings, home)
    params = {"target": target_name, "source": source, **window_params([day])}
    resumed = 0
    if hasattr(target, "prepare"):
        run(conn, "CREATE OR REPLACE TEMP TABLE pending_actions AS " + sql_text(__file__, "diff.sql"), params)
        (pending,) = conn.execute("SELECT count(*) FROM pending_actions").fetchone()
        resumed = target.prepare(conn, source, day, pending)
    else:
        target.recover(conn, source)
    claimed = _claim(conn, target, params)
    if day not in claimed:
        return PostingResult(target_name, day, resumed=resumed)
    batch_id, posts, reversals, lines = claimed[day]
    if hasattr(target, "send"):
        target.send(conn, batch_id)
        return PostingResult(target_name, day, batch_id, posts, reversals, lines, None, resumed)
    export = target.write(conn, batch_id)
    return PostingResult(target_name, day, batch_id, posts, reversals, lines, export)


def post_window(
    conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, source: str, days: list[dt.date],
    target_name: str,
) -> dict[dt.date, PostingResult] | None:
    """post_day for every day of ``days`` with one diff and one claim; None for a target that is not a
    file target (an API target prepares and sends day by day)."""
    target = make_target(target_name, settings, home)
    if not days or hasattr(target, "prepare"):
        return None
    target.recover(conn, source)
    claimed = _claim(conn, target, {"target": target_name, "source": source, **window_params(days)})
    exports = target.write_batches(conn, [batch_id for batch_id, _, _, _ in claimed.values()])
    results = {}
    for day in days:
        if day not in claimed:
            results[day] = PostingResult(target_name, day)
            continue
        batch_id, posts, reversals, lines = claimed[day]
        results[day] = PostingResult(target_name, day, batch_id, posts, reversals, lines, exports[batch_id])
    return results


def _claim(conn: duckdb.DuckDBPyConnection, target, params: dict) -> dict[dt.date, tuple[str, int, int, int]]:
    """Compute and claim the window's actions in one transaction, one batch per day that has any.
    Returns (batch_id, posts, reversals, lines) per such day."""
    with transaction(conn):
        run(conn, "CREATE OR REPLACE TEMP TABLE pending_actions AS " + sql_text(__file__, "diff.sql"), params)
        moved = conn.execute(
            "SELECT business_date, entry_id, posted_elsewhere FROM pending_actions "
            "WHERE posted_elsewhere IS NOT NULL ORDER BY ALL LIMIT 5").fetchall()
        if moved:
            raise PostingError(
                "; ".join(f"{day}: entry {entry} is still posted to {params['target']} on {other}, and its source "
                          f"now books it on {day}" for day, entry, other in moved)
                + f". Re-run {', '.join(sorted({str(other) for _, _, other in moved}))} first: that takes it back "
                "there; then this day posts it (nothing is posted twice).")
        per_day = conn.execute(
            "SELECT business_date, count(*) FILTER (WHERE action = 'post'), count(*) FILTER (WHERE action = 'reverse') "
            "FROM pending_actions GROUP BY business_date ORDER BY business_date"
        ).fetchall()
        if not per_day:
            return {}
        earlier = dict(run(
            conn,
            "SELECT business_date, count(*) FROM ledger.posting_batches WHERE target = $target AND source = $source "
            "AND business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date) "
            "GROUP BY business_date", params,
        ).fetchall())
        batches = {day: f"{params['source']}_{day:%Y%m%d}_{earlier.get(day, 0) + 1:03d}" for day, _, _ in per_day}
        conn.execute("CREATE OR REPLACE TEMP TABLE claim_batches "
                     "(business_date DATE, batch_id VARCHAR, target_ref VARCHAR)")
        conn.executemany("INSERT INTO claim_batches VALUES (?, ?, ?)",
                         [[day, batch_id, target.reference_for(batch_id)] for day, batch_id in batches.items()])
        for statement in split_statements(sql_text(__file__, "claim.sql")):
            run(conn, statement, params)
        lines = dict(run(
            conn,
            "SELECT batch_id, line_count FROM ledger.posting_batches WHERE target = $target AND source = $source "
            "AND business_date BETWEEN $first_day AND $last_day AND list_contains($batch_ids, batch_id)",
            {**params, "batch_ids": list(batches.values())},
        ).fetchall())
    return {day: (batches[day], posts, reversals, lines[batches[day]]) for day, posts, reversals in per_day}
