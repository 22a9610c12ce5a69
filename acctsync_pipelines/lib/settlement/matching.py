"""One bank value date at a time: load the day's statement lines, match each deposit, write the entries.

Order of work for a day (one transaction; see the SQL files for the rules):
1. ``load_statement.sql`` / ``store_statement.sql``: parse and validate the exports, keep the day's lines;
2. ``prepare.sql``: clear the day's results; deposits a source already booked (STORES payouts,
   銀行預入) are recognised and left alone;
3. ``round.sql``, repeated: match the pending deposits to open receivables; when two deposits claim
   the same receivable the first in the statement keeps it and the other tries again;
4. ``finish.sql``: reasons for what matches nothing, and one settlement entry per settled deposit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

# The report views read STORES' raw records (a remittance's order ids): its tables are created first.
import acctsync_pipelines.lib.stores.source  # noqa: F401
from acctsync_pipelines.lib import config_tables
from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.settlement.settings import SettlementSettings, payer_key
from acctsync_pipelines.lib.settlement.statement import Statement
from acctsync_pipelines.lib.sources import BALANCED, DayCheck, clear_error, record_error
from acctsync_pipelines.lib.sql import run, split_statements, sql_text
from acctsync_pipelines.lib.warehouse import register_schema, transaction

register_schema(__file__, "schema.sql")

SOURCE = "settlement"
STATUSES = ("booked", "matched", "partial", "review", "unmatched")
MAX_PROBLEMS = 50

# Blocking: a failure stops the day's posting.
CHECKS = (BALANCED,)
# Warnings: they name what a person should look at, and do not stop posting.
SETTLED_ONCE = DayCheck(
    "settled_once",
    "no receivable is cleared beyond what it holds now (its sale day re-run with less after settlement days "
    "cleared it: re-run those days)",
    __file__,
    "check_settled_once.sql",
)
OVERDUE = DayCheck(
    "overdue_receivables",
    "receivables still open after their rule's payment date plus grace days (as of the bank statement)",
    __file__,
    "check_overdue.sql",
)
WARNINGS = (SETTLED_ONCE, OVERDUE)


@dataclass
class DayResult:
    day: dt.date
    deposits: dict[str, int] = field(default_factory=dict)   # status → count
    entries: int = 0
    lines: int = 0
    rounds: int = 0
    rules_not_applied: list[str] = field(default_factory=list)


def _run_file(conn: duckdb.DuckDBPyConnection, name: str, params: dict) -> None:
    for statement in split_statements(sql_text(__file__, name)):
        run(conn, statement, params)


def write_config(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The accounts and rules in effect, as tables the SQL and the report views read."""
    settlement = settings.settlement
    conn.execute("DELETE FROM ops.settlement_config")
    conn.execute(
        "INSERT INTO ops.settlement_config VALUES (?, ?, ?, ?, ?, ?, ?)",
        [settings.accounts.receivable, settings.accounts.bank, settlement.bank_sub_account, settings.accounts.fees,
         settlement.lookback_days, settlement.booked_window_days, settlement.start_date],
    )
    for table in ("ops.settlement_rules", "ops.settlement_rule_accounts", "ops.settlement_payers"):
        conn.execute(f"DELETE FROM {table}")
    rules = settlement.rules
    if not rules:
        return
    conn.executemany(
        "INSERT INTO ops.settlement_rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [r.name, priority, r.stores, r.per_store, r.cycle.kind, r.cycle.days_after,
             r.cycle.monthly.close_day if r.cycle.monthly else None,
             r.cycle.monthly.pay_day_number if r.cycle.monthly else None,
             r.cycle.monthly.months_after if r.cycle.monthly else None,
             r.fee_rate, r.tolerance_yen, r.tolerance_rate, r.fee_tax_category, r.window_days, r.grace_days,
             r.partial_payments]
            for priority, r in enumerate(rules, 1)
        ],
    )
    conn.executemany("INSERT INTO ops.settlement_rule_accounts VALUES (?, ?)",
                     sorted({(r.name, sub) for r in rules for sub in r.sub_accounts}))
    conn.executemany("INSERT INTO ops.settlement_payers VALUES (?, ?, ?)",
                     [[r.name, payer, payer_key(payer)] for r in rules for payer in r.payer])


