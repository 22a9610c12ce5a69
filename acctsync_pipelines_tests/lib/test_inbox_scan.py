"""The inbox scan behind the inbox sensor, on real USEN close bundles in a temporary inbox."""

import datetime as dt
import json
import os

import pytest

from acctsync_pipelines.lib import inbox_scan
from acctsync_pipelines.lib.sample.usen_reji import generate_days, write_bundle, write_sample
from acctsync_pipelines.lib.usen_reji.source import SOURCE

FIRST = dt.date(2025, 1, 1)
LAST = dt.date(2025, 6, 30)


class Inbox:
    """Scans the way the sensor does, carrying the cursor from one tick to the next."""

    def __init__(self, home, first=FIRST, last=LAST, **options):
        self.home, self.first, self.last, self.options = home, first, last, options
        self.cursor = None

    def tick(self) -> inbox_scan.ScanResult:
        result = inbox_scan.scan(self.home.root, {"usen_reji": SOURCE}, self.cursor, {"usen_reji": self.first},
                                 self.last, **self.options)
        self.cursor = result.cursor
        return result

    def settle(self) -> inbox_scan.ScanResult:
        """Two ticks: the first sees the files, the second reads them once their size held."""
        first = self.tick()
        assert first.ranges == []
        return self.tick()


def spans(result):
    return [(r.source, str(r.start), str(r.end)) for r in result.ranges]


def store_day(day: dt.date, store: str = "0001"):
    return next(sd for sd in generate_days(7, day, 1) if sd.store_code == store)


def test_new_bundles_wait_one_tick_then_request_their_days_once(home):
    write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=3)
    inbox = Inbox(home)
    first = inbox.tick()
    assert first.ranges == [] and first.waiting > 0
    second = inbox.tick()
    assert spans(second) == [("usen_reji", "2025-06-01", "2025-06-03")]
    assert second.ranges[0].run_key.startswith("inbox:usen_reji:2025-06-01..2025-06-03:")
    assert "usen_reji/0001_20250601_1/close.csv" in second.ranges[0].files
    assert second.waiting == 0
    third = inbox.tick()
    assert third.ranges == [] and third.waiting == 0
    cursor = json.loads(third.cursor)
    size, mtime_ns, digest = cursor["files"]["usen_reji/0001_20250601_1/close.csv"]
    assert size > 0 and mtime_ns > 0 and len(digest) == 64


def test_consecutive_days_are_split_at_gaps_and_at_the_run_size(home):
    inbox_dir = home.inbox("usen_reji")
    for day in (1, 2, 3, 5, 6):
        write_bundle(inbox_dir, store_day(dt.date(2025, 6, day)), 1)
    result = Inbox(home, max_days_per_run=2).settle()
    assert spans(result) == [("usen_reji", "2025-06-01", "2025-06-02"), ("usen_reji", "2025-06-03", "2025-06-03"),
                             ("usen_reji", "2025-06-05", "2025-06-06")]


def test_bundle_without_close_csv_waits_for_the_marker(home):
    folder = write_bundle(home.inbox("usen_reji"), store_day(dt.date(2025, 6, 2)), 1)
    close = (folder / "close.csv").read_bytes()
    (folder / "close.csv").unlink()
    inbox = Inbox(home)
    result = inbox.settle()
    assert result.ranges == []
    assert any("not (yet) a complete usen_reji input" in note for note in result.notes)
    assert inbox.tick().ranges == []
    (folder / "close.csv").write_bytes(close)
    assert spans(inbox.settle()) == [("usen_reji", "2025-06-02", "2025-06-02")]


def test_a_reclose_runs_its_day_again_under_a_new_run_key(home):
    day = dt.date(2025, 6, 2)
    inbox_dir = home.inbox("usen_reji")
    write_bundle(inbox_dir, store_day(day), 1)
    inbox = Inbox(home)
    (first,) = inbox.settle().ranges
    reclosed = store_day(day)
    reclosed.over_short -= 500
    write_bundle(inbox_dir, reclosed, 2)  # 締め回数 2: a new bundle folder for a day that already ran
    (again,) = inbox.settle().ranges
    assert (again.start, again.end) == (day, day)
    assert again.run_key != first.run_key
    assert all("0001_20250602_2/" in f for f in again.files)


def test_a_file_still_being_written_is_read_once_its_size_holds(home):
    folder = write_bundle(home.inbox("usen_reji"), store_day(dt.date(2025, 6, 2)), 1)
    inbox = Inbox(home)
    inbox.settle()
    payments = folder / "payments.csv"
    with payments.open("ab") as handle:
        handle.write(b"\r\n")
    assert inbox.tick().ranges == []  # changed since the last tick: maybe still being written
    with payments.open("ab") as handle:
        handle.write(b"\r\n")
    result = inbox.tick()
    assert result.ranges == [] and result.waiting == 1
    assert spans(inbox.tick()) == [("usen_reji", "2025-06-02", "2025-06-02")]


