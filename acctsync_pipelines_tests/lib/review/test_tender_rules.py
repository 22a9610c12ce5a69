"""Rules keyed on the tender name (review set-account --remember on a payment line): a STORES payment type
that sources.stores.payment_types does not map, an Amazon Business payment instrument no class matches.
Real materializations of the sources' jobs, the review CLI in process, the real warehouse."""

from __future__ import annotations

import datetime as dt

from acctsync_pipelines.cli import main
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.review.days import postings, warehouse_state
from acctsync_pipelines_tests.lib.stores.builders import order, write_json

DAYS = [dt.date(2025, 6, 2) + dt.timedelta(days=n) for n in range(4)]
WAITS = "payment type 'new_pay' has no account (sources.stores.payment_types)"


def review(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["review", *args])
    out, err = capsys.readouterr()
    return code, out, err


def sale(day: dt.date, number: str, tender: str = "new_pay") -> dict:
    """A 5,500 yen order paid with ``tender`` (payment fee 198) and shipped on ``day``."""
    return order(number, f"{day}T10:00:00+09:00", 5500, tender=tender, fee=198, shipped_at=f"{day}T15:00:00+09:00")


def sale_entry(day: dt.date, number: str) -> str:
    return f"stores:{number}:sale:{day}"


def stores_lines(home, entry_id: str) -> list[tuple]:
    """(side, account, sub_account, tax_category, amount, rule, confidence, status) by line."""
    return home.query(
        """SELECT side, account, sub_account, tax_category, amount, rule, confidence, status
           FROM ledger.journal_lines WHERE entry_id = ? AND status <> 'reversed' ORDER BY line_no""", [entry_id])


def materialize(home, source: str, day: dt.date) -> None:
    result = home.materialize(source, day)
    assert result.success, failure_text(result)


def guessed(status: str = "needs_review") -> list[tuple]:
    """A new_pay sale as the source guesses it: 売掛金 with the type as sub-account, waiting."""
    return [("debit", "売掛金", "new_pay", "out_of_scope", 5500, "payment_type:new_pay", 0.0, status),
            ("debit", "支払手数料", "", "out_of_scope", 198, "payment_fee", 1.0, status),
            ("credit", "売上高", "", "sales_10", 5500, "sales_rate:10", 1.0, status),
            ("credit", "売掛金", "new_pay", "out_of_scope", 198, "payment_fee", 0.0, status)]


def learned(rule_id: str, status: str) -> list[tuple]:
    """A new_pay sale decided by the learned rule: both tender lines on 売掛金 / NewPay, nothing waits."""
    return [("debit", "売掛金", "NewPay", "out_of_scope", 5500, f"learned:{rule_id}", 1.0, status),
            ("debit", "支払手数料", "", "out_of_scope", 198, "payment_fee", 1.0, status),
            ("credit", "売上高", "", "sales_10", 5500, "sales_rate:10", 1.0, status),
            ("credit", "売掛金", "NewPay", "out_of_scope", 198, f"learned:{rule_id}", 1.0, status)]


def test_stores_unknown_payment_type_is_learned_then_forgotten(home, capsys):
    inbox = home.inbox("stores")
    numbers = ["7000000001", "7000000002", "7000000003", "7000000004"]
    write_json(inbox, "orders.json", {"orders": [sale(day, n) for day, n in zip(DAYS, numbers)]})
    taught, next_day, after_forget, _ = (sale_entry(day, n) for day, n in zip(DAYS, numbers))

    materialize(home, "stores", DAYS[0])
    assert stores_lines(home, taught) == guessed()
    assert home.query("SELECT DISTINCT review_reason FROM ledger.journal_lines WHERE entry_id = ? "
                      "AND review_reason IS NOT NULL", [taught]) == [(WAITS,)]
    assert postings(home, taught) == []

    # only the payment type's lines can teach; the configuration decides the others
    before = warehouse_state(home)
    code, _, err = review(capsys, "set-account", taught, "3", "雑収入", "--remember")
    assert code == 2 and "its account comes from the configuration (sources.stores.accounts.sales)" in err
    code, _, err = review(capsys, "set-account", taught, "1", "売掛金", "--sub-account", "NewPay", "--remember",
                          "--tax-category", "sales_10")
    assert code == 2 and "out of scope of consumption tax" in err
    assert warehouse_state(home) == before

    code, out, err = review(capsys, "set-account", taught, "1", "売掛金", "--sub-account", "NewPay", "--remember")
    assert code == 0, err
    ((rule_id, kind, value, account, sub_account, tax, learned_from),) = home.query(
        "SELECT rule_id, key_kind, key_value, account, sub_account, tax_category, created_from FROM ledger.learned_rules")
    assert (kind, value, account, sub_account, tax, learned_from) == (
        "tender", "new_pay", "売掛金", "NewPay", None, f"{taught}#1")
    assert f"learned {rule_id}: stores payment type 'new_pay' → 売掛金 / NewPay (out of scope, as a payment is)" in out
    # the rule decides the fee's tender line too, so the entry no longer waits
    assert f"{taught} no longer waits" in out
    assert stores_lines(home, taught) == learned(rule_id, "ready")

    materialize(home, "stores", DAYS[0])
    assert stores_lines(home, taught) == learned(rule_id, "posted")
    assert postings(home, taught) == [("post", 1)]

    # the next day's order with the same payment type is mapped by the learned rule and posted
    materialize(home, "stores", DAYS[1])
    assert stores_lines(home, next_day) == learned(rule_id, "posted")
    assert postings(home, next_day) == [("post", 1)]

    code, out, _ = review(capsys, "rules")
    assert code == 0
    listed = next(line for line in out.splitlines() if line.startswith(rule_id))
    for shown in ("stores", "tender new_pay", "売掛金 / NewPay", "out of scope", f"{taught}#1"):
        assert shown in listed
    assert listed.endswith(" 4")  # the lines it decides now: two of each order

    code, out, err = review(capsys, "forget", rule_id)
    assert code == 0, err
    assert f"forgot {rule_id} (stores tender new_pay → 売掛金 / NewPay)" in out
    assert "4 posted line(s) keep what was posted" in out
    materialize(home, "stores", DAYS[2])
    assert stores_lines(home, after_forget) == guessed()
    assert postings(home, after_forget) == []
    # what was posted stays as posted: re-running the earlier days sends nothing
    result = home.materialize("stores", DAYS[0], DAYS[1])
    assert result.success, failure_text(result)
    assert [postings(home, e) for e in (taught, next_day)] == [[("post", 1)]] * 2
    assert [line[1:3] for line in stores_lines(home, next_day) if line[5].startswith("pinned:")] == [
        ("売掛金", "NewPay"), ("売掛金", "NewPay")]


