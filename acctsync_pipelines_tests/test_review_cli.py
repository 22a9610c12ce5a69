"""`acctsync review …` end to end: real USEN days through Dagster, the CLI in process, the real warehouse."""

from __future__ import annotations

import csv
import io

import pytest

from acctsync_pipelines.cli import main
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.review.days import (
    DAY1, DAY2, cash_entry, journal, postings, warehouse_state, write_day,
)

FLOWERS = ("出金", "花代", 2200)  # no cash movement rule in the defaults: 仮払金, waits for review
SUPPLIES = ("出金", "雑貨", 1100)


def review(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["review", *args])
    out, err = capsys.readouterr()
    return code, out, err


def yayoi_rows(home) -> list[list[str]]:
    rows = []
    for path in home.export_files():
        rows += list(csv.reader(io.StringIO(path.read_bytes().decode("cp932"), newline="")))
    return rows


def test_guess_waits_then_approval_posts_it_exactly_once(home, capsys):
    write_day(home.inbox("usen_reji"), DAY1, [FLOWERS])
    entry = cash_entry(DAY1)
    assert home.materialize("usen_reji", DAY1).success
    assert [r[-1] for r in journal(home, entry)] == ["needs_review", "needs_review"]
    assert postings(home, entry) == []
    assert not any(entry in row[21] for row in yayoi_rows(home))

    code, out, _ = review(capsys, "list")
    assert code == 0
    waiting = next(line for line in out.splitlines() if entry in line)
    for shown in ("2,200", "仮払金", "out_of_scope", "cash_rule:default", "0.00", "no cash movement rule for 出金 reason '花代'"):
        assert shown in waiting

    code, out, _ = review(capsys, "approve", entry)
    assert code == 0
    assert f"approved {entry}" in out
    assert f"acctsync run --source usen_reji --start {DAY1} --end {DAY1}" in out
    assert [r[-1] for r in journal(home, entry)] == ["approved", "approved"]
    assert postings(home, entry) == []  # approval alone sends nothing

    code, out, _ = review(capsys, "list", "--status", "approved")
    assert code == 0 and entry in out

    assert home.materialize("usen_reji", DAY1).success
    assert postings(home, entry) == [("post", 1)]
    assert [r[-1] for r in journal(home, entry)] == ["posted", "posted"]
    entry_rows = [row for row in yayoi_rows(home) if entry in row[21]]
    assert [(row[4], row[8], row[10], row[14], row[22]) for row in entry_rows] == [("仮払金", "2200", "現金", "2200", "1")]

    files = home.export_files()
    assert home.materialize("usen_reji", DAY1).success
    assert postings(home, entry) == [("post", 1)]
    assert home.export_files() == files
    code, out, _ = review(capsys, "approve", entry)
    assert code == 0 and "already posted" in out


def test_approve_matching_with_post_runs_the_day(home, capsys):
    write_day(home.inbox("usen_reji"), DAY1, [FLOWERS, SUPPLIES, ("出金", "交通費", 420)])
    assert home.materialize("usen_reji", DAY1).success
    flowers, supplies, fares = (cash_entry(DAY1, n) for n in ("001", "002", "003"))
    assert journal(home, fares)[0][-1] == "posted"  # a configured rule: never waited

    code, _, err = review(capsys, "approve", "--matching", "colour=red")
    assert code == 2 and "FIELD=PATTERN" in err
    code, _, err = review(capsys, "approve", "--matching", "description=*盆栽*")
    assert code == 2 and "no waiting line matches" in err

    code, out, _ = review(capsys, "approve", "--matching", "description=*花代*", "--post")
    assert code == 0
    assert f"approved {flowers}" in out and supplies not in out
    assert f"usen_reji {DAY1}  ok" in out
    assert postings(home, flowers) == [("post", 1)]
    assert postings(home, supplies) == []
    assert journal(home, supplies)[0][-1] == "needs_review"


