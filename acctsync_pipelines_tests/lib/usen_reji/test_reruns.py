"""Re-runs post only the difference: a re-close, an unchanged day, a range in one run."""

import csv
import io

from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines_tests.lib.usen_reji.bundles import DAY1, event_day, simple_day, slip, write


def postings(home):
    return home.query(
        "SELECT entry_id, action, action_seq, batch_id FROM ledger.postings ORDER BY batch_id, entry_id, action_seq"
    )


def yayoi_rows(path):
    return list(csv.reader(io.StringIO(path.read_bytes().decode("cp932"), newline="")))


def test_same_day_run_three_times_posts_once(home):
    write(home.inbox("usen_reji"), event_day())
    for _ in range(3):
        assert home.materialize("usen_reji", DAY1).success
    assert len(home.export_files()) == 1
    assert [p[1] for p in postings(home)] == ["post"] * 4  # cash:001, cash:002, over_short, sales
    (lines,) = home.query("SELECT count(*) FROM ledger.posted_lines")[0]
    assert lines == 13  # sales 7 + three two-line entries


def test_reclose_posts_only_the_changed_entries(home):
    inbox = home.inbox("usen_reji")
    first = event_day()
    write(inbox, first, close_seq=1)
    assert home.materialize("usen_reji", DAY1).success
    first_file = home.export_files()[0].read_bytes()

    # The register is re-closed with one late credit sale: close 2 replaces close 1 as the day's truth.
    second = event_day()
    second.slips.append(slip("E", DAY1, [(10, 2200)], [("クレジット", 2200)]))
    write(inbox, second, close_seq=2)
    assert home.materialize("usen_reji", DAY1).success

    files = home.export_files()
    assert [p.name for p in files] == ["usen_reji_20250602_001.csv", "usen_reji_20250602_002.csv"]
    assert files[0].read_bytes() == first_file  # history is never rewritten
    rows = yayoi_rows(files[1])
    memos = {row[21] for row in rows}
    assert memos == {"acctsync usen_reji:0001:2025-06-02:sales reverse#2",
                     "acctsync usen_reji:0001:2025-06-02:sales post#3"}
    reversal = [r for r in rows if r[21].endswith("reverse#2")]
    # the reversal swaps sides of what was posted: 売上高 now on the debit side
    assert [(r[4], r[8]) for r in reversal if r[4] == "売上高"] == [("売上高", "1100"), ("売上高", "1630")]
    reposted = [r for r in rows if r[21].endswith("post#3")]
    assert ("売上高", "3300", "300") in [(r[10], r[14], r[15]) for r in reposted]
    assert postings(home)[-2:] == [
        ("usen_reji:0001:2025-06-02:sales", "reverse", 2, "usen_reji_20250602_002"),
        ("usen_reji:0001:2025-06-02:sales", "post", 3, "usen_reji_20250602_002"),
    ]
    # both closes stay in the raw layer; the latest is the truth
    assert home.query("SELECT bundle_id, is_truth FROM raw.usen_reji_bundles ORDER BY 1") == [
        ("0001_20250602_1", False), ("0001_20250602_2", True)]
    # the net posted equals the journal, line for line
    net = home.query(
        """SELECT account, sub_account, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END)
           FROM ledger.posted_lines GROUP BY ALL HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0
           ORDER BY ALL""")
    journal = home.query(
        """SELECT account, sub_account, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END)
           FROM ledger.journal_lines WHERE status = 'posted' GROUP BY ALL
           HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0 ORDER BY ALL""")
    assert net == journal


def test_vanished_entry_is_reversed(home):
    inbox = home.inbox("usen_reji")
    day = simple_day(DAY1)
    day.movements = [["001", None, "出金", "交通費", 300, ""]]
    day.movements[0][1] = __import__("datetime").datetime(2025, 6, 2, 10)
    write(inbox, day, close_seq=1)
    assert home.materialize("usen_reji", DAY1).success
    day.movements = []  # the re-close no longer has the 出金
    write(inbox, day, close_seq=2)
    assert home.materialize("usen_reji", DAY1).success
    assert [(e, a) for e, a, _, _ in postings(home)][-1] == ("usen_reji:0001:2025-06-02:cash:001", "reverse")
    assert home.query("SELECT status, count(*) FROM ledger.journal_lines WHERE entry_id LIKE '%cash:001' GROUP BY 1") == [
        ("reversed", 2)]


def test_a_range_in_one_run(home):
    write_sample(home.inbox("usen_reji"), start=DAY1, days=3)
    result = home.materialize("usen_reji", "2025-06-02", "2025-06-04")
    assert result.success
    assert [p.name for p in home.export_files()] == [
        "usen_reji_20250602_001.csv", "usen_reji_20250603_001.csv", "usen_reji_20250604_001.csv"]
    days = home.query("SELECT business_date::VARCHAR, count(DISTINCT store_code) FROM ledger.journal_entry_lines GROUP BY 1 ORDER BY 1")
    assert days == [("2025-06-02", 2), ("2025-06-03", 2), ("2025-06-04", 2)]
    # the run is one Dagster run covering three partitions
    materialized = result.asset_materializations_for_node("usen_reji__posted_entries")
    assert len(materialized) == 3


def test_sample_reclose_posts_only_its_difference(home):
    """The committed sample has one re-closed store-day; booking close 1 then close 2 sends only the change."""
    store_days = write_sample(home.inbox("usen_reji"), start=DAY1, days=4)
    reclosed = [p for p in home.inbox("usen_reji").iterdir() if p.name.endswith("_2")]
    assert len(reclosed) == 1
    day = __import__("datetime").datetime.strptime(reclosed[0].name.split("_")[1], "%Y%m%d").date()
    hidden = reclosed[0] / "close.csv"
    kept = hidden.read_bytes()
    hidden.unlink()  # close 2 not written yet: the folder is incomplete and waits
    assert home.materialize("usen_reji", day).success
    hidden.write_bytes(kept)
    assert home.materialize("usen_reji", day).success
    second = [p for p in home.export_files() if p.name.endswith("_002.csv")]
    assert len(second) == 1
    entries = {row[21].split()[1] for row in yayoi_rows(second[0])}
    assert entries == {f"usen_reji:{reclosed[0].name[:4]}:{day}:sales"}
    assert store_days