def _problem_text(problems: list[tuple], settlement: SettlementSettings, day: dt.date) -> str:
    headers = {"date": settlement.columns.date, "deposit": settlement.columns.deposit,
               "withdrawal": settlement.columns.withdrawal, "balance": settlement.columns.balance}
    listed = [
        f"{source_file}: row {source_row}: column {headers.get(column, column)}: value {value!r}: {problem}"
        for source_file, source_row, column, value, problem in problems[:MAX_PROBLEMS]
    ]
    more = "" if len(problems) <= MAX_PROBLEMS else f"\n  (and {len(problems) - MAX_PROBLEMS} more)"
    return (f"settlement {day}: the bank statement cannot be read; nothing of this day is settled:\n  "
            + "\n  ".join(listed) + more)


def load_statement(conn: duckdb.DuckDBPyConnection, settlement: SettlementSettings, day: dt.date) -> None:
    """Replace the day's lines in raw.bank_statement_lines from the registered exports (views bank_frame,
    bank_files); InputError names file, row, column and value."""
    params = {"day": day, "formats": settlement.date_formats}
    _run_file(conn, "load_statement.sql", params)
    problems = conn.execute("SELECT * FROM bank_problems").fetchall()
    if problems:
        raise InputError(_problem_text(problems, settlement, day))
    _run_file(conn, "store_statement.sql", params)


def match_day(conn: duckdb.DuckDBPyConnection, settings: Settings, day: dt.date, statement: Statement) -> DayResult:
    """Replace the day's matches, allocations and settlement entries, in one transaction."""
    params = {"day": day, "rounding": settings.tax.rounding}
    result = DayResult(day)
    conn.register("bank_frame", statement.lines)
    conn.register("bank_files", statement.files)
    try:
        with transaction(conn):
            config_tables.register_common(conn, settings)
            write_config(conn, settings)
            load_statement(conn, settings.settlement, day)
            _run_file(conn, "prepare.sql", params)
            (pending,) = conn.execute("SELECT count(*) FROM pending_deposits").fetchone()
            # Each round settles at least the first claimant of every contested receivable, so the
            # rounds end; deposits naming no rule's payer never take part.
            for _ in range(pending + 1):
                result.rounds += 1
                _run_file(conn, "round.sql", params)
                (accepted,) = conn.execute("SELECT count(*) FROM round_accepted").fetchone()
                (waiting,) = conn.execute(
                    "SELECT count(*) FROM pending_deposits WHERE line_id IN (SELECT line_id FROM day_payer_rules)"
                ).fetchone()
                if accepted == 0 or waiting == 0:
                    break
            _run_file(conn, "finish.sql", params)
            clear_error(conn, SOURCE, day, "raw_orders")
            _summarise(conn, day, result)
        return result
    except InputError as exc:
        record_error(conn, SOURCE, day, "journal_entries", str(exc))
        raise
    finally:
        conn.unregister("bank_frame")
        conn.unregister("bank_files")


def _summarise(conn: duckdb.DuckDBPyConnection, day: dt.date, result: DayResult) -> None:
    counts = dict(conn.execute(
        "SELECT status, count(*) FROM ledger.deposit_matches WHERE value_date = ? GROUP BY status", [day]
    ).fetchall())
    result.deposits = {status: counts.get(status, 0) for status in STATUSES}
    result.entries, result.lines = conn.execute(
        "SELECT count(DISTINCT entry_id), count(*) FROM ledger.journal_entry_lines "
        "WHERE source = ? AND business_date = ?", [SOURCE, day]
    ).fetchone()
    result.rules_not_applied = [
        f"{rule}: {source} clears {sub_account} with its own payouts"
        for rule, source, sub_account in conn.execute(
            "SELECT DISTINCT configured_rule, source, sub_account FROM reports.open_receivables "
            "WHERE configured_rule IS NOT NULL AND rule IS NULL ORDER BY ALL"
        ).fetchall()
    ]
