"""Every official STORES sample order and remittance, booked through the real pipeline.

The invariants of ../shared/spec/accounting.md, per recognised order: net 売上高 = sales_amount −
cancel_amount, net 支払手数料 = Σ transactions[].payment_fee, output tax per rate = sales_tax −
cancel_tax, and every entry balances.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from acctsync_pipelines_tests.lib.stores.builders import write_json

SAMPLE_DAYS = ("2022-07-22", "2022-07-29")
# Orders of the sample whose deliveries are all shipped or cancelled, one at least shipped
# (order-data-pattern.csv: the 店頭受取 and 電子チケット orders, the gift-wrapped one shipped on
# 2022-10-04, and the refunded ones that were shipped first).
SHIPPED = {"4698298634", "0491239226", "9189673267", "7479270972", "9221166548", "5371619998"}
REMITTANCE_DAYS = ("2021-11-30", "2021-12-10", "2022-06-30", "2023-07-31")


def _book(home, run_stores, vendor_orders, vendor_remittances, recognition: str, extra_days=()):
    inbox = home.inbox("stores")
    write_json(inbox, "orders.json", {"orders": vendor_orders})
    write_json(inbox, "remittances.json", {"remittances": vendor_remittances})
    home.configure({"sources": {"stores": {"recognition": recognition, "start_date": "2021-11-01"},
                                "usen_reji": {"enabled": False}, "amazon_business": {"enabled": False}}})
    run_stores(*SAMPLE_DAYS)
    for day in extra_days:
        run_stores(day)


def _net_by_order(home) -> dict[str, dict]:
    rows = home.query(
        """SELECT source_ref, account, tax_category, side, amount, tax_amount, rule
           FROM ledger.journal_lines WHERE source = 'stores' AND entry_id NOT LIKE 'stores:remittance:%'""")
    net: dict[str, dict] = defaultdict(lambda: {"sales": 0, "fees": 0, "tax": defaultdict(int)})
    for ref, account, category, side, amount, tax, rule in rows:
        sign = 1 if side == "credit" else -1
        if account == "売上高":
            net[ref]["sales"] += sign * amount
            net[ref]["tax"][category] += sign * tax
        if account == "支払手数料":
            net[ref]["fees"] -= sign * amount
    return net


def _expected(order: dict) -> dict:
    tax: dict[str, int] = defaultdict(int)
    for detail in order["tax_details"]:
        category = {0.1: "sales_10", 0.08: "sales_8r"}[detail["tax_rate"]]
        tax[category] += detail["sales_tax"] - detail["cancel_tax"]
    return {"sales": order["sales_amount"] - order["cancel_amount"],
            "fees": sum(t["payment_fee"] for t in order["transactions"]),
            "tax": {k: v for k, v in tax.items() if v}}


def _assert_invariants(home, orders: list[dict]) -> None:
    net = _net_by_order(home)
    assert set(net) == {o["number"] for o in orders}
    for order in orders:
        got = net[order["number"]]
        assert {"sales": got["sales"], "fees": got["fees"], "tax": {k: v for k, v in got["tax"].items() if v}} \
            == _expected(order), order["number"]
    unbalanced = home.query(
        """SELECT entry_id FROM ledger.journal_lines WHERE source = 'stores' GROUP BY entry_id
           HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0""")
    assert unbalanced == []


def _lines(home, entry: str) -> list[tuple]:
    """The lines of an order event (``stores:<number>:sale``, whatever its day) or of a remittance."""
    found = home.query(
        """SELECT side, account, sub_account, tax_category, amount, tax_amount FROM ledger.journal_lines
           WHERE entry_id = ? OR entry_id LIKE ? || ':____-__-__' ORDER BY line_no""", [entry, entry])
    assert found, entry
    return found


def test_ordered_basis_books_every_sample_order_to_the_yen(home, run_stores, vendor_orders, vendor_remittances):
    _book(home, run_stores, vendor_orders, vendor_remittances, "ordered")
    _assert_invariants(home, vendor_orders)
    # each order's sale is on the day it was ordered (Asia/Tokyo), its cancellation on its own day
    sales = dict(home.query("SELECT source_ref, business_date FROM ledger.journal_lines "
                            "WHERE entry_id LIKE '%:sale:%' GROUP BY ALL"))
    assert sales == {o["number"]: dt.date.fromisoformat(o["ordered_at"][:10]) for o in vendor_orders}
    cancels = sorted(home.query("SELECT DISTINCT source_ref, business_date FROM ledger.journal_lines "
                                "WHERE entry_id LIKE '%:cancel:%'"))
    assert cancels == [("0114550798", dt.date(2022, 7, 25)), ("0469772229", dt.date(2022, 7, 25)),
                       ("5371619998", dt.date(2022, 7, 29)), ("9189673267", dt.date(2022, 7, 25))]
    # everything decided by a rule; nothing waits for review; every day was posted
    assert home.query("SELECT count(*) FROM ledger.journal_lines WHERE source = 'stores' AND status <> 'posted'") \
        == [(0,)]
    assert (home.exports() / "stores_20220722_001.csv").is_file()

    # 10% and 8% mixed: one 売上高 line per rate with the vendor's own tax
    assert _lines(home, "stores:6885458477:sale") == [
        ("debit", "売掛金", "STORES決済", "out_of_scope", 5900, 0),
        ("debit", "支払手数料", "", "out_of_scope", 213, 0),
        ("credit", "売上高", "", "sales_10", 5500, 500),
        ("credit", "売上高", "", "sales_8r", 400, 29),
        ("credit", "売掛金", "STORES決済", "out_of_scope", 213, 0),
    ]
    # STORES レジ split tender: 商品券 (custom, by its name) and cash
    assert _lines(home, "stores:9221166548:sale") == [
        ("debit", "売掛金", "¥100引き商品券", "out_of_scope", 100, 0),
        ("debit", "現金", "", "out_of_scope", 4900, 0),
        ("credit", "売上高", "", "sales_10", 5000, 454),
    ]
    # 代金引換: its own receivable; the COD fee is inside sales_amount as STORES taxes it
    assert _lines(home, "stores:7969221788:sale") == [
        ("debit", "売掛金", "代金引換", "out_of_scope", 5300, 0),
        ("credit", "売上高", "", "sales_10", 5300, 481),
    ]
    # convenience store: the buyer's system_fee (300) is not ours and is not booked
    assert _lines(home, "stores:0580250548:sale") == [
        ("debit", "売掛金", "STORES決済", "out_of_scope", 5000, 0),
        ("credit", "売上高", "", "sales_10", 5000, 454),
    ]
    assert _lines(home, "stores:2539466798:sale")[0][:3] == ("debit", "売掛金", "Amazon Pay")
    # refunded after shipping: the reversal, with the negative payment fee reversing the fee
    assert _lines(home, "stores:9189673267:cancel") == [
        ("debit", "売上高", "", "sales_10", 5000, 454),
        ("debit", "売掛金", "STORES決済", "out_of_scope", 180, 0),
        ("credit", "売掛金", "STORES決済", "out_of_scope", 5000, 0),
        ("credit", "支払手数料", "", "out_of_scope", 180, 0),
    ]
    # an unpaid convenience-store order cancelled: the receivable is cancelled, nothing refunded
    assert _lines(home, "stores:0469772229:cancel") == [
        ("debit", "売上高", "", "sales_10", 5000, 454),
        ("credit", "売掛金", "STORES決済", "out_of_scope", 5000, 0),
    ]
    # discounts (item, bundle, volume, coupon, STORES負担 coupon, free shipping) are net in 売上高
    for number in ("5070200332", "3755027483", "0909372964", "8342815831", "6677514951", "1162168407",
                   "0491239226"):
        order = next(o for o in vendor_orders if o["number"] == number)
        revenue = [line for line in _lines(home, f"stores:{number}:sale") if line[1] == "売上高"]
        assert revenue == [("credit", "売上高", "", "sales_10", order["sales_amount"], order["sales_tax"])]
    # STORES レジ orders carry the store as department (the sales channel id while its name is unknown)
    assert home.query("SELECT DISTINCT department FROM ledger.journal_lines WHERE source_ref = '7479270972'") \
        == [("62e3a275a05cb9341aea49cd",)]
    assert home.query("SELECT DISTINCT department FROM ledger.journal_lines WHERE source_ref = '8722283331'") \
        == [("",)]

    # re-running the days posts nothing new
    before = home.query("SELECT count(*) FROM ledger.postings")
    run_stores(*SAMPLE_DAYS)
    assert home.query("SELECT count(*) FROM ledger.postings") == before


def test_shipped_basis_books_only_what_shipped_and_payouts_clear_the_receivable(
        home, run_stores, vendor_orders, vendor_remittances):
    _book(home, run_stores, vendor_orders, vendor_remittances, "shipped", extra_days=["2022-10-04", *REMITTANCE_DAYS])
    _assert_invariants(home, [o for o in vendor_orders if o["number"] in SHIPPED])
    days = dict(home.query("SELECT source_ref, business_date FROM ledger.journal_lines "
                           "WHERE entry_id LIKE '%:sale:%' GROUP BY ALL"))
    assert days["0491239226"] == dt.date(2022, 10, 4)  # ordered 07-22, shipped 10-04
    assert days["4698298634"] == dt.date(2022, 7, 25)  # electronic ticket: its shipped_at

    for remittance in vendor_remittances:
        lines = _lines(home, f"stores:remittance:{remittance['id']}")
        debit = sum(line[4] for line in lines if line[0] == "debit")
        credit = sum(line[4] for line in lines if line[0] == "credit")
        assert debit == credit == remittance["sales_amount"] - remittance["payment_fee"]
        assert ("debit", "普通預金", "", "out_of_scope", remittance["transfer_amount"], 0) in lines
        assert ("credit", "売掛金", "STORES決済", "out_of_scope", debit, 0) in lines
    # 2023-07 on: fee_detail splits the other deductions into taxable and non-taxable; tax once per
    # category: 275 + 2000 at 10% → 206, as the invoice's total_tax_amount says
    invoice = _lines(home, "stores:remittance:64c21d37deb0e9003f69401f")
    assert invoice == [
        ("debit", "支払手数料", "", "out_of_scope", 3000, 0),
        ("debit", "支払手数料", "", "purchase_10", 2000, 181),
        ("debit", "支払手数料", "", "purchase_10", 275, 25),
        ("debit", "普通預金", "", "out_of_scope", 37213, 0),
        ("credit", "売掛金", "STORES決済", "out_of_scope", 42488, 0),
    ]
    assert sum(line[5] for line in invoice) == vendor_remittances[0]["fee_detail"]["total_tax_amount"]
    # スピードキャッシュ: its fee is a fee too
    assert ("debit", "支払手数料", "", "purchase_10", 210, 19) in _lines(home, "stores:remittance:62e26935cfafe9003c8f1d32")
    # STORES負担クーポン: paid separately, booked as its own deposit
    assert _lines(home, "stores:remittance:62e3a2fb7c76d2003d5c4c76:campaign_coupon") == [
        ("debit", "普通預金", "", "out_of_scope", 1000, 0),
        ("credit", "売上高", "", "sales_10", 1000, 90),
    ]
    assert home.query("SELECT DISTINCT business_date FROM ledger.journal_lines "
                      "WHERE entry_id LIKE 'stores:remittance:%' ORDER BY 1") \
        == [(dt.date.fromisoformat(d),) for d in REMITTANCE_DAYS]
    assert home.query("SELECT count(*) FROM ledger.journal_lines WHERE source = 'stores' AND status <> 'posted'") \
        == [(0,)]
