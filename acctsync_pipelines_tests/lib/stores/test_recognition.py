"""Which day an order books on, cancellations as reversals, re-runs posting only the difference, and
the newest version of an order winning — through real materializations of the STORES job."""

from __future__ import annotations

import copy
import datetime as dt
import os

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.stores.builders import cancelled, order, write_json

JUNE = {"start_date": "2025-06-01"}


def configure(home, **stores) -> None:
    home.configure({"sources": {"stores": JUNE | stores, "usen_reji": {"enabled": False},
                                "amazon_business": {"enabled": False}}})


def entries(home) -> list[tuple]:
    """The entries the journal holds now (not those posted earlier and since reversed)."""
    return home.query("SELECT DISTINCT entry_id, business_date FROM ledger.journal_lines "
                      "WHERE status <> 'reversed' ORDER BY 1, 2")


def revenue(home, entry_id: str) -> int:
    (total,) = home.query("SELECT coalesce(sum(CASE side WHEN 'credit' THEN amount ELSE -amount END), 0) "
                          "FROM ledger.journal_lines WHERE entry_id = ? AND account = '売上高'", [entry_id])[0]
    return total


def test_shipped_basis_books_on_the_shipping_day_and_ordered_basis_on_the_order_day(home, run_stores):
    inbox = home.inbox("stores")
    write_json(inbox, "orders.json", {"orders": [
        order("1000000001", "2025-06-01T21:10:00+09:00", shipped_at="2025-06-03T15:00:00+09:00"),
        order("1000000002", "2025-06-01T22:00:00+09:00"),                                # never shipped
        order("1000000003", "2025-06-02T23:30:00+09:00", delivery="download"),            # paid_at counts
    ]})
    configure(home)
    run_stores("2025-06-01", "2025-06-03")
    assert entries(home) == [("stores:1000000001:sale:2025-06-03", dt.date(2025, 6, 3)),
                             ("stores:1000000003:sale:2025-06-02", dt.date(2025, 6, 2))]

    configure(home, recognition="ordered")
    run_stores("2025-06-01", "2025-06-03")
    assert entries(home) == [("stores:1000000001:sale:2025-06-01", dt.date(2025, 6, 1)),
                             ("stores:1000000002:sale:2025-06-01", dt.date(2025, 6, 1)),
                             ("stores:1000000003:sale:2025-06-02", dt.date(2025, 6, 2))]
    # switching the basis moved the sale: day 3 reversed what it had posted, day 1 posted it anew
    assert home.query("SELECT entry_id, action FROM ledger.postings WHERE entry_id LIKE 'stores:1000000001:%' "
                      "ORDER BY posted_at, action_seq") == [("stores:1000000001:sale:2025-06-03", "post"),
                                                            ("stores:1000000001:sale:2025-06-01", "post"),
                                                            ("stores:1000000001:sale:2025-06-03", "reverse")]


def test_the_business_day_is_the_asia_tokyo_day(home, run_stores):
    # 2025-06-01T16:30Z is 2025-06-02 01:30 in Tokyo
    write_json(home.inbox("stores"), "orders.json", {"orders": [
        order("1000000010", "2025-06-01T16:30:00Z", shipped_at="2025-06-01T16:45:00Z")]})
    configure(home)
    run_stores("2025-06-01", "2025-06-02")
    assert entries(home) == [("stores:1000000010:sale:2025-06-02", dt.date(2025, 6, 2))]


