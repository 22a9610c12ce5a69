"""Which business days a new inbox file affects (the inbox sensor asks ``days_for_inbox_file``)."""

from __future__ import annotations

import datetime as dt

from acctsync_pipelines.lib.amazon_business.source import SOURCE
from acctsync_pipelines_tests.lib.amazon_business.builders import item, txn, write_json

ORDER = "250-1111111-0000001"


def test_a_json_file_affects_the_tokyo_days_of_its_transactions(home):
    path = write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-1", "2025-06-01T15:30:00Z", 100, [item(ORDER, 1, "a", 100)]),
        txn("T-2", "2025-06-05T01:00:00Z", 100, [item(ORDER, 2, "b", 100)]),
        # a split-payment part: its other part may be in another file, on the day before
        txn("T-3", "2025-06-07T01:00:00Z", 100, [item(ORDER, 3, "c", 100)], associated=("T-elsewhere",)),
    ])

    assert SOURCE.days_for_inbox_file(home.root, path) == [
        dt.date(2025, 6, 2), dt.date(2025, 6, 5), dt.date(2025, 6, 6), dt.date(2025, 6, 7)]


def test_an_orders_report_affects_its_payment_days(home):
    path = home.inbox("amazon_business") / "orders.csv"
    path.write_text(
        "Order Date,Order ID,Order Status,Payment Date,Payment Amount,Payment Instrument Type,Title,"
        "Item Net Total,Item Tax\n"
        "06/02/2025,250-1,Closed,06/03/2025,100,Visa,a,100,9\n"
        "06/09/2025,250-2,Pending,,,Visa,b,100,9\n",
        encoding="utf-8",
    )

    assert SOURCE.days_for_inbox_file(home.root, path) == [dt.date(2025, 6, 3), dt.date(2025, 6, 9)]


def test_files_that_are_not_ready_or_not_ours_affect_nothing(home, tmp_path):
    inbox = home.inbox("amazon_business")
    half_written = inbox / "june.json"
    half_written.write_text('{"transactions": [{"transactionId": "T-1", ', encoding="utf-8")
    other = inbox / "notes.txt"
    other.write_text("hello", encoding="utf-8")
    hidden = write_json(inbox, ".june.json", [txn("T-1", "2025-06-01T01:00:00Z", 1, [])])
    outside = write_json(tmp_path, "outside.json", [txn("T-1", "2025-06-01T01:00:00Z", 1, [])])
    link = inbox / "link.json"
    link.symlink_to(outside)

    for path in (half_written, other, hidden, outside, link):
        assert SOURCE.days_for_inbox_file(home.root, path) is None, path
