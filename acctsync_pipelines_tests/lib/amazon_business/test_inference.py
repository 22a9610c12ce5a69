"""Expense-account inference: the user's rules, then what a person confirmed (ledger.learned_rules),
then low-confidence defaults; every line says which step decided and how sure it is."""

from __future__ import annotations

import duckdb
import pytest

from acctsync_pipelines.lib.amazon_business import source as source_module
from acctsync_pipelines.lib.config import ConfigError, load_settings
from acctsync_pipelines.lib.sql import run, sql_text
from acctsync_pipelines_tests.lib.amazon_business.builders import item, lines, run_days, txn, write_json

DAY = "2025-06-05"


def _book(home, items: list[dict], rules: list[dict] | None = None, learned: list[tuple] = (), **settings) -> dict:
    home.configure({"sources": {"amazon_business": {"rules": rules or [], **settings}}})
    if learned:
        run_days(home)  # creates the warehouse
        with duckdb.connect(str(home.warehouse)) as conn:
            for rule_id, kind, value, account in learned:
                conn.execute(
                    "INSERT INTO ledger.learned_rules VALUES (?, 'amazon_business', ?, ?, ?, '', NULL, now(), 'test')",
                    [rule_id, kind, value, account],
                )
    total = sum(int(float(i["totalAmount"]["amount"])) for i in items)
    write_json(home.inbox("amazon_business"), "june.json", [txn("T-1", "2025-06-05T03:00:00Z", total, items)])
    run_days(home, DAY)
    return {x["description"].removeprefix("Amazon "): x for x in lines(home) if x["side"] == "debit"}


def test_precedence_user_rule_then_learned_then_default(home):
    order = "250-3333333-0000001"
    booked = _book(
        home,
        [item(order, 1, "ボールペン 黒", 550, asin="B0PEN", unspsc="44121704"),
         item(order, 2, "コーヒー豆 1kg", 3240, asin="B0BEANS", unspsc="50201706", rate="0.08"),
         item(order, 3, "珈琲の本", 1980, asin="B0BOOK", unspsc="55101509"),
         item(order, 4, "食器用洗剤", 698, asin="B0SOAP", unspsc="47131807")],
        rules=[{"asin": "B0PEN", "account": "事務用品費"}],
        learned=[("L0001", "asin", "B0PEN", "雑費"), ("L0002", "asin", "B0BEANS", "仕入高")],
    )

    decided = {title: (x["account"], x["rule"], x["confidence"], x["review_reason"]) for title, x in booked.items()}
    assert decided["ボールペン 黒"] == ("事務用品費", "config:1:asin=B0PEN", 1.0, None)
    assert decided["コーヒー豆 1kg"] == ("仕入高", "learned:L0002", 0.95, None)
    assert decided["珈琲の本"][:3] == ("新聞図書費", "default:unspsc=55", 0.3)
    assert decided["珈琲の本"][3] == ("account 新聞図書費 is a default guess (default:unspsc=55); "
                                     "confirm or correct it")
    assert decided["食器用洗剤"][:3] == ("消耗品費", "default:otherwise", 0.3)
    assert {x["review_status"] for x in booked.values()} == {"needs_review"}


def test_each_kind_of_user_rule_decides(home):
    """Six items, each matched by one kind of rule only (the first rule matches nothing)."""
    order = "250-4444444-0000001"
    booked = _book(
        home,
        [item(order, 1, "コピー用紙 A4 500枚", 2980, asin="B0A", unspsc="47000000"),
         item(order, 2, "何か 2", 100, asin="B0PAPER", unspsc="47000000"),
         item(order, 3, "何か 3", 100, asin="B0C", unspsc="14111507"),
         item(order, 4, "何か 4", 100, asin="B0D", unspsc="53111507"),
         item(order, 5, "何か 5", 100, asin="B0E", unspsc="47000000", seller="見本文具 株式会社"),
         item(order, 6, "何か 6", 100, asin="B0F", unspsc="47000000", gl_code="535-office")],
        rules=[{"title_keyword": "どれにも当たらない", "account": "雑費"},
               {"title_keyword": "コピー用紙", "account": "事務用品費"},
               {"asin": "b0paper", "account": "事務用品費"},
               {"unspsc": "14", "account": "事務用品費"},
               {"unspsc": "5311", "account": "事務用品費"},
               {"seller": "見本文具 株式会社", "account": "事務用品費"},
               {"gl_code": "535-office", "account": "事務用品費"}],
    )

    assert {title: (x["account"], x["rule"], x["review_status"]) for title, x in booked.items()} == {
        "コピー用紙 A4 500枚": ("事務用品費", "config:2:title_keyword=コピー用紙", "ready"),
        "何か 2": ("事務用品費", "config:3:asin=b0paper", "ready"),
        "何か 3": ("事務用品費", "config:4:unspsc=14", "ready"),
        "何か 4": ("事務用品費", "config:5:unspsc=5311", "ready"),
        "何か 5": ("事務用品費", "config:6:seller=見本文具 株式会社", "ready"),
        "何か 6": ("事務用品費", "config:7:gl_code=535-office", "ready"),
    }


