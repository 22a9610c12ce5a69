"""Settlement in a few lines for people: what ``acctsync run`` prints per day and ``acctsync status`` overall."""

from __future__ import annotations

import datetime as dt

import duckdb

from acctsync_pipelines.lib.settlement.matching import SOURCE, STATUSES


def day_summary(conn: duckdb.DuckDBPyConnection, day: dt.date) -> dict:
    """A settlement day as ``acctsync run`` reports it: its deposits are the day's documents."""
    counts = dict(conn.execute(
        "SELECT status, count(*) FROM ledger.deposit_matches WHERE value_date = ? GROUP BY status", [day]
    ).fetchall())
    lines, waiting = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'needs_review') FROM ledger.journal_lines "
        "WHERE source = ? AND business_date = ?", [SOURCE, day]
    ).fetchone()
    by_status = ", ".join(f"{status} {counts[status]}" for status in STATUSES if counts.get(status))
    return {"documents": sum(counts.values()), "journal_lines": lines, "waiting_review": waiting,
            "detail": f" (deposits: {by_status})" if by_status else " (no deposits)"}


def status_lines(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Deposits by status, unmatched deposits and unsettled receivables; nothing before settlement ran."""
    (exists,) = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' "
                             "AND table_name = 'settlement_config'").fetchone()
    if not exists or not conn.execute("SELECT count(*) FROM ops.settlement_config").fetchone()[0]:
        return []
    counts = dict(conn.execute("SELECT status, count(*) FROM ledger.deposit_matches GROUP BY status").fetchall())
    statement = conn.execute(
        "SELECT min(first_date), max(last_date), count(*) FROM raw.bank_statement_files").fetchone()
    unmatched = conn.execute("SELECT count(*), coalesce(sum(amount), 0) FROM reports.unmatched_deposits").fetchone()
    open_rows = conn.execute(
        """SELECT tender, sum(open_amount), sum(overdue), count(DISTINCT store_code), min(oldest_sale_date)
           FROM reports.unsettled_receivables GROUP BY tender ORDER BY tender"""
    ).fetchall()
    covered = (f"{statement[2]} bank statement file(s), {statement[0]}..{statement[1]}" if statement[2]
               else "no bank statement read yet (inbox/bank/)")
    lines = [f"Settlement: {covered}; deposits "
             + ", ".join(f"{status} {counts.get(status, 0)}" for status in STATUSES)]
    lines.append(f"  unmatched deposits: {unmatched[0]} ({unmatched[1]:,} yen)   → reports.unmatched_deposits")
    total = sum(r[1] for r in open_rows)
    overdue = sum(r[2] for r in open_rows)
    lines.append(f"  unsettled receivables: {total:,} yen, overdue {overdue:,} yen   → reports.unsettled_receivables")
    for tender, amount, late, stores, oldest in open_rows:
        lines.append(f"    {tender}: {amount:,} yen in {stores} store(s) since {oldest}"
                     + (f", overdue {late:,}" if late else ""))
    return lines
