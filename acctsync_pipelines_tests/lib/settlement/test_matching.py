"""Deposits matched to the receivables they pay. The receivables are the real USEN sample (two stores,
three weeks) booked by the real Dagster job; deposits are built from what the registers took."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil

from acctsync_pipelines.lib.sample.usen_reji import StoreDay, write_bundle

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.settlement.scenario import (
    CARD, EMONEY, card_rule, configure, deposit, entry_lines, matches, settle, write_statement,
)

D = dt.date
CARD_PAYER = "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ"
STORES = {"0001": "渋谷本店", "0002": "駅前店"}


def yayoi_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("cp932"), newline="")))


def open_amount(home, tender: str) -> dict[str, int]:
    return dict(home.query("SELECT store_code, open_amount FROM reports.unsettled_receivables WHERE tender = ?",
                           [tender]))


def test_exact_deposits_clear_each_days_card_sales_and_post_once(sample_home, booked_sample):
    home, sample = sample_home, booked_sample
    configure(home, card_rule())
    june2, june3 = sample.tender_total("クレジット", D(2025, 6, 2)), sample.tender_total("クレジット", D(2025, 6, 3))
    write_statement(home, "202506.csv", [deposit(D(2025, 6, 4), CARD_PAYER, june2),
                                         deposit(D(2025, 6, 5), CARD_PAYER, june3)])
    result = settle(home, "2025-06-04", "2025-06-05")
    assert result.success, failure_text(result)

    assert matches(home) == [
        (D(2025, 6, 4), june2, "matched", "exact", "card", 0, D(2025, 6, 4), D(2025, 6, 4)),
        (D(2025, 6, 5), june3, "matched", "exact", "card", 0, D(2025, 6, 5), D(2025, 6, 5)),
    ]
    # Dr 普通預金 / Cr 売掛金 per store, each store's card takings of 6/2
    assert entry_lines(home, "2025-06-04") == [
        ("debit", "普通預金", "", "", "out_of_scope", june2),
        ("credit", "売掛金", CARD, "渋谷本店", "out_of_scope", sample.tender_total("クレジット", D(2025, 6, 2), "0001")),
        ("credit", "売掛金", CARD, "駅前店", "out_of_scope", sample.tender_total("クレジット", D(2025, 6, 2), "0002")),
    ]
    # what stays open is every other day's card takings
    open_now = open_amount(home, CARD)
    for store in STORES:
        total = sum(sample.tender_total("クレジット", D(2025, 6, 1) + dt.timedelta(days=i), store) for i in range(21))
        paid = sum(sample.tender_total("クレジット", day, store) for day in (D(2025, 6, 2), D(2025, 6, 3)))
        assert open_now[store] == total - paid

    # posted once to Yayoi, as a 振替伝票 whose rows trace back to the entry
    files = home.export_files()
    assert [p.name for p in files] == ["settlement_20250604_001.csv", "settlement_20250605_001.csv"]
    rows = yayoi_rows(files[0])
    assert [(r[0], r[4], r[8], r[10], r[11], r[14]) for r in rows] == [
        ("2110", "普通預金", str(june2), "", "", "0"),
        ("2100", "", "0", "売掛金", CARD, str(sample.tender_total("クレジット", D(2025, 6, 2), "0001"))),
        ("2101", "", "0", "売掛金", CARD, str(sample.tender_total("クレジット", D(2025, 6, 2), "0002"))),
    ]
    (entry_id,) = {r[0] for r in home.query("SELECT entry_id FROM ledger.deposit_matches WHERE value_date = '2025-06-04'")}
    assert all(r[21] == f"acctsync {entry_id} post#1" for r in rows)

    # the same days again: nothing new is sent
    assert settle(home, "2025-06-04", "2025-06-05").success
    assert len(home.export_files()) == 2

    # the bank export loses the 6/5 line (a corrected download): its settlement is reversed, nothing else
    write_statement(home, "202506.csv", [deposit(D(2025, 6, 4), CARD_PAYER, june2)])
    assert settle(home, "2025-06-05").success
    assert [p.name for p in home.export_files()][-1] == "settlement_20250605_002.csv"
    postings = home.query("SELECT entry_id, action, action_seq FROM ledger.postings "
                          "WHERE source = 'settlement' AND business_date = '2025-06-05' ORDER BY action_seq")
    assert [(p[1], p[2]) for p in postings] == [("post", 1), ("reverse", 2)] and postings[0][0] == postings[1][0]
    assert entry_lines(home, "2025-06-05") == []
    assert open_amount(home, CARD)["0001"] == open_now["0001"] + sample.tender_total("クレジット", D(2025, 6, 3), "0001")


def test_fees_within_tolerance_are_booked_and_a_deposit_beyond_it_waits_for_review(sample_home, booked_sample):
    home, sample = sample_home, booked_sample
    # each store has its own merchant contract: one deposit per store, the acquirer keeps 3.24%
    configure(home, card_rule(per_store=True, fee_rate=0.0324, tolerance_yen=3))
    june2 = {store: sample.tender_total("クレジット", D(2025, 6, 2), store) for store in STORES}
    june3 = sample.tender_total("クレジット", D(2025, 6, 3), "0001")
    fee = {store: round(amount * 0.0324) for store, amount in june2.items()}
    write_statement(home, "202506.csv", [
        deposit(D(2025, 6, 4), CARD_PAYER, june2["0001"] - fee["0001"] + 2),   # 2 yen off the expected fee
        deposit(D(2025, 6, 4), CARD_PAYER, june2["0002"] - fee["0002"]),
        deposit(D(2025, 6, 5), CARD_PAYER, june3 - 600),                        # far more than 3.24%
    ])
    result = settle(home, "2025-06-04", "2025-06-05")
    assert result.success, failure_text(result)

    found = home.query("""SELECT value_date, status, match_kind, fee, gross FROM ledger.deposit_matches
                          ORDER BY value_date, source_row""")
    assert found == [
        (D(2025, 6, 4), "matched", "fee", fee["0001"] - 2, june2["0001"]),
        (D(2025, 6, 4), "matched", "fee", fee["0002"], june2["0002"]),
        (D(2025, 6, 5), "review", "partial", 0, june3 - 600),
    ]
    lines = home.query("""SELECT entry_id, side, account, sub_account, department, tax_category, amount
                          FROM ledger.journal_lines WHERE source = 'settlement' AND business_date = '2025-06-04'
                          ORDER BY department, entry_id, line_no""")
    by_entry: dict[str, list] = {}
    for entry_id, *line in lines:
        by_entry.setdefault(entry_id, []).append(tuple(line))
    assert sorted(by_entry.values()) == sorted([
        [("debit", "普通預金", "", "", "out_of_scope", june2["0001"] - fee["0001"] + 2),
         ("debit", "支払手数料", "", "渋谷本店", "exempt", fee["0001"] - 2),
         ("credit", "売掛金", CARD, "渋谷本店", "out_of_scope", june2["0001"])],
        [("debit", "普通預金", "", "", "out_of_scope", june2["0002"] - fee["0002"]),
         ("debit", "支払手数料", "", "駅前店", "exempt", fee["0002"]),
         ("credit", "売掛金", CARD, "駅前店", "out_of_scope", june2["0002"])],
    ])
    # beyond the tolerance: proposed (oldest receivables first), never posted unseen
    waiting = home.query("""SELECT DISTINCT status, review_reason FROM ledger.journal_lines
                            WHERE source = 'settlement' AND business_date = '2025-06-05'""")
    assert len(waiting) == 1 and waiting[0][0] == "needs_review"
    # either store's receivables could be what it pays part of
    assert waiting[0][1].startswith("fits no cycle, and could be part of more than one due amount (card store 0001")
    assert waiting[0][1].endswith("proposed: the oldest of card store 0001")
    assert [p.name for p in home.export_files()] == ["settlement_20250604_001.csv"]
    yayoi_taxes = {(r[4], r[7]) for r in yayoi_rows(home.export_files()[0]) if r[4]}
    assert ("支払手数料", "非課仕入") in yayoi_taxes


def test_deposits_with_no_sale_are_listed_and_a_register_deposit_is_not_settled_again(sample_home, booked_sample):
    home, sample = sample_home, booked_sample
    configure(home, card_rule())
    # a 銀行預入 the register booked (Dr 普通預金 / Cr 現金) arrives in the bank the next day
    banked_day, store = next((sd.day, sd.store_code) for sd in sample.store_days
                             if any(m[3] == "銀行預入" for m in sd.movements))
    night_safe = banked_day + dt.timedelta(days=1)
    write_statement(home, "202506.csv", [
        deposit(night_safe, "ATM ﾆｭｳｷﾝ", 50000),
        deposit(night_safe, "ﾌﾘｺﾐ ﾔﾏﾀﾞ ﾀﾛｳ", 12000),            # nobody we sell to on account
        deposit(night_safe, CARD_PAYER, 9_999_999),              # the card payer, but more than is due
    ])
    result = settle(home, night_safe)
    assert result.success, failure_text(result)

    booked = home.query("SELECT status, booked_entry_id FROM ledger.deposit_matches WHERE amount = 50000")
    assert booked[0][0] == "booked" and booked[0][1].startswith(f"usen_reji:{store}:{banked_day}:cash:")
    unmatched = home.query("SELECT value_date, amount, description, reason, source_row FROM reports.unmatched_deposits")
    assert [(u[0], u[1], u[2], u[4]) for u in unmatched] == [
        (night_safe, 12000, "ﾌﾘｺﾐ ﾔﾏﾀﾞ ﾀﾛｳ", 3),
        (night_safe, 9_999_999, CARD_PAYER, 4),
    ]
    assert unmatched[0][3].startswith("no settlement rule's payer text is in the description")
    assert unmatched[1][3].startswith("payer of card: fits no cycle and is more than everything due")
    assert entry_lines(home, night_safe) == []
    assert home.export_files() == []


def test_sales_never_paid_are_aged_and_flagged_overdue(sample_home, booked_sample):
    home, sample = sample_home, booked_sample
    configure(home, card_rule(name="emoney", sub_accounts=[EMONEY], payer=["ﾃﾞﾝｼﾏﾈｰ"], cycle={"days_after": 5},
                              grace_days=2))
    # the statement runs to 8/15 and the e-money payer never paid
    write_statement(home, "202508.csv", [("2025/08/15", "ﾘｿｸ", "12", "", "1,000,012")])
    result = settle(home, "2025-08-15")
    assert result.success, failure_text(result)  # overdue receivables warn; they do not stop the run

    (overdue_check,) = [e for e in result.get_asset_check_evaluations()
                        if e.check_name == "overdue_receivables"]
    assert not overdue_check.passed and overdue_check.severity.value == "WARN"
    open_items = [(sd.store_code, sd.day, sample.tender_total("電子マネー", sd.day, sd.store_code))
                  for sd in sample.store_days]
    open_items = [i for i in open_items if i[2]]
    assert overdue_check.metadata["failures"].value == len(open_items)

    report = home.query("""SELECT store_code, open_amount, not_yet_due, age_0_30, age_31_60, age_61_90, age_over_90,
                                  overdue, oldest_sale_date FROM reports.unsettled_receivables
                           WHERE tender = ? ORDER BY store_code""", [EMONEY])
    expected = []
    for store in STORES:
        mine = [(day, amount) for s, day, amount in open_items if s == store]
        age = {day: (D(2025, 8, 15) - day).days for day, _ in mine}
        expected.append((store, sum(a for _, a in mine), 0, 0,
                         sum(a for d, a in mine if 31 <= age[d] <= 60), sum(a for d, a in mine if 61 <= age[d] <= 90),
                         0, sum(a for _, a in mine), min(d for d, _ in mine)))
    assert report == expected


def test_one_deposit_pays_a_month_of_card_sales_less_the_fee(sample_home, booked_sample):
    home, sample = sample_home, booked_sample
    configure(home, card_rule(cycle={"monthly": {"close": "end_of_month", "pay_day": 15, "months_after": 1}},
                              fee_rate=0.0324, tolerance_yen=5, window_days=3))
    june = {store: sum(sample.tender_total("クレジット", sd.day, store) for sd in sample.store_days
                       if sd.store_code == store) for store in STORES}
    gross = sum(june.values())
    fee = round(gross * 0.0324)
    write_statement(home, "202507.csv", [deposit(D(2025, 7, 15), CARD_PAYER, gross - fee)])
    result = settle(home, "2025-07-15")
    assert result.success, failure_text(result)

    assert matches(home) == [(D(2025, 7, 15), gross - fee, "matched", "fee", "card", fee,
                              D(2025, 7, 15), D(2025, 7, 15))]
    assert entry_lines(home, "2025-07-15") == [
        ("debit", "普通預金", "", "", "out_of_scope", gross - fee),
        ("debit", "支払手数料", "", "", "exempt", fee),
        ("credit", "売掛金", CARD, "渋谷本店", "out_of_scope", june["0001"]),
        ("credit", "売掛金", CARD, "駅前店", "out_of_scope", june["0002"]),
    ]
    # every store-day's card receivable is cleared, each by exactly what it held
    (days_cleared, cleared) = home.query("""SELECT count(*), sum(amount) FROM ledger.settlement_allocations""")[0]
    assert days_cleared == sum(1 for sd in sample.store_days if sample.tender_total("クレジット", sd.day, sd.store_code))
    assert cleared == gross
    assert open_amount(home, CARD) == {}



def test_part_payments_clear_the_oldest_receivables_first(sample_home, booked_sample):
    home, sample = sample_home, booked_sample
    vouchers = "【POS Reg】商品券"
    configure(home, card_rule(name="vouchers", sub_accounts=[vouchers], payer=["ｼｮｳﾋﾝｹﾝｷｮｳｶｲ"], partial_payments=True,
                              cycle={"monthly": {"close": "end_of_month", "pay_day": "end_of_month"}}, window_days=4))
    items = sorted(((amount > 0, sd.day, sd.store_code, amount) for sd in sample.store_days
                    if (amount := sample.tender_total("商品券", sd.day, sd.store_code))))
    total = sum(i[3] for i in items)
    write_statement(home, "202507.csv", [
        deposit(D(2025, 7, 31), "ｼｮｳﾋﾝｹﾝｷｮｳｶｲ", 20000),
        deposit(D(2025, 8, 2), "ｼｮｳﾋﾝｹﾝｷｮｳｶｲ", total - 20000),
    ])
    result = settle(home, "2025-07-31", "2025-08-02")
    assert result.success, failure_text(result)

    assert [(m[0], m[2], m[3]) for m in matches(home)] == [
        (D(2025, 7, 31), "partial", "partial"), (D(2025, 8, 2), "matched", "exact")]
    # the first deposit: refund days first, then sale days oldest first, the last one in part
    budget, expected = 20000, []
    for _, day, store, amount in items:
        share = amount if amount < 0 else max(0, min(amount, budget))
        budget -= share
        if share:
            expected.append((day, store, share))
    assert home.query("""SELECT sale_date, store_code, amount FROM ledger.settlement_allocations
                         WHERE value_date = '2025-07-31' ORDER BY amount > 0, sale_date, store_code""") == expected
    assert sum(e[2] for e in expected) == 20000 and 0 < expected[-1][2] < next(
        i[3] for i in items if (i[1], i[2]) == expected[-1][:2])
    # the second pays exactly what was left: nothing stays open, both entries are posted
    assert open_amount(home, vouchers) == {}
    assert [p.name for p in home.export_files()] == ["settlement_20250731_001.csv", "settlement_20250802_001.csv"]


def test_a_sale_day_re_closed_after_settlement_names_the_settlement_day_to_re_run(sample_home, booked_sample):
    home, sample = sample_home, booked_sample
    shutil.copytree(sample.warehouse.parent / "inbox", home.root / "inbox", dirs_exist_ok=True)
    configure(home, card_rule())
    june2 = D(2025, 6, 2)
    write_statement(home, "202506.csv", [deposit(D(2025, 6, 4), CARD_PAYER, sample.tender_total("クレジット", june2))])
    assert settle(home, "2025-06-04").success

    # store 0001 re-closes 6/2 without its card slips, after the deposit paying them was settled
    day = next(sd for sd in sample.store_days if sd.day == june2 and sd.store_code == "0001")
    reclosed = StoreDay(day.store_code, day.store_name, day.day,
                        [s for s in day.slips if all(p[0] != "クレジット" for p in s.payments)],
                        day.movements, day.over_short)
    closes = sorted(home.inbox("usen_reji").glob(f"0001_{june2:%Y%m%d}_*"))
    write_bundle(home.inbox("usen_reji"), reclosed, int(closes[-1].name.rsplit("_", 1)[1]) + 1)
    assert home.materialize("usen_reji", june2).success

    result = settle(home, "2025-06-06")  # any later day
    assert result.success, failure_text(result)
    (warning,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "settled_once"]
    assert not warning.passed and warning.severity.value == "WARN"
    assert warning.metadata["examples"].value == [{
        "as_of": "2025-06-06", "source": "usen_reji", "sub_account": CARD, "store_code": "0001",
        "department": "渋谷本店", "sale_date": "2025-06-02", "charged_now": "0",
        "settled": str(sample.tender_total("クレジット", june2, "0001")), "settlement_days": "2025-06-04",
        "problem": "the receivable is gone (its sale day was re-run, or the rule changed)"}]

    # re-running the named day matches its deposit again against what is open now: it fits nothing
    # any more, so it waits for review, and the warning is gone
    result = settle(home, "2025-06-04")
    assert result.success, failure_text(result)
    assert home.query("SELECT status FROM ledger.deposit_matches") == [("review",)]
    (warning,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "settled_once"]
    assert warning.passed