def test_remember_maps_the_next_days_line_by_the_learned_rule(home, capsys):
    inbox = home.inbox("usen_reji")
    write_day(inbox, DAY1, [FLOWERS])
    write_day(inbox, DAY2, [("出金", "花代", 3300)])
    assert home.materialize("usen_reji", DAY1).success
    first, second = cash_entry(DAY1), cash_entry(DAY2)

    code, out, _ = review(capsys, "set-account", first, "1", "消耗品費", "--remember")
    assert code == 0, out
    (rule_id, key_kind, key_value, account, tax, learned_from), = home.query(
        "SELECT rule_id, key_kind, key_value, account, tax_category, created_from FROM ledger.learned_rules")
    assert (key_kind, key_value, account, tax, learned_from) == ("cash_reason", "出金/花代", "消耗品費", "purchase_10",
                                                                  f"{first}#1")
    assert f"learned {rule_id}" in out and f"{first} no longer waits" in out
    # the account's usual tax category comes from the configured 消耗品 rule: purchase_10, tax once on the line
    assert journal(home, first) == [
        (1, "debit", "消耗品費", "", "purchase_10", 2200, 200, f"learned:{rule_id}", "ready"),
        (2, "credit", "現金", "", "out_of_scope", 2200, 0, "cash_movement:出金", "ready"),
    ]

    assert home.materialize("usen_reji", DAY1).success
    assert postings(home, first) == [("post", 1)]
    assert home.materialize("usen_reji", DAY2).success
    assert journal(home, second) == [
        (1, "debit", "消耗品費", "", "purchase_10", 3300, 300, f"learned:{rule_id}", "posted"),
        (2, "credit", "現金", "", "out_of_scope", 3300, 0, "cash_movement:出金", "posted"),
    ]
    assert home.query("SELECT confidence FROM ledger.journal_lines WHERE entry_id = ? AND line_no = 1",
                      [second]) == [(1.0,)]

    code, out, _ = review(capsys, "rules")
    assert code == 0
    assert rule_id in out and "出金/花代" in out and "消耗品費" in out
    # re-running both days sends nothing: the learned decision is stable
    assert home.materialize("usen_reji", DAY1, DAY2).success
    assert postings(home, first) == [("post", 1)] and postings(home, second) == [("post", 1)]


def test_export_fill_in_import_round_trip(home, capsys, tmp_path):
    write_day(home.inbox("usen_reji"), DAY1, [FLOWERS, SUPPLIES])
    assert home.materialize("usen_reji", DAY1).success
    flowers, supplies = cash_entry(DAY1, "001"), cash_entry(DAY1, "002")
    sheet = tmp_path / "queue.csv"

    code, out, _ = review(capsys, "export", "--csv", str(sheet))
    assert code == 0 and "wrote 2 waiting line(s)" in out
    raw = sheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [(r["entry_id"], r["line_no"], r["account"], r["rule"], r["confidence"], r["set_account"]) for r in rows] == [
        (flowers, "1", "仮払金", "cash_rule:default", "0.00", ""),
        (supplies, "1", "仮払金", "cash_rule:default", "0.00", ""),
    ]

    # the accountant corrects one line, approves the other, and saves from Excel as CP932
    rows[0].update(set_account="消耗品費", set_sub_account="店舗装飾", remember="yes")
    rows[1].update(approve="はい")
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    sheet.write_bytes(buffer.getvalue().encode("cp932"))

    code, out, err = review(capsys, "import", "--csv", str(sheet))
    assert code == 0, err
    assert f"approved {supplies}" in out
    (rule_id,), = home.query("SELECT rule_id FROM ledger.learned_rules WHERE key_value = '出金/花代'")
    assert journal(home, flowers)[0][2:8] == ("消耗品費", "店舗装飾", "purchase_10", 2200, 200, f"learned:{rule_id}")
    assert [r[-1] for r in journal(home, supplies)] == ["approved", "approved"]

    code, _, err = review(capsys, "import", "--csv", str(sheet))  # the same sheet again: its entries changed
    assert code == 2 and "changed since the export" in err

    assert home.materialize("usen_reji", DAY1).success
    assert postings(home, flowers) == [("post", 1)] and postings(home, supplies) == [("post", 1)]
    code, out, _ = review(capsys, "list")
    assert "Nothing waits for review." in out


