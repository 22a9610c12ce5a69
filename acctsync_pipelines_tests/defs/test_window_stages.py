"""A run over several days does each stage for the whole window at once (one transaction), and books exactly
what the same days run one by one book; a bad day in the window fails alone, with the day path's message,
and the good days of the run are booked and posted before the run fails naming it."""

import datetime as dt
import shutil

import pytest

from acctsync_pipelines.lib.sample.amazon_business import write_sample as amazon_sample
from acctsync_pipelines.lib.sample.stores import write_sample as stores_sample
from acctsync_pipelines.lib.sample.usen_reji import write_sample as usen_sample
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.usen_reji.bundles import DAY1, DAY2, event_day, simple_day, write

START = dt.date(2025, 6, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(4)]
SAMPLES = {"usen_reji": usen_sample, "stores": stores_sample, "amazon_business": amazon_sample}
# A window per source with its interesting days (STORES: payouts and a coupon on the 13th, a cancellation on the 16th).
WINDOWS = {"usen_reji": DAYS, "stores": [dt.date(2025, 6, d) for d in range(12, 17)], "amazon_business": DAYS}
COMMON = ["staging.normalized_transactions", "ledger.journal_lines", "ledger.posted_lines", "ops.day_errors"]


def snapshot(home, source: str) -> dict[str, list[tuple]]:
    """Every stored fact of the source, without the columns that say when a row was written."""
    tables = [f"{schema}.{name}" for schema, name in home.query(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('raw', 'staging') "
        "AND starts_with(table_name, ?) ORDER BY ALL", [source])] + COMMON
    found = {}
    for table in tables:
        schema, name = table.split(".")
        (columns,) = home.query(
            "SELECT list(column_name ORDER BY column_index) FILTER (WHERE NOT (column_name LIKE '%\\_at' ESCAPE '\\' "
            "AND data_type LIKE 'TIMESTAMP%')) FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
            [schema, name])[0]
        found[table] = home.query(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL")
    return found


def forget_the_run(home) -> None:
    for path in (home.warehouse, home.warehouse.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(home.root / "exports", ignore_errors=True)


@pytest.mark.parametrize("source", list(SAMPLES))
def test_a_window_books_what_day_by_day_books(home, source):
    # the demo samples' scenarios: USEN a re-closed day, CP932 and UTF-8 files, cash movements, several stores;
    # STORES EC and counter orders, cancellations, payouts; Amazon split payments, refunds, mixed rates
    days = WINDOWS[source]
    SAMPLES[source](home.inbox(source), start=START, days=21)
    result = home.materialize(source, days[0], days[-1])
    assert result.success
    # the window path itself, not the day-by-day fallback, booked it (a fallback books the same, only slower)
    for stage in ("raw_orders", "normalized_transactions", "journal_entries"):
        (metadata,) = {str(m.metadata["days_one_by_one"].value) for m in
                       result.asset_materializations_for_node(f"{source}__{stage}")}
        assert metadata == "0", stage
    window = snapshot(home, source)
    window_exports = {p.name: p.read_bytes() for p in home.export_files()}
    assert len(window["ledger.journal_lines"]) > 10
    assert len(home.query("SELECT DISTINCT business_date FROM ledger.journal_lines")) > 1  # several days
    if source == "usen_reji":
        # one transaction for the window's raw rows: now() is the transaction's start, the same for all days
        assert home.query("SELECT count(DISTINCT business_date), count(DISTINCT loaded_at) FROM raw.usen_reji_bundles"
                          ) == [(len(days), 1)]

    forget_the_run(home)
    for day in days:
        assert home.materialize(source, day).success
    assert snapshot(home, source) == window
    assert {p.name: p.read_bytes() for p in home.export_files()} == window_exports


def failed_steps(result) -> list[str]:
    return [e.step_key.split("__")[-1] for e in result.all_events if e.is_step_failure]


def test_a_bad_day_in_a_window_fails_alone_and_the_good_days_are_posted(home):
    inbox = home.inbox("usen_reji")
    write(inbox, simple_day(DAY2))
    folder = write(inbox, event_day())  # DAY1
    slips = folder / "slips.csv"
    slips.write_bytes(slips.read_bytes().decode("cp932").replace(",8,1080,1,0,1080", ",8,1080,1,0,10x0", 1)
                      .encode("cp932"))
    result = home.materialize("usen_reji", DAY1, DAY2)
    assert not result.success
    assert result.asset_materializations_for_node("usen_reji__raw_orders")[0].metadata["days_one_by_one"].value == 2
    # the run goes on with the good day and fails at its end, naming the bad day with the day path's message
    assert failed_steps(result) == ["posted_entries"]
    assert failure_text(result).startswith("usen_reji posted_entries: 1 day(s) failed; nothing of them was posted.\n"
                                           "2025-06-02: ")
    assert ("inbox/usen_reji/0001_20250602_1/slips.csv: row 3: column 金額: value '10x0': slip B: not an integer"
            in failure_text(result))
    raw = result.asset_materializations_for_node("usen_reji__raw_orders")  # one per day of the run
    assert [(m.partition, m.metadata["failed_days"].value) for m in raw] == [
        ("2025-06-02", ["2025-06-02"]), ("2025-06-03", ["2025-06-02"])]
    assert home.query("SELECT business_date, stage FROM ops.day_errors") == [(DAY1, "raw_orders")]
    # the good day is stored, booked and posted; the bad day's raw rows are not (its transaction rolled back)
    assert home.query("SELECT DISTINCT business_date FROM raw.usen_reji_slips") == [(DAY2,)]
    assert home.query("SELECT DISTINCT business_date FROM ledger.journal_lines") == [(DAY2,)]
    assert [p.name for p in home.export_files()] == ["usen_reji_20250603_001.csv"]

    # fixed: the next run over the window books the day, clears its error, and sends the good day nothing again
    slips.write_bytes(slips.read_bytes().decode("cp932").replace(",10x0", ",1080", 1).encode("cp932"))
    assert home.materialize("usen_reji", DAY1, DAY2).success
    assert home.query("SELECT count(*) FROM ops.day_errors") == [(0,)]
    assert home.query("SELECT DISTINCT business_date FROM ledger.journal_lines ORDER BY 1") == [(DAY1,), (DAY2,)]
    assert [p.name for p in home.export_files()] == ["usen_reji_20250602_001.csv", "usen_reji_20250603_001.csv"]


def test_a_day_failing_a_check_in_a_range_is_held_back_alone(home):
    inbox = home.inbox("usen_reji")
    write(inbox, simple_day(DAY2))
    folder = write(inbox, event_day())  # DAY1
    # 理論現金在高 that the payments do not support: DAY1 fails cash_matches_close
    close = folder / "close.csv"
    close.write_bytes(close.read_bytes().decode("cp932").replace(",38030,37930", ",39030,38930").encode("cp932"))
    result = home.materialize("usen_reji", DAY1, DAY2)
    assert not result.success
    evaluations = {e.check_name: (e.passed, e.severity.value) for e in result.get_asset_check_evaluations()}
    # failed, but not Dagster-blocking: another day of the run passed, so the step goes on
    assert evaluations["cash_matches_close"] == (False, "WARN")
    assert failed_steps(result) == ["posted_entries"]
    assert "2025-06-02: check cash_matches_close failed" in failure_text(result)
    assert home.query("SELECT DISTINCT business_date FROM ledger.posted_lines") == [(DAY2,)]
    assert [p.name for p in home.export_files()] == ["usen_reji_20250603_001.csv"]

    # alone, the same day is blocked by Dagster too (severity ERROR): posted_entries does not run
    result = home.materialize("usen_reji", DAY1)
    assert {e.check_name: e.severity.value for e in result.get_asset_check_evaluations() if not e.passed} == {
        "cash_matches_close": "ERROR"}
    assert "usen_reji__posted_entries" not in [e.step_key for e in result.all_events if e.is_step_success]
    assert home.query("SELECT DISTINCT business_date FROM ledger.posted_lines") == [(DAY2,)]
