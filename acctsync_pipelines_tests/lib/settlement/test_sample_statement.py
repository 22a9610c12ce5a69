"""The committed sample's bank statement with the sample café's rules (what `make demo` settles):
fees, one deposit for a week of e-money sales, deposits sources booked, one that pays no sale, and QR
sales never paid flagged overdue."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import yaml

from acctsync_pipelines.lib.sample import SAMPLE_DAYS, SAMPLE_START, bank
from acctsync_pipelines.lib.sample import stores as stores_sample
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.settlement.scenario import settle

D = dt.date
PROJECT = Path(__file__).resolve().parents[3]
DEMO_CONFIG = PROJECT / "acctsync_pipelines" / "lib" / "sample" / "demo_config.yaml"
COMMITTED = PROJECT / "data" / "inbox" / "bank" / "statement_20250601_20250621.csv"


def test_the_committed_statement_is_the_generators_and_reads_as_cp932(tmp_path):
    (written,) = bank.write_sample(tmp_path, start=SAMPLE_START, days=SAMPLE_DAYS)
    assert written.name == COMMITTED.name
    assert written.read_bytes() == COMMITTED.read_bytes()
    text = COMMITTED.read_bytes().decode("cp932")
    assert text.splitlines()[3] == '"日付","摘要","お預入れ","お引出し","残高"'
    assert text.endswith("\r\n")


def test_the_sample_statement_settles_the_sample_receivables(sample_home, booked_sample):
    home = sample_home
    stores_sample.write_sample(home.inbox("stores"), start=SAMPLE_START, days=SAMPLE_DAYS)
    bank.write_sample(home.inbox("bank"), start=SAMPLE_START, days=SAMPLE_DAYS)
    home.configure(yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8")))
    last = SAMPLE_START + dt.timedelta(days=SAMPLE_DAYS - 1)
    result = home.materialize("stores", SAMPLE_START, last)
    assert result.success, failure_text(result)
    result = settle(home, SAMPLE_START, last)
    assert result.success, failure_text(result)

    assert Counter(dict(home.query("SELECT status, count(*) FROM ledger.deposit_matches GROUP BY status"))) == Counter(
        booked=5, matched=28, unmatched=1)
    # sources booked these deposits themselves: the registers' 銀行預入 and the STORES remittances
    assert home.query("SELECT booked_entry_id FROM ledger.deposit_matches WHERE status = 'booked' ORDER BY 1") == [
        ("stores:remittance:202506130000c0ffee00000000",),
        ("stores:remittance:202506130000c0ffee00000000:campaign_coupon",),
        ("stores:remittance:202506200007c0ffee00000000",),
        ("usen_reji:0001:2025-06-06:cash:001",), ("usen_reji:0002:2025-06-10:cash:003",)]
    assert home.query("SELECT value_date, amount, reason FROM reports.unmatched_deposits") == [
        (D(2025, 6, 18), 27500, "no settlement rule's payer text is in the description, and no source booked this "
                                "amount to the bank")]

    def card(day: dt.date) -> int:
        return booked_sample.tender_total("クレジット", day)

    # one deposit a week pays the week's e-money sale days, exactly
    week = [D(2025, 6, d) for d in range(1, 8)]
    assert home.query("""SELECT amount, match_kind, first_cycle_date, last_cycle_date FROM ledger.deposit_matches
                         WHERE rule = 'emoney' ORDER BY value_date""")[0] == (
        sum(booked_sample.tender_total("電子マネー", d) for d in week), "exact", D(2025, 6, 4), D(2025, 6, 10))
    # card: five days later less 3.24%; 06-09's arrived 3 yen short, within the 10 yen tolerance
    assert home.query("""SELECT value_date, gross, fee, match_kind FROM ledger.deposit_matches
                         WHERE rule = 'card' AND value_date IN ('2025-06-13', '2025-06-14') ORDER BY value_date""") == [
        (D(2025, 6, 13), card(D(2025, 6, 8)), round(card(D(2025, 6, 8)) * 0.0324), "fee"),
        (D(2025, 6, 14), card(D(2025, 6, 9)), round(card(D(2025, 6, 9)) * 0.0324) + 3, "fee")]

    # as of the statement's last day: card sales of 06-17.. not yet due; QR stopped being paid after
    # 06-10, and sale days up to 06-15 are past their payment date (two days) plus three grace days
    rows = {r[0]: r[1:] for r in home.query(
        "SELECT rule, sum(open_amount), sum(not_yet_due), sum(overdue) FROM reports.unsettled_receivables "
        "WHERE rule IS NOT NULL GROUP BY rule")}
    late_card = sum(card(D(2025, 6, d)) for d in range(17, 22))
    assert rows["card"] == (late_card, late_card, 0)
    qr_unpaid = [booked_sample.tender_total("QR", D(2025, 6, d)) for d in range(11, 22)]
    assert rows["qr"][0] == sum(qr_unpaid) and rows["qr"][2] == sum(qr_unpaid[:5])
    assert home.query("SELECT count(*) FROM ledger.settlement_allocations "
                      "WHERE rule = 'qr' AND sale_date > '2025-06-10'") == [(0,)]
    # the day's warning check names those QR sale days
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "overdue_receivables"]
    assert not check.passed and check.metadata["failures"].value == 10   # 5 sale days × 2 stores
