"""Posting a window to yayoi_csv: one batch and file per day, the same as day by day; a file a crash left
missing is written again, whichever day is posted next; the log is read for the window's days only, which
holds because all actions of an entry are on one day (a second day's first action is refused)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.posting import post_day, post_window
from acctsync_pipelines.lib.targets import yayoi_csv
from acctsync_pipelines.lib.targets.yayoi_csv import YayoiCsvTarget
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.reliability.test_posting_properties import write_version

START = dt.date(2025, 6, 2)
DAYS = [START + dt.timedelta(days=i) for i in range(5)]
PAIR = (("現金", ""), ("売上高", ""))


def version(day: dt.date, changed: bool = False) -> dict:
    amount = 100 * day.day + (7 if changed else 0)
    entries = {f"e{n}": ([(*PAIR, amount + n)], "ready") for n in range(3)}
    entries["split"] = ([(*PAIR, amount), (("売掛金", "カード"), ("売上高", ""), 50)], "ready")
    return entries


def seed(conn, changed_day: dt.date | None = None) -> None:
    for day in DAYS:
        write_version(conn, version(day, day == changed_day), day)


def files(home) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((home / "exports" / "yayoi").glob("*"))}


def ledger(conn) -> list[tuple]:
    return conn.execute("SELECT target, source, business_date, entry_id, action, content_hash, batch_id, action_seq "
                        "FROM ledger.postings ORDER BY ALL").fetchall()


def test_a_window_posts_and_reverses_what_day_by_day_does(tmp_path):
    settings = load_settings()
    by_window, by_day = tmp_path / "window", tmp_path / "day"
    for home in (by_window, by_day):
        with Warehouse(home / "warehouse.duckdb").connect() as conn:
            seed(conn)
            for changed in (None, DAYS[2]):  # then one day changes: its entries are reversed and posted again
                seed(conn, changed)
                if home == by_window:
                    results = post_window(conn, settings, home, "usen_reji", DAYS, "yayoi_csv")
                    assert [r.batch_id is not None for r in results.values()] == [changed is None or d == changed
                                                                                  for d in DAYS]
                else:
                    for day in DAYS:
                        post_day(conn, settings, home, "usen_reji", day, "yayoi_csv")
            if home == by_window:
                window_ledger = ledger(conn)
            else:
                day_ledger = ledger(conn)
    assert window_ledger == day_ledger
    assert [r[4] for r in window_ledger].count("reverse") == 4  # the changed day's four entries
    assert files(by_window) == files(by_day)
    assert len(files(by_window)) == len(DAYS) + 1  # one batch a day, the changed day a second one
    second = files(by_window)[f"usen_reji_{DAYS[2]:%Y%m%d}_002.csv"].decode("cp932")
    # four reversals then four posts: three one-row entries and a 振替伝票 of four rows each time
    assert second.count("取消: ") == 7 and second.count("\r\n") == 7 + 7


def test_files_a_crash_left_missing_are_written_by_the_next_post_of_any_day(tmp_path, monkeypatch):
    settings = load_settings()
    monkeypatch.setattr(yayoi_csv, "RECOVER_CHUNK", 2)  # several renders of a few batches each
    with Warehouse(tmp_path / "warehouse.duckdb").connect() as conn:
        seed(conn)
        post_window(conn, settings, tmp_path, "usen_reji", DAYS, "yayoi_csv")
        written = files(tmp_path)
        folder = tmp_path / "exports" / "yayoi"
        for name in list(written)[1:]:
            (folder / name).unlink()
        (folder / f".{list(written)[3]}.partial").write_bytes(b"2000,half a ro")  # a crash during a write
        # nothing new to post on the first day; the other days' files come back, byte for byte
        assert post_day(conn, settings, tmp_path, "usen_reji", DAYS[0], "yayoi_csv").batch_id is None
        assert files(tmp_path) == written
        assert YayoiCsvTarget(settings, tmp_path).recover(conn, "usen_reji") == []
        assert YayoiCsvTarget(settings, tmp_path).recover(conn, "stores") == []


def test_an_entry_moved_to_another_day_posts_there_only_after_its_old_day_takes_it_back(tmp_path):
    """A source may move an entry to another day (a STORES remittance with a new transfer date). Posted on its
    old day, it is refused on the new one, naming the old day, until that day is re-run and reverses it;
    then the new day posts it, its actions numbered on from the old day's (one posting history)."""
    settings = load_settings()
    with Warehouse(tmp_path / "warehouse.duckdb").connect() as conn:
        write_version(conn, {"e1": ([(*PAIR, 100)], "ready")}, DAYS[0])
        post_day(conn, settings, tmp_path, "usen_reji", DAYS[0], "yayoi_csv")
        before = ledger(conn)
        (entry,) = {row[3] for row in before}
        # the same entry id on another day (write_version names entries by day, so move the row by hand)
        conn.execute("UPDATE ledger.journal_entry_lines SET business_date = ?", [DAYS[1]])
        with pytest.raises(PostingError) as refused:
            post_window(conn, settings, tmp_path, "usen_reji", DAYS[1:3], "yayoi_csv")
        assert str(refused.value) == (
            f"{DAYS[1]}: entry {entry} is still posted to yayoi_csv on {DAYS[0]}, and its source now books it on "
            f"{DAYS[1]}. Re-run {DAYS[0]} first: that takes it back there; then this day posts it "
            "(nothing is posted twice).")
        assert ledger(conn) == before  # nothing claimed
        # its own day takes it back; then the new day posts it, numbered after the old day's actions
        assert post_day(conn, settings, tmp_path, "usen_reji", DAYS[0], "yayoi_csv").reversals == 1
        assert post_window(conn, settings, tmp_path, "usen_reji", DAYS[1:3], "yayoi_csv")[DAYS[1]].posts == 1
        assert sorted((seq, day, action) for _, _, day, _, action, _, _, seq in ledger(conn)) == [
            (1, DAYS[0], "post"), (2, DAYS[0], "reverse"), (3, DAYS[1], "post")]
        # both days in one window: the reversal and the new post are claimed together
        conn.execute("UPDATE ledger.journal_entry_lines SET business_date = ?", [DAYS[0]])
        results = post_window(conn, settings, tmp_path, "usen_reji", DAYS[0:2], "yayoi_csv")
        assert (results[DAYS[0]].posts, results[DAYS[1]].reversals) == (1, 1)
        assert sorted((seq, day, action) for _, _, day, _, action, _, _, seq in ledger(conn))[3:] == [
            (4, DAYS[1], "reverse"), (5, DAYS[0], "post")]