@pytest.fixture
def waiting_day(home):
    write_day(home.inbox("usen_reji"), DAY1, [FLOWERS])
    assert home.materialize("usen_reji", DAY1).success
    return cash_entry(DAY1)


BAD_INPUT = [
    (["approve", "usen_reji:0001:2025-06-02:cash:099"],
     "unknown entry 'usen_reji:0001:2025-06-02:cash:099': it is not in the journal; did you mean "
     "usen_reji:0001:2025-06-02:cash:001?"),
    (["set-account", "nope:1", "1", "消耗品費"], "unknown entry 'nope:1'"),
    (["set-account", "{entry}", "7", "消耗品費"], "entry {entry} has no line 7 (its lines: 1, 2)"),
    (["set-account", "{entry}", "1", "消耗品"],
     "unknown account '消耗品': not in the configuration nor in the journal's history. Did you mean 消耗品費? "
     "If it is an account of your chart that acctsync has not used yet, repeat with --new-account"),
    (["set-account", "{entry}", "2", "普通預金", "--remember"],
     "cannot remember a rule from {entry} line 2: its account comes from the configuration (accounts.cash)"),
    (["set-account", "usen_reji:0001:2025-06-02:sales", "1", "売掛金", "--remember"],
     "its account comes from the configuration (sources.usen_reji.tenders: 現金); change it there"),
    (["forget", "L9999"], "unknown rule 'L9999'; learned rules: none yet"),
]


def test_bad_input_is_refused_and_changes_nothing(home, capsys, waiting_day):
    before = warehouse_state(home)
    for args, message in BAD_INPUT:
        code, _, err = review(capsys, *[a.format(entry=waiting_day) for a in args])
        assert (code, message.format(entry=waiting_day) in err) == (2, True), (args, err)
        assert warehouse_state(home) == before, args


