"""Booking Amazon Business purchases from the transactions JSON: split payments, refunds, Amazon Pay,
unknown instruments, tax per rate per document, 適格 invoices, the Tokyo business day."""

from __future__ import annotations

import json

import pytest

from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.amazon_business.builders import (
    check_failures, item, lines, post_days, run_days, txn, write_json,
)

ORDER = "250-1111111-0000001"
OFFICE_RULE = {"sources": {"amazon_business": {"rules": [{"unspsc": "44", "account": "事務用品費"}]}}}


def _entry(found: list[dict], entry_id: str) -> list[dict]:
    return [line for line in found if line["entry_id"] == entry_id]


def test_split_payment_books_the_items_once_and_splits_the_credit_then_reruns_post_nothing(home):
    home.configure(OFFICE_RULE)
    items = [item(ORDER, 1, "コピー用紙 A4", 2980, unspsc="44121600"),
             item(ORDER, 2, "ボールペン 10本", 550, unspsc="44121704")]
    ids = ("T-CARD", "T-POINTS", "T-GIFT")
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-CARD", "2025-06-02T01:00:00Z", 2230, items, instrument="Visa", associated=ids[1:]),
        txn("T-POINTS", "2025-06-02T01:00:00Z", 800, items, instrument="Amazon Points", associated=(ids[0], ids[2])),
        txn("T-GIFT", "2025-06-02T01:00:01Z", 500, items, instrument="Amazon Gift Card Balance", associated=ids[:2]),
    ])

    result = home.materialize("amazon_business", "2025-06-02")

    assert result.success, failure_text(result)
    entry = f"amazon_business:{ORDER}:charge:2025-06-02"
    booked = [(x["side"], x["account"], x["sub_account"], x["amount"], x["rule"]) for x in lines(home)]
    assert booked == [
        ("debit", "事務用品費", "", 2980, "config:1:unspsc=44"),
        ("debit", "事務用品費", "", 550, "config:1:unspsc=44"),
        ("credit", "前払金", "Amazonギフトカード", 500, "instrument:gift_card"),
        ("credit", "雑収入", "", 800, "instrument:points"),
        ("credit", "未払金", "Amazonビジネス", 2230, "instrument:card"),
    ]
    assert {x["entry_id"] for x in lines(home)} == {entry}
    assert {x["source_ref"] for x in lines(home)} == {ORDER}
    # tax once for the 10% part of the document: 3530 × 10/110 = 320 (down), shared 270 + 50
    assert [x["tax_amount"] for x in lines(home)][:2] == [270, 50]
    assert home.query("SELECT count(*) FROM ledger.postings WHERE entry_id = ?", [entry]) == [(1,)]
    [export] = home.export_files()
    rows = export.read_bytes().decode("cp932").splitlines()
    assert len(rows) == 5 and rows[0].startswith("2110,") and rows[-1].startswith("2101,")

    again = home.materialize("amazon_business", "2025-06-02")
    assert again.success
    assert home.query("SELECT count(*) FROM ledger.postings") == [(1,)]
    assert len(home.export_files()) == 1


def test_a_missing_part_of_a_split_payment_waits_on_suspense_until_it_arrives(home):
    home.configure(OFFICE_RULE)
    inbox = home.inbox("amazon_business")
    items = [item(ORDER, 1, "コピー用紙 A4", 3000, unspsc="44121600")]
    write_json(inbox, "a_card.json", [
        txn("T-CARD", "2025-06-03T02:00:00Z", 2700, items, associated=("T-POINTS",)),
    ])

    run_days(home, "2025-06-03")
    post_days(home, "2025-06-03")

    waiting = lines(home)
    difference = [x for x in waiting if x["rule"] == "difference"]
    assert [(x["side"], x["account"], x["amount"]) for x in difference] == [("credit", "仮払金", 300)]
    assert "payments total 2700 but the items total 3000" in difference[0]["review_reason"]
    assert {x["review_status"] for x in waiting} == {"needs_review"}
    assert home.query("SELECT count(*) FROM ledger.postings") == [(0,)]

    write_json(inbox, "b_points.json", [
        txn("T-POINTS", "2025-06-03T02:00:00Z", 300, items, instrument="Amazonポイント", associated=("T-CARD",)),
    ])
    run_days(home, "2025-06-03")
    post_days(home, "2025-06-03")

    booked = lines(home)
    assert [(x["side"], x["account"], x["amount"]) for x in booked] == [
        ("debit", "事務用品費", 3000), ("credit", "雑収入", 300), ("credit", "未払金", 2700)]
    assert {x["review_status"] for x in booked} == {"ready"}
    assert home.query("SELECT action, count(*) FROM ledger.postings GROUP BY ALL") == [("post", 1)]


