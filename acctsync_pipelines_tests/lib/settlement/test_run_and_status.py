"""`acctsync run` settles after the sources (same days, same in-process Dagster path); `status` shows it."""

from __future__ import annotations

import datetime as dt

from acctsync_pipelines.cli import main
from acctsync_pipelines_tests.lib.settlement.scenario import CARD, card_rule, deposit, sales_day, write_statement

D = dt.date


def test_run_all_settles_the_same_days_after_the_sources_and_names_a_failed_day(home, capsys):
    home.configure({"sources": {"stores": {"enabled": False}, "amazon_business": {"enabled": False}},
                    "settlement": {"start_date": "2025-06-01", "rules": [card_rule()]}})
    for day in range(2, 6):
        sales_day(home, D(2025, 6, day), {"クレジット": 1000 * day})
    write_statement(home, "202506.csv", [
        deposit(D(2025, 6, 4), "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 2000),            # 06-02's card sales, two days later
        deposit(D(2025, 6, 5), "ﾌﾘｺﾐ ﾔﾏﾀﾞ", 700),                    # pays no sale
        ("2025/06/05", "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", "3,0O0", "", "1,000,000"),  # a letter O: 06-05 cannot be read
    ])

    code = main(["run", "--source", "all", "--start", "2025-06-02", "--end", "2025-06-05"])
    out, err = capsys.readouterr()
    assert code == 1
    progress = [line for line in out.splitlines() if line.startswith("[")]
    assert [line.split("  ")[0] for line in progress] == [
        *(f"[{n}/8] usen_reji 2025-06-0{n + 1}" for n in range(1, 5)),
        *(f"[{n}/8] settlement 2025-06-0{n - 3}" for n in range(5, 9))]
    assert "[7/8] settlement 2025-06-04  ok  documents 1 (deposits: matched 1)  journal lines 2" in out
    assert ("[8/8] settlement 2025-06-05  FAILED  settlement 2025-06-05: the bank statement cannot be read; "
            "nothing of this day is settled") in out
    assert "Summary: 7 day(s) ok, 1 failed" in out
    assert "- settlement 2025-06-05:" in err
    assert "settlement 2025-06-05: the bank statement cannot be read" in err
    assert "inbox/bank/202506.csv: row 4: column お預入れ: value '3,0O0'" in err
    assert home.query("SELECT value_date, amount, status FROM ledger.deposit_matches") == [
        (D(2025, 6, 4), 2000, "matched")]
    assert [p.name for p in home.export_files() if p.name.startswith("settlement")] == [
        "settlement_20250604_001.csv"]

    # the bad line fixed: settlement alone, for the failed day
    write_statement(home, "202506.csv", [
        deposit(D(2025, 6, 4), "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 2000), deposit(D(2025, 6, 5), "ﾌﾘｺﾐ ﾔﾏﾀﾞ", 700),
        deposit(D(2025, 6, 5), "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", 3000)])
    assert main(["run", "--source", "settlement", "--start", "2025-06-05", "--end", "2025-06-05"]) == 0
    out, _ = capsys.readouterr()
    assert "[1/1] settlement 2025-06-05  ok  documents 2 (deposits: matched 1, unmatched 1)" in out
    assert home.query("SELECT sale_date, remaining FROM reports.open_receivables WHERE sub_account = ? "
                      "ORDER BY sale_date", [CARD]) == [
        (D(2025, 6, 2), 0), (D(2025, 6, 3), 0), (D(2025, 6, 4), 4000), (D(2025, 6, 5), 5000)]

    assert main(["status"]) == 0
    out, _ = capsys.readouterr()
    assert ("Settlement: 1 bank statement file(s), 2025-06-04..2025-06-05; "
            "deposits booked 0, matched 2, partial 0, review 0, unmatched 1") in out
    assert "unmatched deposits: 1 (700 yen)" in out
    assert f"{CARD}: 9,000 yen in 1 store(s) since 2025-06-04" in out


def test_settlement_days_are_checked_and_skipped_without_a_bank_statement(home, capsys):
    home.configure({"sources": {"stores": {"enabled": False}, "amazon_business": {"enabled": False}},
                    "settlement": {"start_date": "2025-06-03"}})
    assert main(["run", "--source", "settlement", "--start", "2025-06-02", "--end", "2025-06-03"]) == 2
    assert "--start 2025-06-02 is before settlement.start_date (2025-06-03)" in capsys.readouterr().err
    sales_day(home, D(2025, 6, 2), {"クレジット": 1000})
    assert main(["run", "--source", "all", "--start", "2025-06-02", "--end", "2025-06-02"]) == 0
    out, _ = capsys.readouterr()
    assert "(settlement: no bank statements in inbox/bank/; skipped)" in out
    assert "[1/1] usen_reji 2025-06-02  ok" in out
    home.configure({"settlement": {"enabled": False}})
    assert main(["run", "--source", "settlement", "--start", "2025-06-02", "--end", "2025-06-02"]) == 2
    assert "settlement is turned off (settlement.enabled: false)" in capsys.readouterr().err
