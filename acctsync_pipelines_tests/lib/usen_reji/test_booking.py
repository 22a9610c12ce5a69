"""USEN Reji booking per accounting.md: every event type, both granularities, exact lines."""

import csv
import io

import pytest

from acctsync_pipelines_tests.lib.usen_reji.bundles import DAY1, DAY2, event_day, simple_day, slip, write


def lines(home, day=DAY1):
    return home.query(
        """SELECT entry_id, side, account, sub_account, tax_category, amount, tax_amount, status
           FROM ledger.journal_lines WHERE business_date = ? ORDER BY entry_id, line_no""",
        [day],
    )


def test_daily_summary_books_every_event_type(home):
    write(home.inbox("usen_reji"), event_day())
    result = home.materialize("usen_reji", DAY1)
    assert result.success
    sales = "usen_reji:0001:2025-06-02:sales"
    cash = "usen_reji:0001:2025-06-02:cash:"
    assert lines(home) == [
        (cash + "001", "debit", "現金", "", "out_of_scope", 10000, 0, "posted"),
        (cash + "001", "credit", "普通預金", "", "out_of_scope", 10000, 0, "posted"),
        (cash + "002", "debit", "旅費交通費", "", "purchase_10", 420, 38, "posted"),
        (cash + "002", "credit", "現金", "", "out_of_scope", 420, 0, "posted"),
        # no cash rule for 花代: suspense account, waits for review, not posted
        (cash + "003", "debit", "仮払金", "", "out_of_scope", 2200, 0, "needs_review"),
        (cash + "003", "credit", "現金", "", "out_of_scope", 2200, 0, "needs_review"),
        ("usen_reji:0001:2025-06-02:over_short", "debit", "雑損失", "", "out_of_scope", 100, 0, "posted"),
        ("usen_reji:0001:2025-06-02:over_short", "credit", "現金", "", "out_of_scope", 100, 0, "posted"),
        # tenders × rates; the split slip C is allocated by largest remainder (商品券 667/333, 現金 433/217)
        (sales, "debit", "売掛金", "【POS Reg】クレジット", "out_of_scope", 1080, 0, "posted"),
        (sales, "debit", "売掛金", "【POS Reg】商品券", "out_of_scope", 667, 0, "posted"),
        (sales, "debit", "売掛金", "【POS Reg】商品券", "out_of_scope", 333, 0, "posted"),
        (sales, "debit", "現金", "", "out_of_scope", 433, 0, "posted"),
        (sales, "debit", "現金", "", "out_of_scope", 217, 0, "posted"),
        # the 取消 slip D nets out slip A; tax once per rate for the store-day, rounded down
        (sales, "credit", "売上高", "", "sales_10", 1100, 100, "posted"),
        (sales, "credit", "売上高", "", "sales_8r", 1630, 120, "posted"),
    ]
    refs = home.query("SELECT DISTINCT department, source_ref FROM ledger.journal_lines WHERE entry_id = ?", [sales])
    assert refs == [("渋谷本店", "0001_20250602_1")]


def test_per_slip_books_each_slip_with_its_own_tax(home):
    home.configure({"sources": {"usen_reji": {"granularity": "per_slip", "departments": {"0001": "本店"}}}})
    write(home.inbox("usen_reji"), event_day())
    assert home.materialize("usen_reji", DAY1).success
    got = home.query(
        """SELECT entry_id, side, account, sub_account, tax_category, amount, tax_amount, source_ref, department
           FROM ledger.journal_lines WHERE entry_id LIKE '%:slip:%' ORDER BY entry_id, line_no"""
    )
    slip_id = "usen_reji:0001:2025-06-02:slip:"
    assert got == [
        (slip_id + "A", "debit", "現金", "", "out_of_scope", 1100, 0, "A", "本店"),
        (slip_id + "A", "credit", "売上高", "", "sales_10", 1100, 100, "A", "本店"),
        (slip_id + "B", "debit", "売掛金", "【POS Reg】クレジット", "out_of_scope", 1080, 0, "B", "本店"),
        (slip_id + "B", "credit", "売上高", "", "sales_8r", 1080, 80, "B", "本店"),
        (slip_id + "C", "debit", "売掛金", "【POS Reg】商品券", "out_of_scope", 667, 0, "C", "本店"),
        (slip_id + "C", "debit", "売掛金", "【POS Reg】商品券", "out_of_scope", 333, 0, "C", "本店"),
        (slip_id + "C", "debit", "現金", "", "out_of_scope", 433, 0, "C", "本店"),
        (slip_id + "C", "debit", "現金", "", "out_of_scope", 217, 0, "C", "本店"),
        (slip_id + "C", "credit", "売上高", "", "sales_10", 1100, 100, "C", "本店"),
        (slip_id + "C", "credit", "売上高", "", "sales_8r", 550, 40, "C", "本店"),
        # the 取消 slip reverses slip A: sides swapped, amounts positive
        (slip_id + "D", "debit", "売上高", "", "sales_10", 1100, 100, "D", "本店"),
        (slip_id + "D", "credit", "現金", "", "out_of_scope", 1100, 0, "D", "本店"),
    ]


