"""The STORES raw stage of a window of days: one transaction for the whole window when its input is good
(an order with events on several days of the window is pinned on each and checked once), the same rows
as the days run one by one, and the inbox read incrementally (only new and changed files)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from acctsync_pipelines.lib import sources as stages
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.stores.source import SOURCE
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.lib.stores.builders import cancelled, order, write_json

DAYS = [dt.date(2025, 6, 1) + dt.timedelta(days=i) for i in range(4)]
RAW = {
    "raw.stores_inputs": "source_file, digest, size_bytes, mtime_ns, records",
    "raw.stores_snapshots": "kind, record_id, revision, body::VARCHAR, event_times, first_event_at, last_event_at",
    "raw.stores_sightings": "source_file, kind, record_id, revision, source_index",
    "raw.stores_day_records": "*",
    "ops.day_errors": "source, business_date, stage, message",
}


def configure(home) -> None:
    home.configure({"sources": {"stores": {"start_date": "2025-06-01"}, "usen_reji": {"enabled": False},
                                "amazon_business": {"enabled": False}}})


def raw_rows(home) -> dict[str, list[tuple]]:
    return {table: home.query(f"SELECT {columns} FROM {table} ORDER BY ALL") for table, columns in RAW.items()}


def raw_window(home, days=DAYS):
    with Warehouse(home.warehouse).connect() as conn:
        return stages.run_raw_window(conn, SOURCE, load_settings(), home.root, days)


def raw_days(home, days=DAYS) -> dict[dt.date, str]:
    """The day path, as the raw asset runs it after a window was refused: each day's error, if any."""
    failures = {}
    with Warehouse(home.warehouse).connect() as conn:
        for day in days:
            try:
                stages.run_raw(conn, SOURCE, load_settings(), home.root, day)
            except InputError as exc:
                failures[day] = str(exc)
    return failures


def two_files(inbox) -> None:
    sold = order("8000000001", "2025-06-01T10:00:00+09:00", 11000, shipped_at="2025-06-02T12:00:00+09:00")
    write_json(inbox, "orders_0602.json", {"orders": [
        sold, order("8000000002", "2025-06-02T09:00:00+09:00", shipped_at="2025-06-04T09:00:00+09:00")]})
    write_json(inbox, "orders_0605.json", {"orders": [
        cancelled(sold, "2025-06-03T18:00:00+09:00"), order("8000000003", "2025-06-03T11:00:00+09:00")]})


def test_orders_with_events_on_several_days_of_the_window_load_in_one_transaction(home):
    two_files(home.inbox("stores"))
    configure(home)
    stats = raw_window(home)
    assert stats is not None  # the window path, not the day-by-day fallback
    assert stats.details["files_read"] == 2
    pinned = home.query("SELECT business_date, record_id FROM raw.stores_day_records ORDER BY ALL")
    assert pinned == [(dt.date(2025, 6, 1), "id8000000001"), (dt.date(2025, 6, 2), "id8000000001"),
                      (dt.date(2025, 6, 2), "id8000000002"), (dt.date(2025, 6, 3), "id8000000001"),
                      (dt.date(2025, 6, 3), "id8000000003"), (dt.date(2025, 6, 4), "id8000000002")]
    window = raw_rows(home)

    home.warehouse.unlink()
    assert raw_days(home) == {}
    assert raw_rows(home) == window


def test_a_bad_record_in_the_window_falls_back_and_fails_only_its_day(home):
    inbox = home.inbox("stores")
    two_files(inbox)
    bad = order("8000000009", "2025-06-04T10:00:00+09:00")
    bad["tax_details"][0]["tax_rate"] = 0.05
    write_json(inbox, "orders_0606.json", {"orders": [bad]})
    configure(home)
    assert raw_window(home) is None
    assert home.query("SELECT count(*) FROM raw.stores_snapshots") == [(0,)]  # rolled back
    failures = raw_days(home)
    assert list(failures) == [dt.date(2025, 6, 4)]
    assert ("inbox/stores/orders_0606.json: orders[0] (order 8000000009): $.tax_details[0].tax_rate = 0.05: "
            "tax rate 0.05 is not one of the configured rates") in failures[dt.date(2025, 6, 4)]
    assert home.query("SELECT DISTINCT business_date FROM raw.stores_day_records ORDER BY 1") == [
        (d,) for d in DAYS[:3]]