def test_the_first_matching_user_rule_wins(home):
    booked = _book(home, [item("250-5555555-0000001", 1, "コーヒー豆 ブラジル", 3240, rate="0.08")],
                   rules=[{"title_keyword": "ブラジル", "account": "仕入高"},
                          {"title_keyword": "コーヒー", "account": "消耗品費"}])

    [line] = booked.values()
    assert (line["account"], line["rule"]) == ("仕入高", "config:1:title_keyword=ブラジル")


def test_learned_asin_beats_title_keyword_and_the_longest_keyword_wins(home):
    order = "250-6666666-0000001"
    booked = _book(
        home,
        [item(order, 1, "業務用 コーヒーフィルター 100枚", 429, asin="B0FILTER"),
         item(order, 2, "業務用 紙コップ 500個", 3480, asin="B0CUPS")],
        learned=[("L0001", "title_keyword", "業務用", "消耗品費"),
                 ("L0002", "title_keyword", "業務用 紙コップ", "備品費"),
                 ("L0003", "asin", "B0FILTER", "仕入高")],
    )

    assert (booked["業務用 コーヒーフィルター 100枚"]["account"], booked["業務用 コーヒーフィルター 100枚"]["rule"]) == (
        "仕入高", "learned:L0003")
    cups = booked["業務用 紙コップ 500個"]
    assert (cups["account"], cups["rule"], cups["confidence"], cups["review_status"]) == (
        "備品費", "learned:L0002", 0.85, "ready")


def test_a_rule_below_the_review_threshold_waits_for_review(home):
    booked = _book(home, [item("250-7777777-0000001", 1, "延長コード", 1980)],
                   rules=[{"title_keyword": "延長コード", "account": "消耗品費", "confidence": 0.6}])

    [line] = booked.values()
    assert line["review_status"] == "needs_review"
    assert line["review_reason"] == ("confidence 0.6 is below the review threshold 0.8 "
                                     "(config:1:title_keyword=延長コード)")


def test_learned_rules_below_a_raised_threshold_wait_for_review(home):
    booked = _book(home, [item("250-8888888-0000001", 1, "延長コード", 1980, asin="B0CORD")],
                   learned=[("L0001", "asin", "B0CORD", "消耗品費")], review_threshold=0.99)

    [line] = booked.values()
    assert (line["rule"], line["review_status"]) == ("learned:L0001", "needs_review")


def test_a_rule_can_set_the_tax_category(home):
    booked = _book(home, [item("250-9999999-0000001", 1, "収入印紙 200円", 200, rate="0.10")],
                   rules=[{"title_keyword": "収入印紙", "account": "租税公課", "tax_category": "out_of_scope"}])

    [line] = booked.values()
    assert (line["tax_category"], line["tax_amount"]) == ("out_of_scope", 0)


def test_a_rule_needs_exactly_one_matcher(home):
    home.configure({"sources": {"amazon_business": {"rules": [
        {"asin": "B0X", "title_keyword": "x", "account": "雑費"}]}}})
    with pytest.raises(ConfigError, match="exactly one of title_keyword, asin, unspsc, seller, gl_code"):
        load_settings()


def test_what_correcting_a_line_can_teach(home):
    """learning_key.sql answers the review queue's question for each kind of line."""
    order = "250-1212121-0000001"
    _book(home, [item(order, 1, "ボールペン", 550, asin="B0PEN"), item(order, 2, "付箋", 330, asin="B0NOTES")],
          rules=[{"asin": "B0NOTES", "account": "事務用品費"}])
    entry = f"amazon_business:{order}:charge:{DAY}"
    with duckdb.connect(str(home.warehouse)) as conn:
        by_rule = dict(conn.execute(
            "SELECT rule, line_no FROM ledger.journal_entry_lines WHERE entry_id = ?", [entry]).fetchall())

        def key(rule: str) -> tuple:
            return run(conn, sql_text(source_module.__file__, "learning_key.sql"),
                       {"entry_id": entry, "line_no": by_rule[rule]}).fetchone()

        assert key("default:otherwise") == ("asin", "B0PEN", "ASIN B0PEN (ボールペン)", None)
        assert key("config:1:asin=B0NOTES")[0] is None
        assert key("config:1:asin=B0NOTES")[3].startswith("sources.amazon_business.rules has a rule")
        assert key("instrument:card") == (None, None, None, (
            "its account comes from the configuration (sources.amazon_business.payment_instruments: card); "
            "change it there"))
