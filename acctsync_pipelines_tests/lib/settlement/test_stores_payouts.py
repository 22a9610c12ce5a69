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


def _remittance(remittance_id: str, day: str, orders: list[dict]) -> dict:
    sales = sum(o["sales_amount"] for o in orders)
    fee = sum(o["transactions"][0]["payment_fee"] for o in orders)
    return {"id": remittance_id, "transferred_date": day, "transfer_amount": sales - fee - 275, "transfer_fee": 275,
            "sales_amount": sales, "payment_fee": fee, "speedcash_payment_fee": 0, "used_speedcash": False,
            "chargeback_amount": 0, "deduction_amount": 0, "campaign_coupon_fee": 0}


def test_a_remittance_clears_the_orders_it_lists_and_one_without_a_list_pays_the_oldest(home):
    """Ageing of STORES決済: r1 lists its orders (the 06-04 order, and one shipped only after the transfer),
    so exactly those are cleared; r2's order ids were never read, so it is applied oldest first."""
    inbox = home.inbox("stores")
    first = order("7100000001", "2025-06-02T10:00:00+09:00", 5500, shipped_at="2025-06-02T15:00:00+09:00")
    second = order("7100000002", "2025-06-03T10:00:00+09:00", 3300, shipped_at="2025-06-03T15:00:00+09:00")
    third = order("7100000003", "2025-06-04T10:00:00+09:00", 2200, shipped_at="2025-06-04T15:00:00+09:00")
    fourth = order("7100000004", "2025-06-05T10:00:00+09:00", 4400, shipped_at="2025-06-05T15:00:00+09:00")
    late = order("7100000005", "2025-06-04T11:00:00+09:00", 1100, shipped_at="2025-06-11T09:00:00+09:00")
    write_json(inbox, "orders.json", {"orders": [first, second, third, fourth, late]})
    write_json(inbox, "remittances.json", {"remittances": [_remittance("r1", "2025-06-10", [third, late]),
                                                           _remittance("r2", "2025-06-12", [fourth])]})
    write_json(inbox, "remittance_r1.json", {"remittance_id": "r1", "order_ids": [third["id"], late["id"]]})
    home.configure({"sources": {"stores": {"start_date": "2025-06-01"}},
                    "settlement": {"start_date": "2025-06-01"}})

    def net(o: dict) -> int:
        return o["sales_amount"] - o["transactions"][0]["payment_fee"]

    def ageing() -> list[tuple]:
        return home.query("""SELECT sale_date, charged, cleared_by_orders, cleared_by_source, remaining
                             FROM reports.open_receivables WHERE sub_account = 'STORES決済' ORDER BY sale_date""")

    for start, end in (("2025-06-02", "2025-06-10"), ("2025-06-11", "2025-06-12")):
        result = home.materialize("stores", start, end)
        assert result.success, failure_text(result)
        if end == "2025-06-10":
            assert settle(home, end).success
            # r1 has paid the 06-04 order and, ahead of its shipping, the late one: nothing of 06-02 or 06-03
            assert ageing() == [
                (D(2025, 6, 2), net(first), 0, 0, net(first)),
                (D(2025, 6, 3), net(second), 0, 0, net(second)),
                (D(2025, 6, 4), net(third), net(third), net(third), 0),
                (D(2025, 6, 5), net(fourth), 0, 0, net(fourth)),
            ]
    assert settle(home, "2025-06-12").success
    assert ageing() == [
        # r2 (no order list) is applied to the oldest open day: it pays 06-02, not the order it paid
        (D(2025, 6, 2), net(first), 0, net(fourth), net(first) - net(fourth)),
        (D(2025, 6, 3), net(second), 0, 0, net(second)),
        (D(2025, 6, 4), net(third), net(third), net(third), 0),
        (D(2025, 6, 5), net(fourth), 0, 0, net(fourth)),
        # shipped after r1 was transferred: cleared by r1 once booked
        (D(2025, 6, 11), net(late), net(late), net(late), 0),
    ]
    assert home.query("""SELECT store_code, open_amount, oldest_sale_date FROM reports.unsettled_receivables
                         WHERE tender = 'STORES決済'""") == [
        ("ec", net(first) - net(fourth) + net(second) + net(fourth), D(2025, 6, 2))]
