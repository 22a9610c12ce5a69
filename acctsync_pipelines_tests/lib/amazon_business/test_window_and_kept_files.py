"""The raw stage reads a run's window at once, and keeps each inbox file's parsed content in the warehouse
(raw.amazon_business_files and the rows each file holds): a later run reads only new or changed files, and
the raw rows it stores are exactly those a fresh read of every file gives."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from acctsync_pipelines.lib import sources as stages
from acctsync_pipelines.lib.amazon_business.source import SOURCE
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.sample.amazon_business import write_sample
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.lib.amazon_business.builders import item, txn, write_json

START = dt.date(2025, 6, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(14)]
RAW = ["transactions", "line_items", "invoices", "invoice_taxes"]


def raw_rows(home, days: list[dt.date] = DAYS) -> dict[str, list[tuple]]:
    """The raw tables of the days, every column but loaded_at."""
    found = {}
    for name in RAW:
        table = f"raw.amazon_business_{name}"
        (columns,) = home.query("SELECT list(column_name ORDER BY column_index) FILTER (WHERE column_name <> 'loaded_at') "
                                "FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ?",
                                [table.split(".")[1]])[0]
        found[name] = home.query(f"SELECT {', '.join(columns)} FROM {table} WHERE list_contains(?, business_date) "
                                 "ORDER BY ALL", [days])
    return found


def kept(home) -> dict[str, tuple]:
    """source_file → (digest, error, read_at) of the kept files."""
    return {f: rest for f, *rest in home.query(
        "SELECT source_file, digest, error, read_at FROM raw.amazon_business_files ORDER BY 1")}


def run_window(home, days: list[dt.date] = DAYS) -> stages.StageStats | None:
    with Warehouse(home.warehouse).connect() as conn:
        return stages.run_raw_window(conn, SOURCE, load_settings(), home.root, days)


def run_each(home, days: list[dt.date] = DAYS) -> dict[dt.date, stages.StageStats | str]:
    """The day path for each day: its stats, or its InputError message."""
    done: dict[dt.date, stages.StageStats | str] = {}
    with Warehouse(home.warehouse).connect() as conn:
        for day in days:
            try:
                done[day] = stages.run_raw(conn, SOURCE, load_settings(), home.root, day)
            except InputError as exc:
                done[day] = str(exc)
    return done


def fresh(home) -> None:
    for path in (home.warehouse, home.warehouse.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)


@pytest.fixture
def sample(home):
    """Two weeks of the demo sample in two pairs of files (JSON + Orders report), and a small extra file."""
    inbox = home.inbox("amazon_business")
    write_sample(inbox, START, 7)
    write_sample(inbox, START + dt.timedelta(days=7), 7, seed=7)
    write_json(inbox, "extra.json", [txn("T-EXTRA", "2025-06-03T02:00:00Z", 550, [item("250-9999999-0000001", 1, "ペン", 550)])])
    return inbox


def test_a_window_stores_byte_for_byte_what_day_by_day_stores(home, sample):
    window = run_window(home)
    assert window is not None, "the window went day by day"
    assert window.details["files"] == 5 and window.details["files_read"] == 5
    assert window.details["transactions"] > 10 and window.details["line_items"] > 10 and window.details["invoices"] > 0
    by_window = raw_rows(home)
    # one transaction for the window's raw rows
    assert home.query("SELECT count(DISTINCT business_date) > 7, count(DISTINCT loaded_at) "
                      "FROM raw.amazon_business_transactions") == [(True, 1)]

    fresh(home)
    each = run_each(home)
    assert all(isinstance(stats, stages.StageStats) for stats in each.values()), each
    assert raw_rows(home) == by_window
    assert sum(s.details["transactions"] for s in each.values()) == window.details["transactions"]
    assert sum(s.details["invoices"] for s in each.values()) == window.details["invoices"]
    # the first day read the five files; later days read none
    assert [s.details["files_read"] for s in each.values()] == [5] + [0] * (len(DAYS) - 1)


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_is(home, sample):
    assert run_window(home).details["files_read"] == 5
    first = kept(home)
    assert len(first) == 5 and all(error is None for _, error, _ in first.values())

    # a later run: nothing read, nothing changed
    again = run_window(home, DAYS[3:6])
    assert again.details["files_read"] == 0
    assert kept(home) == first

    # touched (new mtime, same bytes): not read either
    extra = sample / "extra.json"
    os.utime(extra, ns=(extra.stat().st_atime_ns, extra.stat().st_mtime_ns + 5_000_000_000))
    assert run_each(home, [DAYS[2]])[DAYS[2]].details["files_read"] == 0
    assert kept(home) == first

    # changed: read again, its rows replaced
    write_json(sample, "extra.json", [txn("T-EXTRA", "2025-06-03T02:00:00Z", 770, [item("250-9999999-0000001", 1, "ペン", 770)])])
    assert run_window(home).details["files_read"] == 1
    now = kept(home)
    changed = "inbox/amazon_business/extra.json"
    assert now[changed][0] != first[changed][0] and now[changed][2] > first[changed][2]
    assert {f: v for f, v in now.items() if f != changed} == {f: v for f, v in first.items() if f != changed}
    assert home.query("SELECT amount FROM raw.amazon_business_transactions WHERE transaction_id = 'T-EXTRA'") == [
        ("770.0",)]


def test_the_kept_files_give_exactly_what_a_fresh_read_gives(home, sample):
    assert run_window(home) is not None
    # the inbox changes between runs: a file rewritten with the same size (the digest tells), one removed,
    # one added
    extra = sample / "extra.json"
    stat = extra.stat()
    text = extra.read_text(encoding="utf-8")
    assert "550.0" in text
    extra.write_text(text.replace("550.0", "660.0"), encoding="utf-8")
    os.utime(extra, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert extra.stat().st_size == stat.st_size
    (sample / "orders_report_20250608_20250614.csv").unlink()
    write_json(sample, "later.json", [txn("T-LATER", "2025-06-09T02:00:00Z", 330, [item("250-8888888-0000001", 1, "紙", 330)])])
    second = run_window(home)
    assert second is not None and second.details["files_read"] == 2  # extra.json, later.json
    kept_rows = raw_rows(home)
    assert home.query("SELECT count(*) FROM raw.amazon_business_file_transactions WHERE source_file LIKE '%20250608%.csv'"
                      ) == [(0,)]

    fresh(home)
    assert run_window(home).details["files_read"] == 5
    assert raw_rows(home) == kept_rows
    assert home.query("SELECT amount FROM raw.amazon_business_transactions WHERE transaction_id = 'T-EXTRA'") == [
        ("660.0",)]


def test_a_changed_csv_mapping_reads_the_reports_again(home, sample):
    assert run_window(home).details["files_read"] == 5
    home.configure({"sources": {"amazon_business": {"csv_columns": {"gl_code": "GL Code (custom)"}}}})
    assert run_window(home).details["files_read"] == 5  # the reader changed: every file is read again


def test_a_bad_value_fails_only_its_day_and_a_fresh_read_agrees(home, sample):
    write_json(sample, "bad.json", [txn("T-BAD", "2025-06-05T02:00:00Z", 1100, [item("250-7777777-0000001", 1, "本", 1100)],
                                        kind="PURCHASE")])
    assert run_window(home) is None  # the window has a bad day: the day path decides
    done = run_each(home)
    bad = dt.date(2025, 6, 5)
    assert done[bad] == (
        "amazon_business 2025-06-05: the purchases cannot be booked; nothing of this day is posted:\n"
        "  inbox/amazon_business/bad.json: transaction 1 (T-BAD): field transactionType: value 'PURCHASE': "
        "unknown transaction type; allowed: CHARGE, REFUND, OVERREFUND")
    assert all(isinstance(v, stages.StageStats) for d, v in done.items() if d != bad)
    assert home.query("SELECT business_date FROM ops.day_errors WHERE source = 'amazon_business'") == [(bad,)]
    assert home.query("SELECT count(*) FROM raw.amazon_business_transactions WHERE business_date = ?", [bad]) == [(0,)]
    good = [d for d in DAYS if d != bad]
    stored = raw_rows(home, good)

    fresh(home)
    assert run_window(home, good) is not None
    assert raw_rows(home, good) == stored


def test_an_unreadable_file_fails_every_day_naming_it_until_it_is_fixed(home, sample):
    assert run_window(home) is not None
    before = raw_rows(home)
    broken = sample / "broken.json"
    broken.write_text('{"transactions": [{"transactionId": "T-1", ', encoding="utf-8")
    assert run_window(home) is None
    done = run_each(home, DAYS[:2])
    for message in done.values():
        assert message.startswith("inbox/amazon_business/broken.json: row 1: not valid JSON"), message
    (error,) = home.query("SELECT error FROM raw.amazon_business_files WHERE source_file LIKE '%broken.json'")[0]
    assert error == done[DAYS[0]]  # kept with the file: not read again while unchanged
    assert run_each(home, DAYS[2:3])[DAYS[2]] == error
    assert raw_rows(home) == before  # nothing replaced

    broken.write_text(json.dumps({"transactions": []}), encoding="utf-8")
    fixed = run_window(home)
    assert fixed is not None and fixed.details["files_read"] == 1
    assert raw_rows(home) == before
    assert home.query("SELECT count(*) FROM ops.day_errors") == [(0,)]
