"""Posting: send each day only the difference against the net of what the append-only log says is posted.

Order of work for one (target, source, day):
1. finish anything a crash left half-done (a claimed batch without its file);
2. compute the actions (diff.sql) and claim them — log rows and the exact lines — in one transaction;
3. send the batch (for yayoi_csv: write its file atomically).
Nothing is claimed twice: (target, entry_id, action_seq) is the log's primary key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.sql import split_statements, sql_text
from acctsync_pipelines.lib.targets.yayoi_csv import YayoiCsvTarget
from acctsync_pipelines.lib.warehouse import transaction

TARGETS = {YayoiCsvTarget.name: YayoiCsvTarget}


@dataclass(frozen=True)
class PostingResult:
    target: str
    day: dt.date
    batch_id: str | None = None
    posts: int = 0
    reversals: int = 0
    lines: int = 0
    export: Path | None = None


def make_target(name: str, settings: Settings, home: Path):
    if name not in TARGETS:
        raise PostingError(f"target {name!r} is not available in this version; available: {', '.join(TARGETS)}")
    return TARGETS[name](settings, home)


def post_day(
    conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, source: str, day: dt.date, target_name: str
) -> PostingResult:
    target = make_target(target_name, settings, home)
    target.recover(conn, source)
    params = {"target": target_name, "source": source, "day": day}
    with transaction(conn):
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE pending_actions AS " + sql_text(__file__, "diff.sql"), params
        )
        posts, reversals = conn.execute(
            "SELECT count(*) FILTER (WHERE action = 'post'), count(*) FILTER (WHERE action = 'reverse') "
            "FROM pending_actions"
        ).fetchone()
        if posts + reversals == 0:
            return PostingResult(target_name, day)
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
    export = target.write(conn, batch_id)
    return PostingResult(target_name, day, batch_id, posts, reversals, lines, export)