def test_cancellation_of_an_earlier_days_slip_books_on_the_cancellation_day(home):
    inbox = home.inbox("usen_reji")
    day1 = simple_day(DAY1, cash=2200)
    write(inbox, day1)
    assert home.materialize("usen_reji", DAY1).success
    day2 = simple_day(DAY2, cash=550)
    day2.slips.append(slip("X", DAY2, [(10, -2200)], [("現金", -2200)], kind="取消", original=day1.slips[0].no))
    write(inbox, day2)
    assert home.materialize("usen_reji", DAY2).success
    assert lines(home, DAY1) == [
        ("usen_reji:0001:2025-06-02:sales", "debit", "現金", "", "out_of_scope", 2200, 0, "posted"),
        ("usen_reji:0001:2025-06-02:sales", "credit", "売上高", "", "sales_10", 2200, 200, "posted"),
    ]
    # day 2 nets to −1650: sales reversed on day 2, day 1 untouched
    assert lines(home, DAY2) == [
        ("usen_reji:0001:2025-06-03:sales", "debit", "売上高", "", "sales_10", 1650, 150, "posted"),
        ("usen_reji:0001:2025-06-03:sales", "credit", "現金", "", "out_of_scope", 1650, 0, "posted"),
    ]
    assert [p.name for p in home.export_files()] == ["usen_reji_20250602_001.csv", "usen_reji_20250603_001.csv"]


def test_correction_slip_books_like_a_sale(home):
    day = simple_day(DAY1, cash=1100)
    day.slips += [
        slip("X", DAY1, [(10, -1100)], [("現金", -1100)], kind="取消", original=day.slips[0].no),
        slip("Y", DAY1, [(10, 880)], [("クレジット", 880)], kind="訂正", original=day.slips[0].no),
    ]
    write(home.inbox("usen_reji"), day)
    assert home.materialize("usen_reji", DAY1).success
    assert lines(home) == [
        ("usen_reji:0001:2025-06-02:sales", "debit", "売掛金", "【POS Reg】クレジット", "out_of_scope", 880, 0, "posted"),
        ("usen_reji:0001:2025-06-02:sales", "credit", "売上高", "", "sales_10", 880, 80, "posted"),
    ]


def test_cash_movement_rules_and_departments_come_from_configuration(home):
    home.configure({"sources": {"usen_reji": {
        "departments": {"0001": "渋谷"},
        "cash_movement_rules": [{"direction": "出金", "reason": "花代", "account": "雑費", "tax_category": "purchase_10"}],
    }}})
    write(home.inbox("usen_reji"), event_day())
    assert home.materialize("usen_reji", DAY1).success
    flowers = home.query(
        """SELECT account, tax_category, amount, tax_amount, rule, status, department FROM ledger.journal_lines
           WHERE entry_id LIKE '%:cash:003' AND side = 'debit'"""
    )
    assert flowers == [("雑費", "purchase_10", 2200, 200, "cash_rule:1:出金/花代", "posted", "渋谷")]
    # the rules list replaced the defaults: 交通費 has no rule any more and waits for review
    (status,) = home.query("SELECT DISTINCT status FROM ledger.journal_lines WHERE entry_id LIKE '%:cash:002'")
    assert status == ("needs_review",)


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-sig"])
def test_bundles_in_every_supported_encoding_book_the_same(home, encoding):
    write(home.inbox("usen_reji"), event_day(), encoding=encoding)
    assert home.materialize("usen_reji", DAY1).success
    (count, total) = home.query("SELECT count(*), sum(amount) FROM ledger.journal_lines")[0]
    assert (count, total) == (15, 2 * (10000 + 420 + 2200 + 100) + 1080 + 667 + 333 + 433 + 217 + 1100 + 1630)


def test_yayoi_file_bytes(home):
    write(home.inbox("usen_reji"), event_day())
    assert home.materialize("usen_reji", DAY1).success
    (path,) = home.export_files()
    data = path.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(data.decode("cp932"), newline="")))
    assert all(len(row) == 25 for row in rows)
    assert "識別フラグ" not in data.decode("cp932")  # no header
    flags = [row[0] for row in rows]
    # cash:001, cash:002, over_short as one-line entries; the sales entry as a 7-row 振替伝票; cash:003 waits
    assert flags == ["2000", "2000", "2000", "2110", "2100", "2100", "2100", "2100", "2100", "2101"]
    assert rows[1] == ["2000", "", "", "2025/06/02", "旅費交通費", "", "渋谷本店", "課対仕入内10%", "420", "38",
                       "現金", "", "渋谷本店", "対象外", "420", "0", "USENレジ 渋谷本店 出金 交通費 配達", "", "", "0", "",
                       "acctsync usen_reji:0001:2025-06-02:cash:002 post#1", "0", "0", "no"]
    revenue = [row for row in rows if row[10] == "売上高"]
    assert [(r[13], r[14], r[15], r[4], r[8]) for r in revenue] == [
        ("課税売上内10%", "1100", "100", "", "0"), ("課税売上内軽減8%", "1630", "120", "", "0")]
    assert all(int(row[8]) >= 0 and int(row[14]) >= 0 for row in rows)
    assert {row[19] for row in rows if row[0] != "2000"} == {"3"}
    assert {row[24] for row in rows} == {"no"}
