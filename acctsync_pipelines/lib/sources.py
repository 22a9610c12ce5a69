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
from acctsync_pipelines.lib.review.overrides import review_days
from acctsync_pipelines.lib.sql import run, sql_text
from acctsync_pipelines.lib.warehouse import transaction

STAGES = ("raw_orders", "normalized_transactions", "journal_entries", "posted_entries")
STAGE_TABLES = {
    "normalized_transactions": "staging.normalized_transactions",
    "journal_entries": "ledger.journal_entry_lines",
}


def window_params(days: list[dt.date]) -> dict:
    """SQL parameters of a window of business days (not necessarily contiguous): ``$days`` (the list) and
    ``$first_day``/``$last_day`` (its bounds, so a ``BETWEEN`` lets DuckDB's zone maps skip other days).
    A window's SQL filters with ``business_date BETWEEN $first_day AND $last_day AND list_contains($days,
    business_date)``; one day is the window ``[day]``."""
    return {"days": list(days), "first_day": min(days), "last_day": max(days)}


@dataclass(frozen=True)
class DayCheck:
    """A check on a day's journal: an SQL file whose rows are failures.

    The SQL takes a window of days (``$days``, ``$first_day``, ``$last_day``; see ``window_params``) and
    ``$source``, and returns a ``business_date`` column first, saying which day each failure is about
    (a check about the whole ledger reports on ``$last_day``). One day is the window ``[day]``.
    """

    name: str
    description: str
    anchor: str
    sql_file: str

    def failures(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> list[dict]:
        return self.window_failures(conn, source, [day]).get(day, [])

    def window_failures(self, conn: duckdb.DuckDBPyConnection, source: str,
                        days: list[dt.date]) -> dict[dt.date, list[dict]]:
        """Failures per business day of ``days`` (days without failures are absent)."""
        found: dict[dt.date, list[dict]] = {}
        if not days:
            return found
        cursor = run(conn, sql_text(self.anchor, self.sql_file), {**window_params(days), "source": source})
        names = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            failure = dict(zip(names, row))
            found.setdefault(failure.pop("business_date"), []).append(failure)
        return found


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
    def normalize(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        """Insert the staging.normalized_transactions rows of ``days`` (a window; one day is a window of one;
        the caller has deleted the old ones). Raise InputError on facts that cannot be booked."""

    @abstractmethod
    def journal(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        """Insert the ledger.journal_entry_lines rows of ``days`` (the caller has deleted the old ones)."""

    # -- raw input of a window of days at once (optional) --------------------------------------------
    # A source that can read a run's window at once implements these; the raw stage then loads the window
    # in one transaction. Any InputError rolls the window back and the stage goes day by day instead, so
    # messages and per-day isolation are those of the day path.

    def stage_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                         days: list[dt.date]) -> bool:
        """Parse the window's input into temp tables before the transaction; False: not possible, go per day."""
        return False

    def load_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                        days: list[dt.date]) -> StageStats:
        """Replace the window's raw rows from what stage_raw_window staged (inside the caller's transaction)."""
        raise NotImplementedError

    def days_for_inbox_file(self, home: Path, path: Path) -> list[dt.date] | None:
        """Business days a new or changed inbox file affects (for the inbox sensor).

        None means the file is not (yet) something this source reads: incomplete, foreign, or unsafe.
        """
        return None


def days_in(start: dt.date, end_exclusive: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end_exclusive - start).days)]


WINDOW_DAYS = 31  # the most days a stage holds in one transaction: memory stays flat however long the run


def windows_of(days: list[dt.date], size: int = WINDOW_DAYS) -> list[list[dt.date]]:
    """``days`` in consecutive windows of at most ``size`` days, in order."""
    return [days[i:i + size] for i in range(0, len(days), size)]


def blocking_error(conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, stage: str) -> str | None:
    """The day's recorded error from a stage before ``stage``, if any: the day is not processed further."""
    return blocking_errors(conn, source, [day], stage).get(day)


