"""What a source provides to the four-stage pipeline, and the day-window mechanics every stage shares."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from acctsync_pipelines.lib import config_tables
from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.review.overrides import review_day
from acctsync_pipelines.lib.sql import run, sql_text
from acctsync_pipelines.lib.warehouse import transaction

STAGES = ("raw_orders", "normalized_transactions", "journal_entries", "posted_entries")


@dataclass(frozen=True)
class DayCheck:
    """A blocking check on journal_entries: an SQL file (params $day, $source) whose rows are failures."""

    name: str
    description: str
    anchor: str
    sql_file: str

    def failures(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> list[dict]:
        cursor = run(conn, sql_text(self.anchor, self.sql_file), {"day": day, "source": source})
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


BALANCED = DayCheck(
    "entries_balance", "every journal entry balances (debits = credits)", __file__, "checks/entries_balance.sql"
)


@dataclass
class StageStats:
    rows: int = 0
    details: dict[str, int] = field(default_factory=dict)


class Source(ABC):
    """One source system. Implementations hold no Dagster code; SQL files sit beside them."""

    name: str
    label: str
    checks: tuple[DayCheck, ...] = (BALANCED,)
    # Non-blocking checks: a failure holds the day's entries (or those its rows name in an entry_id column)
    # in the review queue instead of failing the day.
    review_checks: tuple[DayCheck, ...] = ()

    def register_config(self, conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        config_tables.register_common(conn, settings)

    def stage_raw(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date) -> None:
        """Optional: parse the day's input into temp tables just before the day's transaction opens.

        A DuckDB parse error inside a transaction aborts it, so a fast bulk read happens here, where it may
        fail; it must not raise for bad input (leave nothing staged; load_raw then reads the slow way and
        names the problem). load_raw copies whatever was staged for the day.
        """

    @abstractmethod
    def load_raw(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date) -> StageStats:
        """Replace the day's raw rows (inside the caller's transaction). Raise InputError on bad input."""

    @abstractmethod
    def normalize(self, conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date) -> None:
        """Insert the day's staging.normalized_transactions rows (the caller has deleted the old ones)."""

    def days_for_inbox_file(self, home: Path, path: Path) -> list[dt.date] | None:
        """Business days a new or changed inbox file affects (for the inbox sensor).

        None means the file is not (yet) something this source reads: incomplete, foreign, or unsafe.
        """
        return None

    @abstractmethod
    def journal(self, conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date) -> None:
        """Insert the day's ledger.journal_entry_lines rows (the caller has deleted the old ones)."""


def days_in(start: dt.date, end_exclusive: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end_exclusive - start).days)]


def blocking_error(conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, stage: str) -> str | None:
    """The day's recorded error from a stage before ``stage``, if any: the day is not processed further."""
    earlier = list(STAGES[: STAGES.index(stage)])
    row = conn.execute(
        "SELECT message FROM ops.day_errors WHERE source = ? AND business_date = ? AND list_contains(?, stage)",
        [source, day, earlier],
    ).fetchone()
    return row[0] if row else None


def record_error(conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, stage: str, message: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO ops.day_errors VALUES (?, ?, ?, ?, now())", [source, day, stage, message[:4000]]
    )


def clear_error(conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, stage: str) -> None:
    """A stage that succeeded clears errors it or a later stage recorded for the day."""
    later = list(STAGES[STAGES.index(stage):])
    conn.execute(
        "DELETE FROM ops.day_errors WHERE source = ? AND business_date = ? AND list_contains(?, stage)",
        [source, day, later],
    )


def run_raw(conn, source: Source, settings: Settings, home: Path, day: dt.date) -> StageStats:
    """Replace the day's raw rows in one transaction; record or clear the day's error."""
    try:
        source.stage_raw(conn, settings, home, day)
        with transaction(conn):
            stats = source.load_raw(conn, settings, home, day)
            clear_error(conn, source.name, day, "raw_orders")
        return stats
    except InputError as exc:
        record_error(conn, source.name, day, "raw_orders", str(exc))
        raise


def replace_day(conn, source: Source, settings: Settings, day: dt.date, stage: str) -> int:
    """Delete + insert one day of normalized_transactions or journal_entries, in one transaction."""
    table = {
        "normalized_transactions": "staging.normalized_transactions",
        "journal_entries": "ledger.journal_entry_lines",
    }[stage]
    step = {"normalized_transactions": source.normalize, "journal_entries": source.journal}[stage]
    try:
        with transaction(conn):
            conn.execute(f"DELETE FROM {table} WHERE source = ? AND business_date = ?", [source.name, day])
            step(conn, settings, day)
            if stage == "journal_entries":
                review_day(conn, settings, source, day)  # corrections and holds of the review queue
            (count,) = conn.execute(
                f"SELECT count(*) FROM {table} WHERE source = ? AND business_date = ?", [source.name, day]
            ).fetchone()
            clear_error(conn, source.name, day, stage)
        return count
    except InputError as exc:
        record_error(conn, source.name, day, stage, str(exc))
        raise
