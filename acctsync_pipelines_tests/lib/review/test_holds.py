"""Non-blocking checks (Source.review_checks): a failure holds entries for review instead of failing the day."""

from __future__ import annotations

from acctsync_pipelines.cli import main
from acctsync_pipelines.lib.sources import DayCheck
from acctsync_pipelines.lib.usen_reji.source import UsenReji
from acctsync_pipelines_tests.lib.review.days import DAY1, DAY2, cash_entry, journal, postings, write_day

BIG_CASH_OUT = DayCheck("big_cash_out", "出金 up to 3,000 yen", __file__, "check_big_cash_out.sql")
NO_FARES = DayCheck("no_fares", "no 交通費", __file__, "check_no_fares.sql")


def statuses(home, day) -> dict[str, set[str]]:
    rows = home.query("SELECT entry_id, status FROM ledger.journal_lines WHERE business_date = ?", [day])
    found: dict[str, set[str]] = {}
    for entry_id, status in rows:
        found.setdefault(entry_id, set()).add(status)
    return found


def test_a_failed_review_check_holds_entries_until_approved(home, capsys, monkeypatch):
    monkeypatch.setattr(UsenReji, "review_checks", (BIG_CASH_OUT, NO_FARES))
    inbox = home.inbox("usen_reji")
    write_day(inbox, DAY1, [("出金", "仕入代金", 3240), ("出金", "消耗品", 500)])
    write_day(inbox, DAY2, [("出金", "交通費", 420)])
    assert home.materialize("usen_reji", DAY1, DAY2).success  # non-blocking: the days succeed

    big, small = cash_entry(DAY1, "001"), cash_entry(DAY1, "002")
    assert statuses(home, DAY1) == {big: {"needs_review"}, small: {"posted"},
                                    f"usen_reji:0001:{DAY1}:sales": {"posted"}}
    reason = "day check big_cash_out failed (出金 up to 3,000 yen): 1 finding(s)"
    assert home.query("SELECT line_no, review_reason FROM ledger.journal_lines WHERE entry_id = ? ORDER BY 1",
                      [big]) == [(1, reason), (2, None)]
    # a check about the whole day holds every entry of it
    assert set().union(*statuses(home, DAY2).values()) == {"needs_review"}

    # correcting a line does not lift the hold: the check still fails for the entry
    assert main(["review", "set-account", big, "1", "仕入高", "--sub-account", "牛乳"]) == 0
    assert f"{big} still waits: line 1 {reason}" in capsys.readouterr().out
    assert journal(home, big)[0][2:4] == ("仕入高", "牛乳")

    assert main(["review", "approve", big]) == 0
    assert home.materialize("usen_reji", DAY1).success
    assert postings(home, big) == [("post", 1)]
    assert statuses(home, DAY1)[big] == {"posted"}
    assert set().union(*statuses(home, DAY2).values()) == {"needs_review"}