def record_error(conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, stage: str, message: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO ops.day_errors VALUES (?, ?, ?, ?, now())", [source, day, stage, message[:4000]]
    )


def blocking_errors(conn: duckdb.DuckDBPyConnection, source: str, days: list[dt.date], stage: str) -> dict[dt.date, str]:
    """Per day of ``days``, an error a stage before ``stage`` recorded: such a day is not processed further."""
    earlier = list(STAGES[: STAGES.index(stage)])
    rows = conn.execute(
        "SELECT business_date, min(message) FROM ops.day_errors WHERE source = ? AND list_contains(?, business_date) "
        "AND list_contains(?, stage) GROUP BY business_date",
        [source, list(days), earlier],
    ).fetchall()
    return dict(rows)


def clear_errors(conn: duckdb.DuckDBPyConnection, source: str, days: list[dt.date], stage: str) -> None:
    """A stage that succeeded for ``days`` clears the errors it or a later stage recorded for them."""
    later = list(STAGES[STAGES.index(stage):])
    conn.execute(
        "DELETE FROM ops.day_errors WHERE source = ? AND list_contains(?, business_date) AND list_contains(?, stage)",
        [source, list(days), later],
    )


def clear_error(conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, stage: str) -> None:
    """A stage that succeeded clears errors it or a later stage recorded for the day."""
    clear_errors(conn, source, [day], stage)


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
    """Delete + insert one day of normalized_transactions or journal_entries, in one transaction;
    record or clear the day's error."""
    try:
        with transaction(conn):
            return _replace_rows(conn, source, settings, [day], stage)[day]
    except InputError as exc:
        record_error(conn, source.name, day, stage, str(exc))
        raise


def run_raw_window(conn, source: Source, settings: Settings, home: Path, days: list[dt.date]) -> StageStats | None:
    """Replace the raw rows of all ``days`` in one transaction; None when the source cannot, or the window's
    input has a problem (rolled back; the caller then goes day by day, which records each day's error)."""
    if len(days) < 2 or not source.stage_raw_window(conn, settings, home, days):
        return None
    try:
        with transaction(conn):
            stats = source.load_raw_window(conn, settings, home, days)
            clear_errors(conn, source.name, days, "raw_orders")
        return stats
    except InputError:
        return None


def replace_window(conn, source: Source, settings: Settings, days: list[dt.date], stage: str) -> dict[dt.date, int] | None:
    """Delete + insert normalized_transactions or journal_entries for all ``days`` in one transaction.

    Returns the rows per day, or None when something in the window raised InputError (rolled back: the
    caller goes day by day, which records each day's error).
    """
    if len(days) < 2:
        return None
    try:
        with transaction(conn):
            return _replace_rows(conn, source, settings, days, stage)
    except InputError:
        return None


_IN_WINDOW = ("source = $source AND business_date BETWEEN $first_day AND $last_day "
              "AND list_contains($days, business_date)")


def _replace_rows(conn, source: Source, settings: Settings, days: list[dt.date], stage: str) -> dict[dt.date, int]:
    """The stage's rows of ``days`` rebuilt (inside the caller's transaction); the rows per day."""
    table = STAGE_TABLES[stage]
    params = {**window_params(days), "source": source.name}
    conn.execute(f"DELETE FROM {table} WHERE {_IN_WINDOW}", params)
    if stage == "journal_entries":
        source.journal(conn, settings, days)
        review_days(conn, settings, source, days)  # corrections and holds of the review queue
    else:
        source.normalize(conn, settings, days)
    counts = dict(conn.execute(f"SELECT business_date, count(*) FROM {table} WHERE {_IN_WINDOW} GROUP BY ALL",
                               params).fetchall())
    clear_errors(conn, source.name, days, stage)
    return {day: counts.get(day, 0) for day in days}
