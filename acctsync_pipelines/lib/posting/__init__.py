"""Posting: send each day only the difference against the net of what the append-only log says is posted.

Order of work for one (target, source, day):
1. finish anything a crash left half-done (a claimed batch without its file);
2. compute the actions (diff.sql) and claim them — log rows and the exact lines — in one transaction;
3. send the batch (for yayoi_csv: write its file atomically).
Nothing is claimed twice: (target, entry_id, action_seq) is the log's primary key.

A target provides ``reference_for(batch_id)`` and either
- ``recover(conn, source)`` + ``write(conn, batch_id)`` (a file target: re-render what a crash left unwritten), or
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
from acctsync_pipelines.lib.sql import split_statements, sql_text
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
    params = {"target": target_name, "source": source, "day": day}
    resumed = 0
    if hasattr(target, "prepare"):
        conn.execute("CREATE OR REPLACE TEMP TABLE pending_actions AS " + sql_text(__file__, "diff.sql"), params)
        (pending,) = conn.execute("SELECT count(*) FROM pending_actions").fetchone()
        resumed = target.prepare(conn, source, day, pending)
    else:
        target.recover(conn, source)
    with transaction(conn):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE pending_actions AS " + sql_text(__file__, "diff.sql"), params
        )
        posts, reversals = conn.execute(
            "SELECT count(*) FILTER (WHERE action = 'post'), count(*) FILTER (WHERE action = 'reverse') "
            "FROM pending_actions"
        ).fetchone()
        if posts + reversals == 0:
            return PostingResult(target_name, day, resumed=resumed)
        (earlier,) = conn.execute(
            "SELECT count(*) FROM ledger.posting_batches WHERE target = ? AND source = ? AND business_date = ?",
            [target_name, source, day],
        ).fetchone()
        batch_id = f"{source}_{day:%Y%m%d}_{earlier + 1:03d}"
        claim = params | {"batch_id": batch_id, "target_ref": target.reference_for(batch_id)}
        for statement in split_statements(sql_text(__file__, "claim.sql")):
            conn.execute(statement, {k: v for k, v in claim.items() if f"${k}" in statement})
        (lines,) = conn.execute(
            "SELECT line_count FROM ledger.posting_batches WHERE target = ? AND batch_id = ?", [target_name, batch_id]
        ).fetchone()
    if hasattr(target, "send"):
        target.send(conn, batch_id)
        return PostingResult(target_name, day, batch_id, posts, reversals, lines, None, resumed)
    export = target.write(conn, batch_id)
    return PostingResult(target_name, day, batch_id, posts, reversals, lines, export)
