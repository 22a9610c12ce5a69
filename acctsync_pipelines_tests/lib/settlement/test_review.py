"""Ambiguity is never guessed: a deposit two cycles fit equally waits for a person, then posts as approved."""

from __future__ import annotations

import datetime as dt

from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.review.queue import review
from acctsync_pipelines.lib.warehouse import Warehouse, transaction
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.settlement.scenario import (
    CARD, card_rule, configure, deposit, entry_lines, sales_day, settle, write_statement,
)

D = dt.date


def test_a_deposit_two_cycles_fit_equally_waits_for_review_and_posts_once_approved(home):
    configure(home, card_rule())  # paid two days after the sale; on time within a day
    sales_day(home, D(2025, 6, 2), {"クレジット": 3000})
    sales_day(home, D(2025, 6, 4), {"クレジット": 3000})
    assert home.materialize("usen_reji", "2025-06-02", "2025-06-04").success
    # 6/5 is a day after the 6/2 sales' payment date (6/4) and a day before the 6/4 sales' (6/6)
    write_statement(home, "202506.csv", [deposit(D(2025, 6, 5), "ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 3000)])
    result = settle(home, "2025-06-05")
    assert result.success, failure_text(result)

    ((status, candidates, reason, entry_id),) = home.query(
        "SELECT status, candidates, reason, entry_id FROM ledger.deposit_matches")
    assert (status, candidates) == ("review", 2)
    assert reason == ("ambiguous: 2 cycle runs fit this deposit equally well (card 2025-06-04..2025-06-04 gross 3000; "
                      "card 2025-06-06..2025-06-06 gross 3000); proposed: the first")
    assert home.query("SELECT DISTINCT status FROM ledger.journal_lines WHERE entry_id = ?", [entry_id]) == [
        ("needs_review",)]
    assert home.export_files(), "the USEN days are posted"
    assert not [p for p in home.export_files() if p.name.startswith("settlement_")]
    # both sale days stay open until someone decides
    assert home.query("SELECT sum(remaining) FROM reports.open_receivables WHERE sub_account = ? AND rule = 'card'",
                      [CARD]) == [(3000,)]

    with Warehouse(home.warehouse).connect() as conn, transaction(conn):
        outcome = review(conn, load_settings(), approvals=[entry_id], by="accountant")
    assert outcome.messages == [f"approved {entry_id}"]
    assert settle(home, "2025-06-05").success
    assert [p.name for p in home.export_files() if p.name.startswith("settlement_")] == ["settlement_20250605_001.csv"]
    assert entry_lines(home, "2025-06-05") == [("debit", "普通預金", "", "", "out_of_scope", 3000),
                                               ("credit", "売掛金", CARD, "店0001", "out_of_scope", 3000)]
    assert home.query("SELECT sale_date FROM ledger.settlement_allocations") == [(D(2025, 6, 2),)]


def test_two_deposits_of_a_day_never_clear_the_same_receivable(home):
    configure(home, card_rule(cycle={"days_after": 1}))
    sales_day(home, D(2025, 6, 2), {"クレジット": 3000})  # paid 6/3
    sales_day(home, D(2025, 6, 3), {"クレジット": 3000})  # paid 6/4
    assert home.materialize("usen_reji", "2025-06-02", "2025-06-03").success
    # the 6/3 payment slipped a day: both arrive on 6/4, and both fit the 6/3 sales best
    write_statement(home, "202506.csv", [deposit(D(2025, 6, 4), "ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 3000, balance=1_003_000),
                                         deposit(D(2025, 6, 4), "ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 3000, balance=1_006_000)])
    result = settle(home, "2025-06-04")
    assert result.success, failure_text(result)
    assert home.query("""SELECT m.source_row, m.status, a.sale_date, a.amount
                         FROM ledger.deposit_matches m JOIN ledger.settlement_allocations a USING (line_id)
                         ORDER BY m.source_row""") == [
        (2, "matched", D(2025, 6, 3), 3000), (3, "matched", D(2025, 6, 2), 3000)]
    assert home.query("SELECT sum(remaining) FROM reports.open_receivables WHERE rule = 'card'") == [(0,)]