def test_a_refund_reverses_the_purchase_on_its_own_day(home):
    home.configure(OFFICE_RULE)
    bought = [item(ORDER, 1, "ボールペン 10本", 1100, unspsc="44121704"),
              item(ORDER, 2, "ノート", 440, unspsc="44121800")]
    returned = [dict(bought[0], totalAmount={"currencyCode": "JPY", "amount": "-1100.0"},
                     refundReason="Customer return")]
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-BUY", "2025-06-04T03:00:00Z", 1540, bought),
        txn("T-REFUND", "2025-06-10T05:00:00Z", -1100, returned, kind="REFUND"),
    ])

    run_days(home, "2025-06-04", "2025-06-10")

    purchase = lines(home, "business_date = '2025-06-04'")
    refund = lines(home, "business_date = '2025-06-10'")
    assert {x["entry_id"] for x in purchase} == {f"amazon_business:{ORDER}:charge:2025-06-04"}
    assert {x["entry_id"] for x in refund} == {f"amazon_business:{ORDER}:refund:2025-06-10"}
    assert [(x["side"], x["account"], x["sub_account"], x["amount"], x["tax_amount"]) for x in refund] == [
        ("debit", "未払金", "Amazonビジネス", 1100, 0),
        ("credit", "事務用品費", "", 1100, 100),
    ]
    assert refund[1]["description"] == "Amazon 返金 ボールペン 10本"
    assert check_failures(home, "2025-06-10") == {"entries_balance": [], "payments_match_transactions": []}


def test_amazon_pay_goes_to_the_skipped_table_not_the_journal(home):
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-PAY", "2025-06-05T03:00:00Z", 880, [item(ORDER, 1, "外部サイトの買い物", 880)], instrument="Amazon Pay"),
        txn("T-USD", "2025-06-05T04:00:00Z", 5, [item("114-0000000-0000001", 1, "Pencils", 5)], currency="USD"),
    ])

    run_days(home, "2025-06-05")

    assert lines(home) == []
    skipped = home.query(
        "SELECT transaction_id, order_ids, reason FROM staging.amazon_business_skipped ORDER BY transaction_id")
    assert skipped[0][:2] == ("T-PAY", ORDER)
    assert "Amazon Pay" in skipped[0][2] and "amazon_pay" in skipped[0][2]
    assert skipped[1][0] == "T-USD" and "only JPY is booked" in skipped[1][2]
    assert check_failures(home, "2025-06-05")["payments_match_transactions"] == []


def test_an_unknown_payment_instrument_waits_for_review(home):
    home.configure(OFFICE_RULE)
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-1", "2025-06-05T03:00:00Z", 550, [item(ORDER, 1, "ボールペン", 550, unspsc="44121704")],
            instrument="PayStation"),
    ])

    run_days(home, "2025-06-05")

    credit = [x for x in lines(home) if x["side"] == "credit"]
    assert [(x["account"], x["sub_account"], x["rule"], x["confidence"]) for x in credit] == [
        ("未払金", "Amazonビジネス", "instrument:unknown", 0.0)]
    assert "unknown payment instrument 'PayStation'" in credit[0]["review_reason"]
    assert {x["review_status"] for x in lines(home)} == {"needs_review"}