def test_a_configured_payment_type_comes_before_a_learned_rule(home, capsys):
    inbox = home.inbox("stores")
    write_json(inbox, "orders.json", {"orders": [sale(DAYS[0], "7100000001"), sale(DAYS[1], "7100000002")]})
    materialize(home, "stores", DAYS[0])
    first, second = sale_entry(DAYS[0], "7100000001"), sale_entry(DAYS[1], "7100000002")
    code, _, err = review(capsys, "set-account", first, "4", "売掛金", "--sub-account", "NewPay", "--remember")
    assert code == 0, err  # taught from the fee's tender line
    ((rule_id,),) = home.query("SELECT rule_id FROM ledger.learned_rules WHERE key_value = 'new_pay'")
    assert stores_lines(home, first) == learned(rule_id, "ready")

    home.configure({"sources": {"stores": {"payment_types": {"new_pay": {"account": "現金"}}}}})
    materialize(home, "stores", DAYS[1])
    assert [line[1:3] + line[5:] for line in stores_lines(home, second) if line[1] == "現金"] == [
        ("現金", "", "payment_type:new_pay", 1.0, "posted"), ("現金", "", "payment_fee", 1.0, "posted")]
    # a configured type cannot be taught
    ((cash_line,),) = home.query("SELECT line_no FROM ledger.journal_lines WHERE entry_id = ? AND side = 'debit' "
                                 "AND account = '現金'", [second])
    code, _, err = review(capsys, "set-account", second, str(cash_line), "売掛金", "--remember")
    assert code == 2
    assert "its account comes from the configuration (sources.stores.payment_types: new_pay); change it there" in err


def test_amazon_unknown_payment_instrument_is_learned_and_corrections_keep_the_payment_check(home, capsys):
    from acctsync_pipelines_tests.lib.amazon_business.builders import item, txn
    from acctsync_pipelines_tests.lib.amazon_business.builders import write_json as write_transactions

    home.configure({"sources": {"amazon_business": {"rules": [{"unspsc": "44", "account": "事務用品費"}]}}})
    orders = ["250-1111111-0000001", "250-1111111-0000002", "250-1111111-0000003"]
    instruments = ["  PayStation ", "PayStation", "OtherPay"]
    write_transactions(home.inbox("amazon_business"), "june.json", [
        txn(f"T-{n}", f"{day}T03:00:00Z", 550, [item(o, 1, "ボールペン", 550, unspsc="44121704")], instrument=paid_with)
        for n, (day, o, paid_with) in enumerate(zip(DAYS, orders, instruments))
    ])
    first, second, third = (f"amazon_business:{o}:charge:{day}" for day, o in zip(DAYS, orders))
    credit = ("SELECT account, sub_account, rule, confidence, status FROM ledger.journal_lines "
              "WHERE entry_id = ? AND side = 'credit'")

    def credit_line(entry_id: str) -> str:
        ((line_no,),) = home.query("SELECT line_no FROM ledger.journal_lines WHERE entry_id = ? AND side = 'credit'",
                                   [entry_id])
        return str(line_no)

    materialize(home, "amazon_business", DAYS[0])
    assert home.query(credit, [first]) == [("未払金", "Amazonビジネス", "instrument:unknown", 0.0, "needs_review")]

    code, out, err = review(capsys, "set-account", first, credit_line(first), "未払金", "--sub-account", "PayStation",
                            "--remember")
    assert code == 0, err
    ((rule_id, kind, value),) = home.query("SELECT rule_id, key_kind, key_value FROM ledger.learned_rules")
    assert (kind, value) == ("tender", "PayStation")  # the instrument's name, trimmed
    assert f"learned {rule_id}: amazon_business payment instrument 'PayStation' → 未払金 / PayStation" in out
    assert home.query(credit, [first]) == [("未払金", "PayStation", f"learned:{rule_id}", 1.0, "ready")]
    # the day's payment check counts learned instrument lines: the day posts
    materialize(home, "amazon_business", DAYS[0])
    assert postings(home, first) == [("post", 1)]

    materialize(home, "amazon_business", DAYS[1])
    assert home.query(credit, [second]) == [("未払金", "PayStation", f"learned:{rule_id}", 1.0, "posted")]
    assert postings(home, second) == [("post", 1)]

    # a payment line corrected once (no rule) still counts as the day's payment
    materialize(home, "amazon_business", DAYS[2])
    code, _, err = review(capsys, "set-account", third, credit_line(third), "未払金", "--sub-account", "OtherPay")
    assert code == 0, err
    materialize(home, "amazon_business", DAYS[2])
    assert home.query(credit, [third]) == [("未払金", "OtherPay", "review:set_account", 1.0, "posted")]
    assert home.query("SELECT count(*) FROM ledger.learned_rules") == [(1,)]
