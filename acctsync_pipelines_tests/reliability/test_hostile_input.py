"""Hostile inbox: every broken bundle fails only its own day, with a message naming file, row, column
and value; nothing of it is booked or posted; the good days around it keep exactly what they had.

All cases sit in one inbox, each on its own business day, between good days; they run through the real
Dagster job as ranges (fast) and, under ACCTSYNC_RELIABILITY=full, also one day per run.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest

from acctsync_pipelines_tests.conftest import Home, failure_text, module_home
from acctsync_pipelines_tests.lib.usen_reji.bundles import write
from acctsync_pipelines_tests.reliability.conftest import FULL
from acctsync_pipelines_tests.reliability.hostile_cases import CASES, good_day, write_case

FIRST_CASE_DAY = dt.date(2025, 3, 2)
CASE_DAYS = {case.name: FIRST_CASE_DAY + dt.timedelta(days=i) for i, case in enumerate(CASES)}
GOOD_BEFORE = FIRST_CASE_DAY - dt.timedelta(days=1)
GOOD_AFTER = FIRST_CASE_DAY + dt.timedelta(days=len(CASES))
MAX_DAYS_PER_RUN = 31


def _ledger_snapshot(home: Home) -> dict:
    return {
        "postings": home.query("SELECT target, entry_id, action, content_hash, batch_id, action_seq "
                               "FROM ledger.postings ORDER BY ALL"),
        "posted_lines": home.query("SELECT * FROM ledger.posted_lines ORDER BY ALL"),
        "journal": home.query("SELECT * FROM ledger.journal_entry_lines WHERE business_date IN (?, ?) ORDER BY ALL",
                              [GOOD_BEFORE, GOOD_AFTER]),
        "exports": {p.name: p.read_bytes() for p in home.export_files()},
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    with module_home(tmp_path_factory, "hostile") as home:
        inbox = home.inbox("usen_reji")
        for day in (GOOD_BEFORE, GOOD_AFTER):
            write(inbox, good_day(day))
        assert home.materialize("usen_reji", GOOD_BEFORE).success
        assert home.materialize("usen_reji", GOOD_AFTER).success
        before = _ledger_snapshot(home)

        for case in CASES:
            write_case(inbox, case, CASE_DAYS[case.name])
        started = time.monotonic()
        texts = []
        days = sorted(CASE_DAYS.values())
        for start in range(0, len(days), MAX_DAYS_PER_RUN):
            chunk = days[start:start + MAX_DAYS_PER_RUN]
            result = home.materialize("usen_reji", chunk[0], chunk[-1])
            assert not result.success
            texts.append(failure_text(result))
        seconds = time.monotonic() - started
        errors = dict(home.query("SELECT business_date, message FROM ops.day_errors WHERE source = 'usen_reji'"))
        yield {"home": home, "before": before, "errors": errors, "failure_text": "\n".join(texts),
               "seconds": seconds}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_hostile_case_fails_its_day_naming_file_row_column_value(hostile, case):
    home: Home = hostile["home"]
    day = CASE_DAYS[case.name]
    message = hostile["errors"].get(day)
    assert message is not None, f"{case.name}: day {day} did not fail"
    folder = f"inbox/usen_reji/0001_{day:%Y%m%d}_1/"
    for expected in case.expect:
        assert folder + expected in message, message
    assert f"{day}: " in hostile["failure_text"]  # the run's failure lists the day too
    assert home.query("SELECT count(*) FROM ledger.journal_entry_lines WHERE business_date = ?", [day]) == [(0,)]
    assert home.query("SELECT count(*) FROM ledger.postings WHERE business_date = ?", [day]) == [(0,)]
    assert not list(home.exports().glob(f"usen_reji_{day:%Y%m%d}_*"))
    if FULL:  # the day on its own fails the same way
        result = home.materialize("usen_reji", day)
        assert not result.success
        assert all(folder + expected in failure_text(result) for expected in case.expect)


def test_hostile_days_leave_the_good_days_untouched(hostile, figures):
    home: Home = hostile["home"]
    assert _ledger_snapshot(home) == hostile["before"]
    # and the good days still run, posting nothing new
    assert home.materialize("usen_reji", GOOD_AFTER).success
    assert _ledger_snapshot(home) == hostile["before"]
    failed = [day for day in CASE_DAYS.values() if day in hostile["errors"]]
    figures.add("hostile input", "cases refused with file/row/column/value", f"{len(failed)}/{len(CASES)}",
                f"{len(CASES)}/{len(CASES)}")
    figures.add("hostile input", "entries posted from hostile days", 0, 0)
    figures.add("hostile input", "good days changed", 0, 0)
    figures.add("hostile input", "seconds for all hostile days (ranges)", f"{hostile['seconds']:.1f}")
    assert len(failed) == len(CASES)


def test_hostile_names_and_links_are_never_read(home, tmp_path, figures):
    """Entries that are not bundles, or lead outside the inbox, are ignored: the day books its real bundle only."""
    day = dt.date(2025, 6, 10)
    inbox = home.inbox("usen_reji")
    write(inbox, good_day(day))
    outside = tmp_path / "outside"
    outside.mkdir()
    foreign = write(outside, good_day(day), close_seq=9)  # would win as the latest close if it were read
    os.symlink(foreign, inbox / "0001_20250610_5")
    os.symlink(outside, inbox / "..0001_20250610_6")
    (inbox / "0001_20250610_7..").mkdir()
    (inbox / "0001_20241231_1").mkdir()  # before the partitions start: no run ever reads it
    write(inbox, good_day(dt.date(2024, 12, 31)))
    result = home.materialize("usen_reji", day)
    assert result.success, failure_text(result)
    assert home.query("SELECT bundle_id FROM raw.usen_reji_bundles") == [("0001_20250610_1",)]
    assert [p.name for p in home.export_files()] == ["usen_reji_20250610_001.csv"]
    figures.add("hostile input", "symlinked/`..`/pre-start bundles read", 0, 0)


def test_a_file_replaced_while_being_read_books_one_version_or_refuses(home, figures):
    """A writer keeps swapping the bundle's files between two consistent versions during runs. Whatever a
    run reads, it books one version whole or refuses the day; it never books a mix."""
    day = dt.date(2025, 6, 11)
    inbox = home.inbox("usen_reji")
    folder = write(inbox, good_day(day))
    versions = {}
    for amount in (1100, 2200):
        sd = good_day(day)
        sd.slips[0].lines[0][4] = sd.slips[0].lines[0][7] = amount
        sd.slips[0].payments[0][2] = amount
        other = write(inbox.parent / f"v{amount}", sd)
        versions[amount] = {name: (other / name).read_bytes() for name in ("close.csv", "slips.csv", "payments.csv")}
    stop = threading.Event()

    def swap() -> None:
        turn = 0
        while not stop.is_set():
            for name, data in versions[(1100, 2200)[turn % 2]].items():
                temporary = folder / f".{name}.tmp"
                temporary.write_bytes(data)
                os.replace(temporary, folder / name)
            turn += 1

    writer = threading.Thread(target=swap, daemon=True)
    writer.start()
    outcomes = {"booked": 0, "refused": 0}
    try:
        for _ in range(3 if not FULL else 10):
            result = home.materialize("usen_reji", day)
            outcomes["booked" if result.success else "refused"] += 1
            cash = home.query("SELECT coalesce(sum(amount), 0) FROM ledger.posted_lines WHERE account = '現金' "
                              "AND side = 'debit' AND action = 'post' AND action_seq = (SELECT max(action_seq) "
                              "FROM ledger.postings p WHERE p.entry_id = posted_lines.entry_id AND action = 'post')")
            assert cash[0][0] in (0, 1100, 2200), cash
    finally:
        stop.set()
        writer.join()
    # net posted per entry: one version whole
    net = home.query("SELECT account, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) FROM ledger.posted_lines "
                     "WHERE account IN ('現金', '売上高') GROUP BY account ORDER BY account")
    cash, sales = dict(net).get("現金", 0), dict(net).get("売上高", 0)
    assert cash in (0, 1100, 2200)
    assert sales == (0 if cash == 0 else -(cash + 540))  # the sales entry of the same version
    figures.add("hostile input", "runs while files were replaced (booked/refused)",
                f"{outcomes['booked']}/{outcomes['refused']}", "no mixed version")