def test_tax_is_computed_once_per_rate_per_document(home):
    home.configure({"sources": {"amazon_business": {"rules": [{"title_keyword": "コーヒー", "account": "仕入高"},
                                                              {"title_keyword": "砂糖", "account": "仕入高"},
                                                              {"title_keyword": "フィルター", "account": "消耗品費"}]}}})
    food = [item(ORDER, 1, "コーヒー豆 200g", 105, rate="0.08"), item(ORDER, 2, "砂糖 1kg", 105, rate="0.08"),
            item(ORDER, 3, "フィルター", 1100, rate="0.10")]
    write_json(home.inbox("amazon_business"), "june.json", [txn("T-1", "2025-06-06T01:00:00Z", 1310, food)])

    run_days(home, "2025-06-06")

    debits = [x for x in lines(home) if x["side"] == "debit"]
    assert [(x["tax_category"], x["amount"], x["tax_amount"]) for x in debits] == [
        ("purchase_8r", 105, 8), ("purchase_8r", 105, 7), ("purchase_10", 1100, 100)]
    # per line it would be 7 + 7 = 14; once for the document's 8% part it is 210 × 8/108 = 15
    assert sum(x["tax_amount"] for x in debits if x["tax_category"] == "purchase_8r") == 15


def test_invoice_details_make_the_line_qualified_and_supply_the_tax(home):
    home.configure({"sources": {"amazon_business": {
        "rules": [{"seller": "見本商事株式会社", "account": "消耗品費"}],
        "seller_registration_numbers": {"別の商店": "T0000000000009"}}}})
    lines_in = [item(ORDER, 1, "洗剤", 1409, seller="見本商事株式会社", shipment="SH1"),
                item(ORDER, 2, "スポンジ", 330, seller="別の商店", shipment="SH1")]
    invoice = {"invoiceNumber": "JPINV1", "invoiceDate": "2025-06-07T00:00:00Z", "invoiceType": "STANDARD",
               "invoiceIssuer": {"name": "見本商事株式会社", "registrationNumber": "T0000000000001"},
               "sellerInformation": {"name": "見本商事株式会社", "registrationNumber": "T0000000000001"},
               "invoiceTotal": "1409.0",
               "tax": [{"rate": "0.1", "inclusiveTotal": {"currencyCode": "JPY", "amount": "1409.0"},
                        "exclusiveTotal": {"currencyCode": "JPY", "amount": "1282.0"},
                        "amount": {"currencyCode": "JPY", "amount": "127.0"}}]}
    write_json(home.inbox("amazon_business"), "june.json",
               [txn("T-1", "2025-06-07T01:00:00Z", 1739, lines_in)],
               invoices=[{"orderLineItem": {"orderId": ORDER, "orderLineItemId": lines_in[0]["orderLineItemId"],
                                            "shipmentId": "SH1"}, "invoiceDetails": [invoice]}])

    run_days(home, "2025-06-07")

    debits = {x["description"]: x for x in lines(home) if x["side"] == "debit"}
    # the invoice says 127 for its 10% part (our own computation would give 128): the invoice wins
    assert (debits["Amazon 洗剤"]["tax_amount"], debits["Amazon 洗剤"]["qualified_invoice"]) == (127, True)
    # no invoice, but the configured registration number of the seller
    assert (debits["Amazon スポンジ"]["tax_amount"], debits["Amazon スポンジ"]["qualified_invoice"]) == (30, True)
    assert home.query("SELECT registration_number FROM staging.amazon_business_lines ORDER BY item_no") == [
        ("T0000000000001",), ("T0000000000009",)]


def test_the_business_day_is_the_tokyo_day_of_the_transaction(home):
    home.configure(OFFICE_RULE)
    write_json(home.inbox("amazon_business"), "june.json", [
        # 15:30 UTC on June 1 is 00:30 on June 2 in Tokyo
        txn("T-LATE", "2025-06-01T15:30:00Z", 550, [item(ORDER, 1, "ボールペン", 550, unspsc="44121704")]),
        txn("T-EARLY", "2025-06-01T14:59:59Z", 330, [item("250-2222222-0000002", 1, "消しゴム", 330,
                                                           unspsc="44121800")]),
    ])

    run_days(home, "2025-06-01", "2025-06-02")

    assert {(x["business_date"].isoformat(), x["source_ref"]) for x in lines(home)} == {
        ("2025-06-01", "250-2222222-0000002"), ("2025-06-02", ORDER)}