def test_re_running_after_a_cancellation_posts_only_the_reversal(home, run_stores):
    inbox = home.inbox("stores")
    sold = order("2000000001", "2025-06-01T10:00:00+09:00", 11000, shipped_at="2025-06-02T12:00:00+09:00")
    write_json(inbox, "orders_0603.json", {"orders": [sold]})
    configure(home)
    run_stores("2025-06-02", "2025-06-04")
    assert [p.name for p in home.export_files()] == ["stores_20250602_001.csv"]
    sale_hash = "SELECT content_hash FROM ledger.journal_lines WHERE entry_id = 'stores:2000000001:sale:2025-06-02'"
    first_sale = home.query(sale_hash)

    # a later fetch: refunded on 06-04 (the newer version wins over the file still in the inbox)
    write_json(inbox, "orders_0606.json", {"orders": [cancelled(sold, "2025-06-04T18:00:00+09:00")]})
    run_stores("2025-06-02", "2025-06-04")
    assert entries(home) == [("stores:2000000001:cancel:2025-06-04", dt.date(2025, 6, 4)),
                             ("stores:2000000001:sale:2025-06-02", dt.date(2025, 6, 2))]
    assert home.query(sale_hash) == first_sale  # the posted sale is not rewritten
    assert [p.name for p in home.export_files()] == ["stores_20250602_001.csv", "stores_20250604_001.csv"]
    sent = (home.exports() / "stores_20250604_001.csv").read_bytes().decode("cp932")
    assert "stores:2000000001:cancel:2025-06-04" in sent and ":sale:" not in sent
    assert home.query("SELECT entry_id, action FROM ledger.postings ORDER BY posted_at") == [
        ("stores:2000000001:sale:2025-06-02", "post"), ("stores:2000000001:cancel:2025-06-04", "post")]
    assert revenue(home, "stores:2000000001:cancel:2025-06-04") == -11000
    assert home.query("SELECT side, account, sub_account, amount FROM ledger.journal_lines "
                      "WHERE entry_id = 'stores:2000000001:cancel:2025-06-04' ORDER BY line_no") == [
        ("debit", "売上高", "", 11000), ("debit", "売掛金", "STORES決済", 396),
        ("credit", "売掛金", "STORES決済", 11000), ("credit", "支払手数料", "", 396)]
    # and once more: nothing new anywhere
    run_stores("2025-06-02", "2025-06-04")
    assert home.query("SELECT count(*) FROM ledger.postings") == [(2,)]


def test_a_cancellation_before_shipping_books_nothing_and_a_partial_one_nets_the_sale(home, run_stores):
    inbox = home.inbox("stores")
    lapsed = cancelled(order("3000000001", "2025-06-01T10:00:00+09:00"), "2025-06-01T12:00:00+09:00")
    # two deliveries: one cancelled (and refunded) on 06-02 before anything shipped, the other shipped 06-03
    partial = order("3000000002", "2025-06-01T11:00:00+09:00", 8000, shipped_at="2025-06-03T10:00:00+09:00")
    second = copy.deepcopy(partial["deliveries"][0])
    second |= {"id": "dl3000000002b", "shipped_at": None, "canceled_at": "2025-06-02T09:00:00+09:00"}
    partial["deliveries"].append(second)
    partial |= {"sales_amount": 11000, "cancel_amount": 3000, "sales_tax": 1000, "cancel_tax": 272}
    partial["tax_details"][0] |= {"sales_amount": 11000, "cancel_amount": 3000, "sales_tax": 1000, "cancel_tax": 272}
    partial["transactions"][0] |= {"amount": 11000, "payment_fee": 396}
    partial["transactions"].append({**partial["transactions"][0], "id": "refund", "amount": -3000,
                                    "payment_fee": -108, "paid_at": "2025-06-02T09:00:00+09:00"})
    write_json(inbox, "orders.json", {"orders": [lapsed, partial]})
    configure(home)
    run_stores("2025-06-01", "2025-06-03")
    assert entries(home) == [("stores:3000000002:sale:2025-06-03", dt.date(2025, 6, 3))]
    assert home.query("SELECT side, account, sub_account, tax_category, amount, tax_amount FROM ledger.journal_lines "
                      "WHERE entry_id = 'stores:3000000002:sale:2025-06-03' ORDER BY line_no") == [
        ("debit", "売掛金", "STORES決済", "out_of_scope", 8000, 0),
        ("debit", "支払手数料", "", "out_of_scope", 288, 0),
        ("credit", "売上高", "", "sales_10", 8000, 728),
        ("credit", "売掛金", "STORES決済", "out_of_scope", 288, 0)]

    configure(home, recognition="ordered")  # ordered: both orders sold on 06-01, cancelled later
    run_stores("2025-06-01", "2025-06-03")
    assert entries(home) == [("stores:3000000001:cancel:2025-06-01", dt.date(2025, 6, 1)),
                             ("stores:3000000001:sale:2025-06-01", dt.date(2025, 6, 1)),
                             ("stores:3000000002:cancel:2025-06-02", dt.date(2025, 6, 2)),
                             ("stores:3000000002:sale:2025-06-01", dt.date(2025, 6, 1))]
    assert revenue(home, "stores:3000000002:sale:2025-06-01") == 11000
    assert revenue(home, "stores:3000000002:cancel:2025-06-02") == -3000


