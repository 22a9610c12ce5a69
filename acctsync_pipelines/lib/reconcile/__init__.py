"""Per-day reconciliation: source totals = normalized totals = journal totals = posted totals.

- ``<source>.sql`` beside this module returns, for one business day, one row per scope (store,
  shop, account…) and measure with ``source_total``, ``normalized_total`` and ``journal_total``.
  Which figures a source has is the source's own business (its raw tables); the check is the same
  for all: the three must be equal. It is a blocking check on ``journal_entries``.
- ``posted_match_journal.sql`` compares, after posting, what the posting log says is posted (net
  of reversals) with the journal, per target. It is the same SQL for every source.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.sources import DayCheck
from acctsync_pipelines.lib.sql import run, sql_text

TOTALS_CHECK = "totals_match"
POSTED_CHECK = "posted_match_journal"


def _rows(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


class TotalsCheck(DayCheck):
    """A DayCheck whose SQL returns every figure; the failures are the rows whose totals differ."""

    def figures(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> list[dict]:
        return super().failures(conn, source, day)

    def failures(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> list[dict]:
        return [
            row for row in self.figures(conn, source, day)
            if not row["source_total"] == row["normalized_total"] == row["journal_total"]
        ]


def totals_sql_file(source: str) -> Path:
    return Path(__file__).with_name(f"{source}.sql")


def day_checks(source: str) -> tuple[DayCheck, ...]:
    """The totals check for ``source``, if its figures are defined here."""
    if not totals_sql_file(source).is_file():
        return ()
    return (
        TotalsCheck(
            TOTALS_CHECK,
            "per day, the source's own totals = normalized totals = journal totals (per store/shop and measure)",
            __file__,
            totals_sql_file(source).name,
        ),
    )


def posted_mismatches(conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, target: str) -> list[dict]:
    """Accounts where the net posted to ``target`` differs from the journal; empty when they agree."""
    text = sql_text(__file__, "posted_match_journal.sql")
    return _rows(run(conn, text, {"source": source, "day": day, "target": target}))