def test_a_touched_file_with_the_same_content_is_not_a_change(home):
    folder = write_bundle(home.inbox("usen_reji"), store_day(dt.date(2025, 6, 2)), 1)
    inbox = Inbox(home)
    inbox.settle()
    stat = (folder / "slips.csv").stat()
    os.utime(folder / "slips.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert inbox.settle().ranges == []


def test_symlinks_and_paths_outside_the_inbox_are_ignored(home, tmp_path):
    outside = tmp_path / "outside"
    elsewhere = write_bundle(outside, store_day(dt.date(2025, 6, 10)), 1)
    inbox_dir = home.inbox("usen_reji")
    (inbox_dir / elsewhere.name).symlink_to(elsewhere, target_is_directory=True)
    # A real bundle folder whose close.csv is a symlink to a file outside the inbox.
    partial = write_bundle(inbox_dir, store_day(dt.date(2025, 6, 11)), 1)
    (partial / "close.csv").unlink()
    (partial / "close.csv").symlink_to(elsewhere / "close.csv")
    inbox = Inbox(home)
    result = inbox.settle()
    assert result.ranges == []
    cursor = json.loads(result.cursor)
    assert not any("20250610" in path for path in cursor["files"])
    assert "usen_reji/0001_20250611_1/close.csv" not in cursor["files"]


def test_hidden_and_partial_download_files_are_ignored(home):
    inbox_dir = home.inbox("usen_reji")
    (inbox_dir / ".DS_Store").write_bytes(b"x")
    (inbox_dir / "export.zip.part").write_bytes(b"x")
    result = Inbox(home).settle()
    assert result.ranges == [] and json.loads(result.cursor)["files"] == {}


def test_days_before_the_first_partition_are_ignored_and_future_days_wait(home):
    inbox_dir = home.inbox("usen_reji")
    write_bundle(inbox_dir, store_day(dt.date(2025, 5, 31)), 1)
    write_bundle(inbox_dir, store_day(dt.date(2025, 6, 30)), 1)
    inbox = Inbox(home, first=dt.date(2025, 6, 1), last=dt.date(2025, 6, 29))
    result = inbox.settle()
    assert result.ranges == []
    assert any("2025-05-31 is before usen_reji's first partition 2025-06-01" in note for note in result.notes)
    assert inbox.tick().ranges == []  # 30 June is not a partition yet (today, in Tokyo)
    inbox.last = dt.date(2025, 6, 30)  # the next day
    assert spans(inbox.tick()) == [("usen_reji", "2025-06-30", "2025-06-30")]
    assert inbox.tick().ranges == []


def test_at_most_max_files_are_digested_per_tick(home):
    write_bundle(home.inbox("usen_reji"), store_day(dt.date(2025, 6, 2)), 1)  # four files
    inbox = Inbox(home, max_files=3)
    inbox.tick()
    partial = inbox.tick()
    assert partial.waiting == 1
    assert len(json.loads(partial.cursor)["files"]) == 3
    assert partial.ranges != []  # close.csv sorts first, so the day is already known
    assert inbox.tick().waiting == 0


def test_a_removed_file_requests_nothing(home):
    folder = write_bundle(home.inbox("usen_reji"), store_day(dt.date(2025, 6, 2)), 1)
    inbox = Inbox(home)
    inbox.settle()
    (folder / "cash_movements.csv").unlink()
    result = inbox.settle()
    assert result.ranges == []
    assert "usen_reji/0001_20250602_1/cash_movements.csv" not in json.loads(result.cursor)["files"]


@pytest.mark.parametrize("cursor", ["", "not json", json.dumps({"v": 0}), json.dumps([1, 2])])
def test_an_unreadable_or_old_cursor_starts_afresh(home, cursor):
    write_bundle(home.inbox("usen_reji"), store_day(dt.date(2025, 6, 2)), 1)
    inbox = Inbox(home)
    inbox.cursor = cursor
    assert spans(inbox.settle()) == [("usen_reji", "2025-06-02", "2025-06-02")]


def test_a_scan_whose_time_is_spent_leaves_the_files_for_the_next_one(home):
    write_bundle(home.inbox("usen_reji"), store_day(dt.date(2025, 6, 2)), 1)
    inbox = Inbox(home, max_seconds=-1)  # the budget is spent before the first file
    inbox.tick()
    spent = inbox.tick()
    assert spent.ranges == [] and spent.waiting == 4
    inbox.options = {}
    assert spans(inbox.tick()) == [("usen_reji", "2025-06-02", "2025-06-02")]