def test_split_parts_on_both_sides_of_midnight_book_as_one_entry_on_the_first_day(home):
    home.configure(OFFICE_RULE)
    items = [item(ORDER, 1, "コピー用紙", 1000, unspsc="44121600")]
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-CARD", "2025-06-08T14:59:58Z", 900, items, associated=("T-POINTS",)),
        txn("T-POINTS", "2025-06-08T15:00:02Z", 100, items, instrument="Amazon Points", associated=("T-CARD",)),
    ])

    run_days(home, "2025-06-08", "2025-06-09")

    booked = lines(home)
    assert {x["entry_id"] for x in booked} == {f"amazon_business:{ORDER}:charge:2025-06-08"}
    assert [(x["side"], x["amount"]) for x in booked] == [("debit", 1000), ("credit", 100), ("credit", 900)]


def test_undelivered_charges_are_skipped(home):
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-1", "2025-06-05T03:00:00Z", 550, [item(ORDER, 1, "取り寄せ品", 550, shipped=False)]),
    ])

    run_days(home, "2025-06-05")

    assert lines(home) == []
    assert home.query("SELECT reason FROM staging.amazon_business_skipped") == [("not delivered yet: 取り寄せ品",)]


def test_bad_values_fail_the_day_naming_file_transaction_field_and_value(home):
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-1", "2025-06-05T03:00:00Z", 550, [item(ORDER, 1, "A", 550, rate="0.05"),
                                                 dict(item(ORDER, 2, "B", 0), totalAmount={"amount": "12.5"})]),
    ])

    with pytest.raises(InputError) as error:
        run_days(home, "2025-06-05")

    text = str(error.value)
    assert ("inbox/amazon_business/june.json: transaction 1 (T-1): transactionLineItems[1]: field taxRate: "
            "value '0.05': unknown tax rate; configured rates: 0%, 8%, 10%") in text
    assert "transactionLineItems[2]: field totalAmount.amount: value '12.5': not a whole yen amount" in text
    assert home.query("SELECT stage FROM ops.day_errors") == [("raw_orders",)]


def test_an_unreadable_date_fails_naming_it(home):
    write_json(home.inbox("amazon_business"), "june.json", [
        txn("T-1", "yesterday", 550, [item(ORDER, 1, "A", 550)], feed="2025-06-05T00:00:00Z"),
    ])

    with pytest.raises(InputError, match=r"june.json: transaction 1 \(T-1\): field transactionDate: value 'yesterday': "
                                         r"not an ISO 8601 date-time"):
        run_days(home, "2025-06-05")


def test_the_vendors_sandbox_transaction_is_read_and_skipped_for_its_currency(home, vendor_dir):
    spec = json.loads((vendor_dir / "amazon-business" / "reconciliation-api-2021-01-08.json").read_text())
    sandbox = spec["paths"]["/reconciliation/2021-01-08/transactions"]["get"]["responses"]["200"][
        "x-amzn-api-sandbox"]["static"][0]["response"]
    (home.inbox("amazon_business") / "sandbox.json").write_text(json.dumps(sandbox), encoding="utf-8")

    run_days(home, "2020-04-04")  # 2020-04-03T16:59:18.768Z is April 4 in Tokyo

    assert home.query("SELECT transaction_id, order_ids, currency, reason FROM staging.amazon_business_skipped") == [
        ("1x47pVc03Ffs71cjjCct", "114-1458190-2465828", "USD", "currency USD: only JPY is booked; book it by hand")]
    assert home.query("SELECT count(*) FROM raw.amazon_business_line_items WHERE business_date = '2020-04-04'") == [(1,)]