def test_the_newest_version_of_an_order_wins_whatever_the_file_names(home, run_stores):
    inbox = home.inbox("stores")
    waiting = order("4000000001", "2025-06-01T10:00:00+09:00")
    shipped = copy.deepcopy(waiting)
    shipped["deliveries"][0]["shipped_at"] = "2025-06-02T10:00:00+09:00"
    write_json(inbox, "z_older_fetch.json", {"orders": [waiting]})
    write_json(inbox, "a_newer_fetch.json", {"orders": [shipped]})
    configure(home)
    run_stores("2025-06-02")
    assert entries(home) == [("stores:4000000001:sale:2025-06-02", dt.date(2025, 6, 2))]
    assert home.query("SELECT DISTINCT revision FROM staging.normalized_transactions") == \
        home.query("SELECT revision FROM raw.stores_sightings WHERE source_file LIKE '%a_newer_fetch.json'")
    # the file that held it leaves the inbox: the older version is all that is left, so the sale is reversed
    (inbox / "a_newer_fetch.json").unlink()
    run_stores("2025-06-02")
    assert entries(home) == []
    assert home.query("SELECT action FROM ledger.postings ORDER BY action_seq") == [("post",), ("reverse",)]


def test_departments_tenders_and_review(home, run_stores):
    inbox = home.inbox("stores")
    write_json(inbox, "orders.json", {"orders": [
        order("5000000001", "2025-06-01T10:00:00+09:00", 1100, tender="custom", method_name="商品券",
              delivery="counter", sales_channel_id="shop1", shipped_at="2025-06-01T10:01:00+09:00"),
        order("5000000002", "2025-06-01T11:00:00+09:00", 2200, tender="cash", delivery="counter",
              sales_channel_id="shop2", shipped_at="2025-06-01T11:01:00+09:00"),
        order("5000000003", "2025-06-01T12:00:00+09:00", 3300, tender="unknown", fee=0,
              shipped_at="2025-06-01T15:00:00+09:00"),
    ]})
    write_json(inbox, "sales_channels.json", {"sales_channels": [
        {"id": "shop1", "name": "本店", "created_at": "2024-01-01T00:00:00+09:00"},
        {"id": "shop2", "name": "二号店", "created_at": "2024-01-01T00:00:00+09:00"}]})
    configure(home, departments={"shop2": "駅前"}, custom_tenders={"商品券": {"account": "受取商品券"}})
    run_stores("2025-06-01")
    assert home.query("SELECT entry_id, account, sub_account, department, status FROM ledger.journal_lines "
                      "WHERE side = 'debit' ORDER BY entry_id") == [
        ("stores:5000000001:sale:2025-06-01", "受取商品券", "", "本店", "posted"),
        ("stores:5000000002:sale:2025-06-01", "現金", "", "駅前", "posted"),
        ("stores:5000000003:sale:2025-06-01", "売掛金", "unknown", "", "needs_review")]
    assert home.query("SELECT DISTINCT review_reason FROM ledger.journal_lines WHERE entry_id = "
                      "'stores:5000000003:sale:2025-06-01' AND review_reason IS NOT NULL") == [
        ("payment type 'unknown' has no account (sources.stores.payment_types)",)]
    assert home.query("SELECT count(*) FROM ledger.postings "
                      "WHERE entry_id = 'stores:5000000003:sale:2025-06-01'") == [(0,)]