GOOD = b'{"orders": [{"id": "a", "number": "1"}], "sales_channels": []}'


@pytest.mark.parametrize("data", [
    GOOD,
    b"\xef\xbb\xbf" + GOOD,                                            # a byte order mark
    b'{"remittances": [{"id": "r", "transferred_date": "2025-06-30"}]}',
    b'{"remittance_id": "r", "order_ids": ["a", "b"]}',                 # a remittance's order ids
    b'{"orders": [{"id": "a",}]}',                                      # a trailing comma DuckDB would take
    b'{"orders": [1, 2,]}',
    b'{"orders": [{"id": "a", "amount": NaN}]}',                        # Python's json takes NaN
    b'{"orders": [{"id": "a", "amount": nan}]}',                        # DuckDB's takes nan, Python's does not
    b'{"orders": [{"id": "a", "amount": -inf}]}',
    b'{"orders": "none"}',
    b'{"orders": null}',
    b'{"orders": [], "orders": "none"}',                                # a key twice: the last one counts
    b'{"orders": "none", "orders": []}',
    b'{"orders": [], "\\u006frders": 5}',
    b'{"items": []}',
    b"{}",
    b"[1, 2]",
    b'"orders"',
    b"",
    b"   ",
    b'{"orders": [',                                                    # truncated
    b'{"orders": [{"id": "\xff"}]}',                                    # not UTF-8
    b'{"orders": [{"id": "\\ud800"}]}',                                 # a lone surrogate escape
    b'{"orders": []} // fetched',
    b'{"remittance_id": "", "order_ids": []}',
    b'{"orders": [], "order_ids": ["a"]}',
])
def test_read_input_lists_what_parse_input_lists_or_fails_the_same_way(data):
    import duckdb

    from acctsync_pipelines.lib.stores.source import parse_input, read_input

    try:
        expected = parse_input("inbox/stores/x.json", data)[1]
    except InputError as exc:
        expected = str(exc)
    with duckdb.connect() as conn:
        try:
            found = read_input(conn, "inbox/stores/x.json", data)
        except InputError as exc:
            found = str(exc)
    assert found == expected


def test_the_inbox_is_read_incrementally_and_ends_where_a_fresh_read_ends(home):
    inbox = home.inbox("stores")
    two_files(inbox)
    configure(home)
    assert raw_window(home).details["files_read"] == 2
    assert raw_window(home).details["files_read"] == 0  # unchanged files are not read again

    # a later fetch changes one file (order 8000000002 shipped earlier, a new order), another file leaves,
    # a new one arrives; only the changed and the new file are read
    write_json(inbox, "orders_0602.json", {"orders": [
        order("8000000002", "2025-06-02T09:00:00+09:00", shipped_at="2025-06-03T09:00:00+09:00"),
        order("8000000004", "2025-06-04T10:00:00+09:00")]})
    (inbox / "orders_0605.json").unlink()
    write_json(inbox, "orders_0607.json", {"orders": [order("8000000005", "2025-06-01T08:00:00+09:00")]})
    stats = raw_window(home)
    assert stats.details["files_read"] == 2
    assert home.query("SELECT business_date, record_id FROM raw.stores_day_records ORDER BY ALL") == [
        (dt.date(2025, 6, 1), "id8000000005"), (dt.date(2025, 6, 2), "id8000000002"),
        (dt.date(2025, 6, 3), "id8000000002"), (dt.date(2025, 6, 4), "id8000000004")]
    incremental = raw_rows(home)

    saved = home.root / "saved"
    shutil.copytree(inbox, saved)
    home.warehouse.unlink()
    shutil.rmtree(inbox)
    shutil.copytree(saved, inbox)
    assert raw_window(home).details["files_read"] == 2
    fresh = raw_rows(home)
    # the versions only the old files held stay in raw.stores_snapshots (history); no input sights them
    held, kept = incremental.pop("raw.stores_snapshots"), fresh.pop("raw.stores_snapshots")
    assert all(row in held for row in kept)
    old_versions = [row for row in held if row not in kept]
    assert sorted(record_id for _, record_id, *_ in old_versions) == [
        "id8000000001", "id8000000001", "id8000000002", "id8000000003"]
    assert not {revision for _, _, revision, *_ in old_versions} & {
        revision for _, _, _, revision, _ in fresh["raw.stores_sightings"]}
    assert incremental == fresh
