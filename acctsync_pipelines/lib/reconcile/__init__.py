"""Per-day reconciliation: source totals = normalized totals = journal totals = posted totals.

- ``<source>.sql`` beside this module computes, for a window of business days, per day, scope (store,
  shop, account…) and measure the ``source_total``, ``normalized_total`` and ``journal_total``, and
  returns the rows where they differ. Which figures a source has is the source's own business (its raw
  tables); the rule is the same for all: the three must be equal. It is a blocking check on
  ``journal_entries``.
- ``posted_match_journal.sql`` compares, after posting, what the posting log says is posted (net
  of reversals) with the journal, per target. It is the same SQL for every source.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.sources import DayCheck, window_params
from acctsync_pipelines.lib.sql import run, sql_text

TOTALS_CHECK = "totals_match"
POSTED_CHECK = "posted_match_journal"


def _rows(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def totals_sql_file(source: str) -> Path:
    return Path(__file__).with_name(f"{source}.sql")


def day_checks(source: str) -> tuple[DayCheck, ...]:
    """The totals check for ``source``, if its figures are defined here."""
    if not totals_sql_file(source).is_file():
        return ()
    return (
        DayCheck(
            TOTALS_CHECK,
            "per day, the source's own totals = normalized totals = journal totals (per store/shop and measure)",
            __file__,
            totals_sql_file(source).name,
        ),
    )


def posted_mismatches(conn: duckdb.DuckDBPyConnection, source: str, days: list[dt.date], target: str) -> list[dict]:
    """Per day, the accounts where the net posted to ``target`` differs from the journal (a
    ``business_date`` column first); empty when they agree."""
    if not days:
        return []
    text = sql_text(__file__, "posted_match_journal.sql")
    return _rows(run(conn, text, {**window_params(days), "source": source, "target": target}))
