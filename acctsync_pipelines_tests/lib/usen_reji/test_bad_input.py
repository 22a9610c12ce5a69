"""Bad close bundles fail their day with a message naming file, row, column, value and slip."""

import os

import pytest

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.usen_reji.bundles import DAY1, DAY2, event_day, simple_day, write


def replace_in(path, old: str, new: str, encoding="cp932"):
    text = path.read_bytes().decode(encoding)
    assert old in text
    path.write_bytes(text.replace(old, new, 1).encode(encoding))


def assert_nothing_posted(home):
    assert home.export_files() == []
    assert home.query("SELECT count(*) FROM ledger.postings") == [(0,)]


def test_folder_without_close_csv_is_waited_for(home):
    folder = write(home.inbox("usen_reji"), event_day())
    close = (folder / "close.csv").read_bytes()
    (folder / "close.csv").unlink()
    assert home.materialize("usen_reji", DAY1).success
    assert_nothing_posted(home)
    (folder / "close.csv").write_bytes(close)
    assert home.materialize("usen_reji", DAY1).success
    assert len(home.export_files()) == 1


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        ("payments.csv", "B,クレジット,,1080", "B,クレジット,,1000",
         "payments.csv: row 3: column 金額: value '1000': slip B: payments sum to 1000 but the slip's lines sum to 1080"),
        ("payments.csv", "B,クレジット", "B,ツケ払い",
         "payments.csv: row 3: column 支払区分: value 'ツケ払い': slip B: unknown 支払区分"),
        ("slips.csv", ",8,1080,1,0,1080", ",8,1080,1,0,10x0",
         "slips.csv: row 3: column 金額: value '10x0': slip B: not an integer"),
        ("close.csv", "2025-06-02,1,", "2025-13-45,1,",
         "close.csv: row 2: column 営業日: value '2025-13-45': not a date"),
        ("cash_movements.csv", "交通費,420", "交通費,四百",
         "cash_movements.csv: row 3: column 金額: value '四百': not a positive integer amount"),
        ("slips.csv", "B,通常,,2025-06-02 12:00:00", "B,通常,,yesterday noon",
         "slips.csv: row 3: column 発行日時: value 'yesterday noon': slip B: not a timestamp"),
    ],
)
def test_bad_values_fail_the_day_naming_file_row_column_value(home, file, old, new, expected):
    inbox = home.inbox("usen_reji")
    write(inbox, simple_day(DAY2))
    folder = write(inbox, event_day())
    replace_in(folder / file, old, new)
    result = home.materialize("usen_reji", DAY1)
    assert not result.success
    message = failure_text(result)
    assert f"inbox/usen_reji/0001_20250602_1/{expected}" in message
    assert "2025-06-02" in message
    assert_nothing_posted(home)
    # other days are untouched and still book
    assert home.materialize("usen_reji", DAY2).success
    assert [p.name for p in home.export_files()] == ["usen_reji_20250603_001.csv"]


def test_missing_column_names_the_file_and_column(home):
    folder = write(home.inbox("usen_reji"), event_day())
    replace_in(folder / "payments.csv", "支払区分", "支払方法")
    result = home.materialize("usen_reji", DAY1)
    assert not result.success
    assert "inbox/usen_reji/0001_20250602_1/payments.csv: row 1: missing column(s) 支払区分" in failure_text(result)
    assert_nothing_posted(home)


def test_a_bad_reclose_keeps_what_was_posted_and_posts_nothing_new(home):
    inbox = home.inbox("usen_reji")
    write(inbox, event_day(), close_seq=1)
    assert home.materialize("usen_reji", DAY1).success
    journal_before = home.query("SELECT * FROM ledger.journal_entry_lines ORDER BY entry_id, line_no")
    bad = write(inbox, event_day(), close_seq=2)
    replace_in(bad / "payments.csv", "A,現金,,1100", "A,現金,,1000")
    assert not home.materialize("usen_reji", DAY1).success
    assert len(home.export_files()) == 1
    assert home.query("SELECT * FROM ledger.journal_entry_lines ORDER BY entry_id, line_no") == journal_before
    (error,) = home.query("SELECT stage, message FROM ops.day_errors")
    assert error[0] == "raw_orders" and "slip A" in error[1]


def test_symlinks_and_foreign_folders_are_ignored(home, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    real = write(outside, event_day())
    inbox = home.inbox("usen_reji")
    os.symlink(real, inbox / real.name)  # a bundle folder that is a symlink
    (inbox / "notes").mkdir()  # not a bundle name
    (inbox / "0001_20250602_x").mkdir()  # malformed close sequence
    assert home.materialize("usen_reji", DAY1).success
    assert_nothing_posted(home)
    assert home.query("SELECT count(*) FROM raw.usen_reji_bundles") == [(0,)]


def test_symlinked_file_inside_a_bundle_is_not_read(home, tmp_path):
    folder = write(home.inbox("usen_reji"), event_day())
    secret = tmp_path / "elsewhere.csv"
    secret.write_bytes((folder / "slips.csv").read_bytes())
    (folder / "slips.csv").unlink()
    os.symlink(secret, folder / "slips.csv")
    result = home.materialize("usen_reji", DAY1)
    assert not result.success
    assert "missing file slips.csv" in failure_text(result)


def test_blocking_check_stops_posting_when_cash_disagrees_with_the_close(home):
    folder = write(home.inbox("usen_reji"), event_day())
    # 理論現金在高 that the payments do not support (38030 per the slips and movements)
    replace_in(folder / "close.csv", ",38030,37930", ",39030,38930")
    result = home.materialize("usen_reji", DAY1)
    assert not result.success
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {"entries_balance": True, "sales_match_slips": True, "cash_matches_close": False,
                           "totals_match": True}
    assert "usen_reji__posted_entries" not in [e.step_key for e in result.all_events if e.is_step_success]
    assert_nothing_posted(home)
