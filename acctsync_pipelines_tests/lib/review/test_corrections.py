"""Corrections, approvals and learned rules across re-runs and re-closes: what is posted stays exact."""

from __future__ import annotations

import datetime as dt

from acctsync_pipelines.cli import main
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.review import queue
from acctsync_pipelines.lib.warehouse import Warehouse, transaction
from acctsync_pipelines_tests.lib.review.days import DAY1, cash_entry, journal, postings, write_day

def review(capsys, *args: str) -> str:
    code = main(["review", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def posted_accounts(home, entry_id: str) -> list[tuple]:
    return home.query(
        """SELECT action_seq, action, side, account, amount, tax_amount FROM ledger.posted_lines
           WHERE entry_id = ? ORDER BY action_seq, line_no""", [entry_id])


def test_a_correction_survives_reruns_and_lapses_when_the_facts_change(home, capsys):
    inbox = home.inbox("usen_reji")
    write_day(inbox, DAY1, [("出金", "花代", 2200)])
    assert home.materialize("usen_reji", DAY1).success
    entry = cash_entry(DAY1)

    out = review(capsys, "set-account", entry, "1", "雑費", "--new-account", "--sub-account", "装花")
    assert "仮払金 (out_of_scope, cash_rule:default) → 雑費 / 装花 (out_of_scope, review:set_account)" in out
    corrected = (1, "debit", "雑費", "装花", "out_of_scope", 2200, 0, "review:set_account", "ready")
    assert journal(home, entry)[0] == corrected
    for _ in range(2):
        assert home.materialize("usen_reji", DAY1).success
        assert journal(home, entry)[0] == corrected[:-1] + ("posted",)
    assert posted_accounts(home, entry) == [(1, "post", "debit", "雑費", 2200, 0), (1, "post", "credit", "現金", 2200, 0)]

    # a re-close changes the movement: the correction was made on other facts, so the line waits again
    # and what was posted stays as it is until a person decides
    write_day(inbox, DAY1, [("出金", "花代", 2750)], close_seq=2)
    assert home.materialize("usen_reji", DAY1).success
    assert journal(home, entry)[0] == (1, "debit", "仮払金", "", "out_of_scope", 2750, 0, "cash_rule:default",
                                       "needs_review")
    assert postings(home, entry) == [("post", 1)]

    review(capsys, "set-account", entry, "1", "雑費", "--sub-account", "装花", "--tax-category", "purchase_8r")
    assert journal(home, entry)[0][2:7] == ("雑費", "装花", "purchase_8r", 2750, 203)  # 2750 × 8/108, rounded down
    assert home.materialize("usen_reji", DAY1).success
    assert postings(home, entry) == [("post", 1), ("reverse", 2), ("post", 3)]
    assert posted_accounts(home, entry)[-2:] == [(3, "post", "debit", "雑費", 2750, 203),
                                                 (3, "post", "credit", "現金", 2750, 0)]


def test_an_approval_is_for_the_version_that_was_approved(home, capsys):
    inbox = home.inbox("usen_reji")
    write_day(inbox, DAY1, [("出金", "花代", 2200)])
    assert home.materialize("usen_reji", DAY1).success
    entry = cash_entry(DAY1)
    review(capsys, "approve", entry)

    write_day(inbox, DAY1, [("出金", "花代", 2420)], close_seq=2)
    assert home.materialize("usen_reji", DAY1).success
    assert journal(home, entry)[0][-1] == "needs_review"
    assert postings(home, entry) == []


def test_learning_never_rewrites_what_was_posted_and_forgetting_keeps_it(home, capsys):
    inbox = home.inbox("usen_reji")
    days = [DAY1 + dt.timedelta(days=n) for n in range(4)]
    for day in days:
        write_day(inbox, day, [("出金", "花代", 2200)])
    approved, taught, learned, later = (cash_entry(day) for day in days)
    assert home.materialize("usen_reji", days[0]).success
    review(capsys, "approve", approved)
    assert home.materialize("usen_reji", days[0], days[1]).success
    assert postings(home, approved) == [("post", 1)]
    review(capsys, "set-account", taught, "1", "消耗品費", "--remember")
    ((rule_id,),) = home.query("SELECT rule_id FROM ledger.learned_rules")

    # day 1 was posted (approved as 仮払金) before the rule existed: re-running it changes nothing
    assert home.materialize("usen_reji", days[0], days[2]).success
    assert journal(home, approved)[0][2:] == ("仮払金", "", "out_of_scope", 2200, 0, "cash_rule:default", "posted")
    assert postings(home, approved) == [("post", 1)]
    for entry in (taught, learned):
        assert journal(home, entry)[0][2:] == ("消耗品費", "", "purchase_10", 2200, 200, f"learned:{rule_id}", "posted")

    out = review(capsys, "forget", rule_id)
    assert f"forgot {rule_id} (usen_reji cash_reason 出金/花代 → 消耗品費)" in out
    assert "2 posted line(s) keep what was posted" in out
    assert home.query("SELECT count(*) FROM ledger.learned_rules") == [(0,)]
    assert home.materialize("usen_reji", days[0], days[3]).success
    # what was posted stays: the taught line keeps the person's correction, the learned one is pinned
    assert journal(home, taught)[0][7:] == ("review:set_account", "posted")
    assert journal(home, learned)[0][2:] == ("消耗品費", "", "purchase_10", 2200, 200, f"pinned:learned:{rule_id}",
                                             "posted")
    assert [postings(home, e) for e in (approved, taught, learned)] == [[("post", 1)]] * 3
    # later lines are guessed again
    assert journal(home, later)[0][2:] == ("仮払金", "", "out_of_scope", 2200, 0, "cash_rule:default", "needs_review")


def test_teaching_again_replaces_the_rule(home, capsys):
    inbox = home.inbox("usen_reji")
    write_day(inbox, DAY1, [("出金", "花代", 2200), ("出金", "花代", 1100)])
    assert home.materialize("usen_reji", DAY1).success
    first, second = cash_entry(DAY1, "001"), cash_entry(DAY1, "002")

    review(capsys, "set-account", first, "1", "消耗品費", "--remember")
    ((old_rule,),) = home.query("SELECT rule_id FROM ledger.learned_rules")
    assert journal(home, second)[0][2] == "消耗品費"  # the rule decided the other waiting line at once
    out = review(capsys, "set-account", second, "1", "雑費", "--new-account", "--tax-category", "purchase_10",
                 "--remember")
    assert f"forgot {old_rule}" in out
    ((new_rule, account),) = home.query("SELECT rule_id, account FROM ledger.learned_rules")
    assert new_rule != old_rule and account == "雑費"
    assert journal(home, first)[0][2] == journal(home, second)[0][2] == "雑費"
    assert {journal(home, e)[0][7] for e in (first, second)} == {f"learned:{new_rule}"}


def test_known_accounts_and_usual_tax_categories(home):
    write_day(home.inbox("usen_reji"), DAY1, [("出金", "交通費", 420)])
    assert home.materialize("usen_reji", DAY1).success
    settings = load_settings()
    with Warehouse(home.warehouse).connect() as conn, transaction(conn):
        known = queue.known_accounts(conn, settings)
        assert {"現金", "売掛金", "仮払金", "仮受金", "旅費交通費", "仕入高", "普通預金", "雑損失"} <= known
        assert not {"【POS Reg】クレジット", "消耗品"} & known
        assert queue.usual_tax_category(conn, settings, "消耗品費") == "purchase_10"  # configured rule
        assert queue.usual_tax_category(conn, settings, "現金") == "out_of_scope"  # history
        assert queue.usual_tax_category(conn, settings, "会議費") is None


def test_amazon_items_learn_by_asin_and_keep_their_own_rate(home, capsys):
    from acctsync_pipelines.lib.sample import amazon_business

    amazon_business.write_sample(home.inbox("amazon_business"), start=dt.date(2025, 6, 1), days=7)
    assert home.materialize("amazon_business", "2025-06-03").success  # two orders with the same sugar
    sugar = home.query(
        """SELECT entry_id, line_no, tax_category, status FROM ledger.journal_lines
           WHERE source = 'amazon_business' AND description LIKE '%グラニュー糖%' AND rule LIKE 'default:%'
           ORDER BY business_date, entry_id""")
    assert len(sugar) >= 2 and {row[2:] for row in sugar} == {("purchase_8r", "needs_review")}
    entry_id, line_no = sugar[0][:2]

    out = review(capsys, "set-account", entry_id, str(line_no), "仕入高", "--remember")
    ((rule_id, kind, tax),) = home.query("SELECT rule_id, key_kind, tax_category FROM ledger.learned_rules")
    assert (kind, tax) == ("asin", None)
    assert "(tax category as each line's rate says)" in out
    # every waiting sugar line is now decided by the rule, at its own reduced rate
    assert home.query(
        """SELECT DISTINCT account, tax_category, rule FROM ledger.journal_lines
           WHERE source = 'amazon_business' AND description LIKE '%グラニュー糖%'""") == [
        ("仕入高", "purchase_8r", f"learned:{rule_id}")]
