"""The Amazon Business Orders report CSV: one row per item, a payment's rows per instrument, the rate
told from Item Tax, undelivered orders skipped, configurable header names, and named errors."""

from __future__ import annotations

import csv
import io

import pytest

from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines_tests.lib.amazon_business.builders import lines, run_days

HEADER = ["Order Date", "Order ID", "Order Status", "Currency", "Payment Reference ID", "Payment Date",
          "Payment Amount", "Payment Instrument Type", "Amazon-Internal Product Category", "ASIN", "Title", "UNSPSC",
          "Item Quantity", "Item Tax", "Item Net Total", "GL Code", "Seller Name"]


def _row(order, payment_ref, amount, instrument, asin, title, unspsc, tax, total, *, status="Closed",
         day="06/03/2025", category="Grocery", gl="", seller="見本商店") -> list:
    return [day, order, status, "JPY", payment_ref, day if status == "Closed" else "", amount, instrument, category,
            asin, title, unspsc, "1", tax, total, gl, seller]


def _write(home, rows: list[list], header: list[str] = HEADER, name: str = "orders.csv", encoding="utf-8-sig"):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    (home.inbox("amazon_business") / name).write_bytes(buffer.getvalue().encode(encoding))


def test_report_rows_book_by_order_with_split_payments_and_inferred_rates(home):
    _write(home, [
        _row('="250-0000001-0000001"', "PAY1", "1077", "Visa", "B0SUGAR", "グラニュー糖 1kg", "50161509", "48", "648"),
        _row('="250-0000001-0000001"', "PAY1", "1077", "Visa", "B0FILTER", "ドリップフィルター", "52151504", "39", "429",
             category="Kitchen"),
        # a split payment: the items repeat under each payment
        _row("250-0000002-0000002", "PAY2", "1246", "Visa", "B0SOAP", "食器用洗剤", "47131807", "63", "698"),
        _row("250-0000002-0000002", "PAY2", "1246", "Visa", "B0NOTE", "ノート", "14111514", "68", "748",
             category="Office Product"),
        _row("250-0000002-0000002", "PAY3", "200", "Amazon Points", "B0SOAP", "食器用洗剤", "47131807", "63", "698"),
        _row("250-0000002-0000002", "PAY3", "200", "Amazon Points", "B0NOTE", "ノート", "14111514", "68", "748",
             category="Office Product"),
        _row("250-0000003-0000003", "", "", "Visa", "B0CUP", "紙コップ", "48101710", "316", "3480", status="Pending"),
    ])

    run_days(home, "2025-06-03")

    booked = lines(home)
    one = [(x["side"], x["account"], x["tax_category"], x["amount"], x["tax_amount"])
           for x in booked if x["source_ref"] == "250-0000001-0000001"]
    assert one == [("debit", "消耗品費", "purchase_10", 429, 39), ("debit", "消耗品費", "purchase_8r", 648, 48),
                   ("credit", "未払金", "out_of_scope", 1077, 0)]
    two = [(x["side"], x["account"], x["amount"], x["rule"]) for x in booked if x["source_ref"] == "250-0000002-0000002"]
    assert two == [("debit", "事務用品費", 748, "default:unspsc=141115"),
                   ("debit", "消耗品費", 698, "default:otherwise"),
                   ("credit", "雑収入", 200, "instrument:points"),
                   ("credit", "未払金", 1246, "instrument:card")]
    assert home.query("SELECT order_ids, reason FROM staging.amazon_business_skipped") == [
        ("250-0000003-0000003", "not delivered yet: 紙コップ")]
    assert home.query(
        "SELECT DISTINCT source_file FROM raw.amazon_business_transactions") == [("inbox/amazon_business/orders.csv",)]


def test_a_refund_row_books_on_its_day(home):
    _write(home, [_row("250-0000001-0000001", "REF1", "-648", "Visa", "B0SUGAR", "グラニュー糖 1kg", "50161509",
                       "-48", "-648", day="06/10/2025")])

    run_days(home, "2025-06-10")

    assert [(x["entry_id"], x["side"], x["amount"], x["tax_amount"]) for x in lines(home)] == [
        ("amazon_business:250-0000001-0000001:refund:2025-06-10", "debit", 648, 0),
        ("amazon_business:250-0000001-0000001:refund:2025-06-10", "credit", 648, 48),
    ]


def test_header_names_are_configurable(home):
    japanese = ["注文日", "注文番号", "注文状況", "通貨", "支払い番号", "支払日", "支払金額", "支払方法", "カテゴリ", "ASIN",
                "商品名", "UNSPSC", "数量", "税額", "合計", "GLコード", "出品者"]
    home.configure({"sources": {"amazon_business": {
        "csv_columns": dict(zip(["order_date", "order_id", "order_status", "currency", "payment_reference_id",
                                 "payment_date", "payment_amount", "payment_instrument_type", "category", "asin",
                                 "title", "unspsc", "item_quantity", "item_tax", "item_net_total", "gl_code",
                                 "seller_name"], japanese)),
        "delivered_order_statuses": ["発送済み"],
        "rules": [{"gl_code": "6100", "account": "事務用品費"}]}}})
    _write(home, [_row("250-0000001-0000001", "P1", "550", "クレジットカード", "B0PEN", "ボールペン", "44121704", "50",
                       "550", status="発送済み", day="2025/06/03", gl="6100")], header=japanese, encoding="cp932")

    run_days(home, "2025-06-03")

    assert [(x["side"], x["account"], x["rule"], x["review_status"]) for x in lines(home)] == [
        ("debit", "事務用品費", "config:1:gl_code=6100", "ready"), ("credit", "未払金", "instrument:card", "ready")]


def test_a_missing_column_names_the_header_and_the_setting(home):
    _write(home, [["06/03/2025", "250-0000001-0000001"]], header=["Order Date", "Order ID"])

    with pytest.raises(InputError) as error:
        run_days(home, "2025-06-03")

    assert str(error.value).startswith("inbox/amazon_business/orders.csv: row 1: missing column(s) Order Status, ")
    assert "sources.amazon_business.csv_columns" in str(error.value)


def test_item_tax_that_fits_no_rate_is_named(home):
    _write(home, [_row("250-0000001-0000001", "P1", "1000", "Visa", "B0X", "何か", "47131807", "30", "1000")])

    with pytest.raises(InputError) as error:
        run_days(home, "2025-06-03")

    assert ("inbox/amazon_business/orders.csv: row 2: column Item Tax: value '30': matches no configured tax rate "
            "for the line total 1000 (nearest: 0%)") in str(error.value)


def test_rows_of_one_payment_that_disagree_are_named(home):
    _write(home, [
        _row("250-0000001-0000001", "P1", "1000", "Visa", "B0X", "何か", "47131807", "0", "500"),
        _row("250-0000001-0000001", "P1", "900", "Visa", "B0Y", "別の", "47131807", "0", "500"),
    ])

    with pytest.raises(InputError, match=r"orders.csv: row 2: column Payment Amount: value '1000 / 900': "
                                         r"rows of the same payment disagree"):
        run_days(home, "2025-06-03")


def test_a_delivered_order_without_a_payment_yet_is_skipped(home):
    _write(home, [_row("250-0000001-0000001", "", "", "Pay by Invoice", "B0X", "何か", "47131807", "0", "500")])

    run_days(home, "2025-06-03")

    assert lines(home) == []
    assert home.query("SELECT reason FROM staging.amazon_business_skipped") == [
        ("no payment yet (the Orders report's payment amount is empty)",)]