def test_a_deduction_without_its_breakdown_waits_for_review(home, run_stores):
    write_json(home.inbox("stores"), "remittances.json", {"remittances": [{
        "id": "r1", "transferred_date": "2025-06-30", "transfer_amount": 8725, "transfer_fee": 275,
        "sales_amount": 10000, "payment_fee": 0, "speedcash_payment_fee": 0, "used_speedcash": False,
        "chargeback_amount": 0, "deduction_amount": 1000, "campaign_coupon_fee": 0}]})
    configure(home)
    run_stores("2025-06-30")
    assert home.query("SELECT DISTINCT status FROM ledger.journal_lines WHERE entry_id = 'stores:remittance:r1'") \
        == [("needs_review",)]
    assert home.query("SELECT review_reason FROM ledger.journal_lines WHERE review_reason IS NOT NULL") == [
        ("deduction_amount 1000 has no fee_detail breakdown: its tax category is unknown",)]


def test_bad_records_fail_their_day_only_naming_file_record_path_and_value(home, run_stores):
    inbox = home.inbox("stores")
    good = order("6000000001", "2025-06-01T10:00:00+09:00", shipped_at="2025-06-01T15:00:00+09:00")
    bad = order("6000000002", "2025-06-02T10:00:00+09:00", shipped_at="2025-06-02T15:00:00+09:00")
    bad["tax_details"][0]["tax_rate"] = 0.05
    write_json(inbox, "orders.json", {"orders": [good, bad]})
    configure(home)
    result = run_stores("2025-06-02", expect_success=False)
    assert not result.success
    assert ("2025-06-02: stores 2025-06-02: records that cannot be booked; nothing of this day is posted:\n"
            "  inbox/stores/orders.json: orders[1] (order 6000000002): $.tax_details[0].tax_rate = 0.05: "
            "tax rate 0.05 is not one of the configured rates (tax.rates: 0%, 8%, 10%)") in failure_text(result)
    run_stores("2025-06-01")  # the same file, another day: books
    assert entries(home) == [("stores:6000000001:sale:2025-06-01", dt.date(2025, 6, 1))]
    assert home.query("SELECT business_date, stage FROM ops.day_errors WHERE source = 'stores'") == [
        (dt.date(2025, 6, 2), "raw_orders")]


def test_a_file_that_is_not_json_fails_with_its_line_and_column(home, run_stores):
    inbox = home.inbox("stores")
    (inbox / "orders.json").write_text('{"orders": [\n  {"id": "x",}\n]}', encoding="utf-8")
    configure(home)
    result = run_stores("2025-06-01", expect_success=False)
    assert not result.success
    assert "inbox/stores/orders.json: line 2 column 14: not valid JSON" in failure_text(result)
    (inbox / "orders.json").write_text('{"items": []}', encoding="utf-8")
    result = run_stores("2025-06-01", expect_success=False)
    assert "not a STORES API response" in failure_text(result) and "found keys 'items'" in failure_text(result)


def test_days_for_inbox_file(home):
    from acctsync_pipelines.lib.stores.source import SOURCE

    inbox = home.inbox("stores")
    configure(home)
    os.environ["ACCTSYNC_CONFIG"] = str(home.root / "acctsync.yaml")
    try:
        sold = order("7000000001", "2025-06-01T23:50:00+09:00", shipped_at="2025-06-03T10:00:00+09:00")
        path = write_json(inbox, "orders.json", {"orders": [cancelled(sold, "2025-06-04T09:00:00+09:00"),
                                                            order("7000000002", "2024-12-31T10:00:00+09:00")]})
        remittances = write_json(inbox, "remittances.json",
                                 {"remittances": [{"id": "r", "transferred_date": "2025-06-30"}]})
        assert SOURCE.days_for_inbox_file(home.root, path) == [dt.date(2025, 6, 1), dt.date(2025, 6, 3),
                                                               dt.date(2025, 6, 4)]
        assert SOURCE.days_for_inbox_file(home.root, remittances) == [dt.date(2025, 6, 30)]
        partial = inbox / "being_written.json"
        partial.write_text('{"orders": [{"id": ', encoding="utf-8")
        assert SOURCE.days_for_inbox_file(home.root, partial) is None
        (inbox / "notes.txt").write_text("hello", encoding="utf-8")
        assert SOURCE.days_for_inbox_file(home.root, inbox / "notes.txt") is None
        outside = write_json(home.root, "orders.json", {"orders": []})
        assert SOURCE.days_for_inbox_file(home.root, outside) is None
    finally:
        del os.environ["ACCTSYNC_CONFIG"]
