"""STORES: a remittance's transfer is booked by STORES itself (Dr 普通預金 / Cr 売掛金 STORES決済), so its
bank deposit is recognised and never settled again; other STORES tenders (Amazon Pay) are settled here."""

from __future__ import annotations

import datetime as dt

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.settlement.scenario import deposit, settle, write_statement
from acctsync_pipelines_tests.lib.stores.builders import order, write_json

D = dt.date


def test_a_stores_transfer_is_not_settled_twice_and_amazon_pay_is_settled_here(home):
    inbox = home.inbox("stores")
    card = order("7000000001", "2025-06-02T10:00:00+09:00", 5500, shipped_at="2025-06-02T15:00:00+09:00")
    amazon = order("7000000002", "2025-06-02T11:00:00+09:00", 3300, tender="amazon_pay",
                   shipped_at="2025-06-02T16:00:00+09:00")
    write_json(inbox, "orders.json", {"orders": [card, amazon]})
    fee = card["transactions"][0]["payment_fee"]
    transfer = 5500 - fee - 275
    write_json(inbox, "remittances.json", {"remittances": [{
        "id": "r1", "transferred_date": "2025-06-30", "transfer_amount": transfer, "transfer_fee": 275,
        "sales_amount": 5500, "payment_fee": fee, "speedcash_payment_fee": 0, "used_speedcash": False,
        "chargeback_amount": 0, "deduction_amount": 0, "campaign_coupon_fee": 0}]})
    write_json(inbox, "remittance_r1.json", {"remittance_id": "r1", "order_ids": [card["id"]]})
    home.configure({
        "sources": {"stores": {"start_date": "2025-06-01"}},
        "settlement": {"start_date": "2025-06-01", "rules": [{
            "name": "amazon_pay", "sub_accounts": ["Amazon Pay"], "payer": ["ｱﾏｿﾞﾝｼﾞﾔﾊﾟﾝ"],
            "cycle": {"monthly": {"close": "end_of_month", "pay_day": 3}}, "fee_rate": 0.04, "tolerance_yen": 1,
            "fee_tax_category": "out_of_scope"}]},
    })
    for day in ("2025-06-02", "2025-06-30"):
        result = home.materialize("stores", day)
        assert result.success, failure_text(result)

    write_statement(home, "202506.csv", [
        deposit(D(2025, 6, 30), "ﾌﾘｺﾐ ｽﾄｱｰｽﾞ(ｶ", transfer),
        deposit(D(2025, 7, 3), "ﾌﾘｺﾐ ｱﾏｿﾞﾝｼﾞﾔﾊﾟﾝ(ｶ", 3300 - 132),
    ])
    result = settle(home, "2025-06-30", "2025-07-03")
    assert result.success, failure_text(result)

    assert home.query("SELECT value_date, status, booked_entry_id, fee FROM ledger.deposit_matches "
                      "ORDER BY value_date") == [
        (D(2025, 6, 30), "booked", "stores:remittance:r1", None),
        (D(2025, 7, 3), "matched", None, 132),
    ]
    assert home.query("""SELECT side, account, sub_account, tax_category, amount FROM ledger.journal_lines
                         WHERE source = 'settlement' ORDER BY entry_id, line_no""") == [
        ("debit", "普通預金", "", "out_of_scope", 3168),
        ("debit", "支払手数料", "", "out_of_scope", 132),
        ("credit", "売掛金", "Amazon Pay", "out_of_scope", 3300),
    ]
    # STORES決済 is cleared by the remittance (sales − payment fee), Amazon Pay by the settlement
    assert home.query("""SELECT source, sub_account, charged, settled, cleared_by_source, remaining
                         FROM reports.open_receivables ORDER BY sub_account""") == [
        ("stores", "Amazon Pay", 3300, 3300, 0, 0),
        ("stores", "STORES決済", 5500 - fee, 0, 5500 - fee, 0),
    ]
    assert home.query("SELECT * FROM reports.unmatched_deposits") == []
