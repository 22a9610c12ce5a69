"""Bank exports as internet banking writes them: CP932 or UTF-8, lines above the header, other headers
through the column map, 和暦 dates, overlapping downloads; a line that cannot be read fails its day."""

from __future__ import annotations

import datetime as dt

import pytest

from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.settlement.statement import read_statements
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.settlement.scenario import card_rule, configure, settle, write_statement

D = dt.date
OTHER_LAYOUT = {"date": "取引日", "description": ["摘要", "メモ"], "deposit": "入金額", "withdrawal": "出金額",
                "balance": "残高"}
OTHER_HEADER = ["取引日", "入金額", "出金額", "残高", "摘要", "メモ"]


def test_other_layouts_wareki_and_overlapping_exports_and_a_bad_line_failing_only_its_day(sample_home, booked_sample):
    home = sample_home
    configure(home, card_rule(), columns=OTHER_LAYOUT)
    june2 = booked_sample.tender_total("クレジット", D(2025, 6, 2))
    preamble = [["口座番号", "普通 1234567"], ["照会期間", "R7.6.1～R7.6.30"], []]
    write_statement(home, "a_early_june.csv", encoding="cp932", header=OTHER_HEADER, preamble=preamble, rows=[
        ("R7.6.4", f"{june2:,}", "", "1,012,934", "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", "6/2分"),
        ("令和7年6月5日", "", "3,300", "1,009,634", "ﾃｽｳﾘｮｳ", ""),
    ])
    # a later download overlaps the first (same 6/4 line) and carries a line nobody can read
    write_statement(home, "b_june.csv", encoding="utf-8-sig", header=OTHER_HEADER, rows=[
        ("2025/06/04", f"{june2:,}", "", "1,012,934", "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", "6/2分"),
        ("2025/06/06", "12,3OO", "", "1,021,934", "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ", ""),
    ])
    result = settle(home, "2025-06-04", "2025-06-06")

    assert not result.success
    text = failure_text(result)
    assert "1 day(s) failed" in text
    assert ("inbox/bank/b_june.csv: row 3: column 入金額: value '12,3OO': not a whole, non-negative yen amount"
            in text)
    assert home.query("SELECT source, business_date, stage FROM ops.day_errors WHERE source = 'settlement'") == [
        ("settlement", D(2025, 6, 6), "journal_entries")]
    # the good days are booked: one 6/4 line although two exports hold it, matched to 6/2's card sales
    assert home.query("""SELECT value_date, description, deposit, withdrawal, balance, source_file, source_row
                         FROM raw.bank_statement_lines ORDER BY value_date""") == [
        (D(2025, 6, 4), "ﾌﾘｺﾐ ｶ)ｶｰﾄﾞｼｭｳﾉｳ 6/2分", june2, 0, 1_012_934, "inbox/bank/a_early_june.csv", 5),
        (D(2025, 6, 5), "ﾃｽｳﾘｮｳ", 0, 3300, 1_009_634, "inbox/bank/a_early_june.csv", 6),
    ]
    assert home.query("SELECT value_date, status, match_kind FROM ledger.deposit_matches") == [
        (D(2025, 6, 4), "matched", "exact")]
    assert home.query("SELECT first_date, last_date FROM raw.bank_statement_files ORDER BY source_file") == [
        (D(2025, 6, 4), D(2025, 6, 5)), (D(2025, 6, 4), D(2025, 6, 6))]


def test_an_export_without_the_mapped_headers_names_what_is_missing(home):
    write_statement(home, "odd.csv", header=["年月日", "お取引内容", "入金", "出金"], rows=[("2025/06/04", "x", "1", "")])
    with pytest.raises(InputError) as raised:
        read_statements(home.root, load_settings().settlement.columns)
    assert str(raised.value) == (
        "inbox/bank/odd.csv: row 1: no header row with all of 日付, 摘要, お預入れ, お引出し, 残高 in the first 30 rows "
        "(the first row has 年月日, お取引内容, 入金, 出金); map your bank's headers in settlement.columns")


def test_the_inbox_sensor_reads_dates_as_the_settlement_sql_does(tmp_path):
    """The sensor asks for the days a file holds (Python); load_statement.sql reads them: both agree."""
    from acctsync_pipelines.lib.settlement import matching  # noqa: F401 - registers the settlement macros
    from acctsync_pipelines.lib.settlement.statement import value_date
    from acctsync_pipelines.lib.warehouse import Warehouse

    formats = load_settings().settlement.date_formats
    texts = ["2025/06/15", "2025-6-5", "2025年06月15日", "20250615", "2025.06.15", " R7.6.15 ", "R07/06/15",
             "令和7年6月15日", "H31.4.30", "平成31年4月30日", "R7.2.30", "15/06/2025", "", "2025/13/01"]
    with Warehouse(tmp_path / "w.duckdb").connect() as conn:
        in_sql = [conn.execute("SELECT coalesce(CAST(try_strptime(trim(?), ?) AS DATE), ops.settlement_wareki(?))",
                               [t, formats, t]).fetchone()[0] for t in texts]
    assert [value_date(t, formats) for t in texts] == in_sql
    assert in_sql[:10] == [D(2025, 6, 15), D(2025, 6, 5), *[D(2025, 6, 15)] * 6, D(2019, 4, 30), D(2019, 4, 30)]
    assert in_sql[10:] == [None] * 4