def test_a_malformed_csv_row_is_named_and_nothing_is_applied(home, capsys, tmp_path, waiting_day):
    sheet = tmp_path / "queue.csv"
    assert review(capsys, "export", "--csv", str(sheet))[0] == 0
    (row,) = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8-sig"), newline="")))
    good = dict(row, set_account="消耗品費")
    bad_flag = dict(row, approve="maybe")
    bad_line = dict(row, line_no="one")
    unknown_account = dict(row, set_account="花")
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows([good, bad_flag, bad_line])
    sheet.write_text(buffer.getvalue(), encoding="utf-8")
    before = warehouse_state(home)

    code, _, err = review(capsys, "import", "--csv", str(sheet))
    assert code == 2
    assert "queue.csv: row 3: column approve: value 'maybe': write yes or leave it empty" in err
    assert "queue.csv: row 4: column line_no: value 'one': not a line number" in err
    assert warehouse_state(home) == before

    writer = csv.DictWriter(buffer := io.StringIO(newline=""), fieldnames=list(row), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows([good, unknown_account])
    sheet.write_text(buffer.getvalue(), encoding="utf-8")
    code, _, err = review(capsys, "import", "--csv", str(sheet))
    assert code == 2
    assert "queue.csv: row 3: unknown account '花'" in err
    assert warehouse_state(home) == before

    sheet.write_text("entry_id,line_no\r\nx,1\r\n", encoding="utf-8")
    code, _, err = review(capsys, "import", "--csv", str(sheet))
    assert code == 2 and "queue.csv: row 1: missing column(s) entry_hash, set_account" in err
    assert warehouse_state(home) == before


def test_list_narrows_by_source_days_and_filter(home, capsys):
    inbox = home.inbox("usen_reji")
    write_day(inbox, DAY1, [FLOWERS])
    write_day(inbox, DAY2, [SUPPLIES])
    assert home.materialize("usen_reji", DAY1, DAY2).success
    first, second = cash_entry(DAY1), cash_entry(DAY2)

    def listed(*args: str) -> set[str]:
        code, out, err = review(capsys, "list", *args)
        assert code == 0, err
        return {entry for entry in (first, second) if entry in out}

    assert listed() == {first, second}
    assert listed("--start", str(DAY2)) == {second}
    assert listed("--end", str(DAY1)) == {first}
    assert listed("--source", "usen_reji", "--matching", "reason=*雑貨*") == {second}
    code, out, _ = review(capsys, "list", "--source", "stores")
    assert code == 0 and out.startswith("Nothing waits for review.")
    with pytest.raises(SystemExit) as exited:  # argparse refuses it
        main(["review", "list", "--start", "2025-13-01"])
    assert exited.value.code == 2 and "not a date (YYYY-MM-DD): '2025-13-01'" in capsys.readouterr().err


def test_the_yayoi_sticky_note_on_guessed_entries_is_configurable(home, capsys):
    home.configure({"targets": {"yayoi_csv": {"guessed_sticky_note": 3}}})
    write_day(home.inbox("usen_reji"), DAY1, [FLOWERS])
    entry = cash_entry(DAY1)
    assert home.materialize("usen_reji", DAY1).success
    code, _, err = review(capsys, "approve", entry, "--post")
    assert code == 0, err
    rows = yayoi_rows(home)
    # 付箋1 (column 23): the approved guess carries the configured note, the day's sales entry none
    assert {row[22] for row in rows if entry in row[21]} == {"3"}
    assert {row[22] for row in rows if entry not in row[21]} == {"0"}

    home.configure({"targets": {"yayoi_csv": {"guessed_sticky_note": 0}}})
    write_day(home.inbox("usen_reji"), DAY2, [FLOWERS])
    assert home.materialize("usen_reji", DAY2).success
    later = cash_entry(DAY2)
    assert review(capsys, "approve", later, "--post")[0] == 0
    assert {row[22] for row in yayoi_rows(home) if later in row[21]} == {"0"}


def test_an_import_row_naming_an_unknown_entry_changes_nothing(home, capsys, tmp_path, waiting_day):
    sheet = tmp_path / "queue.csv"
    assert review(capsys, "export", "--csv", str(sheet))[0] == 0
    (row,) = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8-sig"), newline="")))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(row), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows([dict(row, approve="yes"), dict(row, entry_id="usen_reji:0001:2025-06-02:cash:404", approve="yes")])
    sheet.write_text(buffer.getvalue(), encoding="utf-8")
    before = warehouse_state(home)
    code, _, err = review(capsys, "import", "--csv", str(sheet))
    assert code == 2
    assert ("queue.csv: row 3: column entry_id: value 'usen_reji:0001:2025-06-02:cash:404': "
            "no such entry in the journal") in err
    assert warehouse_state(home) == before


def test_correcting_a_sales_line_keeps_its_day_and_its_checks_green(home, capsys):
    """The checks that compare the journal with the close find sales lines by the rule the source chose,
    so moving a posted sales line to another account re-posts it instead of failing the day."""
    write_day(home.inbox("usen_reji"), DAY1, [SUPPLIES])
    assert home.materialize("usen_reji", DAY1).success
    [(entry, line_no, amount)] = home.query(
        "SELECT entry_id, line_no, amount FROM ledger.journal_entry_lines WHERE source = 'usen_reji' "
        "AND rule LIKE 'sales_rate:%' ORDER BY entry_id, line_no LIMIT 1")

    code, _, err = review(capsys, "set-account", entry, str(line_no), "雑収入")
    assert code == 0, err
    result = home.materialize("usen_reji", DAY1)
    assert result.success, failure_text(result)
    assert home.query("SELECT account, amount FROM ledger.journal_entry_lines WHERE entry_id = ? AND line_no = ?",
                      [entry, line_no]) == [("雑収入", amount)]
    assert home.query("SELECT count(*) FROM ops.day_errors WHERE source = 'usen_reji'") == [(0,)]
    assert [action for action, _ in postings(home, entry)] == ["post", "reverse", "post"]
