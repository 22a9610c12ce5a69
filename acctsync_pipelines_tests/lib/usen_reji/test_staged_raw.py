"""The bulk raw read (stage_raw, one DuckDB read per file kind) stores exactly what the file-by-file read stores."""

import datetime as dt

import duckdb

from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines.lib.sources import run_raw
from acctsync_pipelines.lib.usen_reji.source import RAW_TABLES, SOURCE
from acctsync_pipelines.lib.warehouse import Warehouse, transaction
from acctsync_pipelines_tests.lib.usen_reji.bundles import DAY1, event_day, write

RAW = ["raw.usen_reji_bundles", *RAW_TABLES.values()]


def raw_rows(conn, table: str) -> list[tuple]:
    columns = [c for (c,) in conn.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ? "
        "AND column_name <> 'loaded_at' ORDER BY column_index", [table.split(".")[1]]).fetchall()]
    return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()


def load_both_ways(home, days: list[dt.date]) -> tuple[dict, dict, list[bool]]:
    settings = load_settings()
    staged_flags = []
    with Warehouse(home.root / "bulk.duckdb").connect() as conn:
        for day in days:
            SOURCE.stage_raw(conn, settings, home.root, day)
            (staged,) = conn.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_usen_staged'").fetchone()
            staged_flags.append(staged == 1)
            with transaction(conn):
                SOURCE.load_raw(conn, settings, home.root, day)
        bulk = {t: raw_rows(conn, t) for t in RAW}
    with Warehouse(home.root / "by_file.duckdb").connect() as conn:
        for day in days:  # no stage_raw: load_raw reads file by file
            with transaction(conn):
                SOURCE.load_raw(conn, settings, home.root, day)
        by_file = {t: raw_rows(conn, t) for t in RAW}
    return bulk, by_file, staged_flags


def test_sample_days_read_in_bulk_equal_the_file_by_file_read(home):
    # CP932 and UTF-8 with BOM, a re-closed day (two bundles), empty cash movement files
    start = dt.date(2025, 6, 1)
    write_sample(home.inbox("usen_reji"), start=start, days=8)
    days = [start + dt.timedelta(days=i) for i in range(8)]
    bulk, by_file, staged = load_both_ways(home, days)
    assert all(staged)
    assert bulk == by_file
    assert len(bulk["raw.usen_reji_slips"]) > 300


def test_quoted_fields_and_a_missing_optional_file_read_the_same(home):
    folder = write(home.inbox("usen_reji"), event_day())
    slips = folder / "slips.csv"
    slips.write_bytes(slips.read_bytes().decode("cp932").replace(",P1,商品,", ',P1,"商品, 大盛り ""特製""",')
                      .encode("cp932"))
    (folder / "cash_movements.csv").unlink()
    bulk, by_file, staged = load_both_ways(home, [DAY1])
    assert staged == [True]
    assert bulk == by_file
    assert {r[10] for r in bulk["raw.usen_reji_slips"]} == {'商品, 大盛り "特製"'}


def test_a_malformed_day_is_not_staged_and_fails_naming_the_file(home):
    folder = write(home.inbox("usen_reji"), event_day())
    payments = folder / "payments.csv"
    payments.write_bytes(payments.read_bytes() + "Z,現金,,1,2,3,4\r\n".encode("cp932"))
    settings = load_settings()
    with Warehouse(home.warehouse).connect() as conn:
        SOURCE.stage_raw(conn, settings, home.root, DAY1)
        staged = conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE '_usen_stage%'").fetchone()
        assert staged == (0,)
        try:
            run_raw(conn, SOURCE, settings, home.root, DAY1)
        except Exception as exc:  # noqa: BLE001
            message = str(exc)
        else:
            raise AssertionError("a malformed payments.csv must fail the day")
    assert "inbox/usen_reji/0001_20250602_1/payments.csv: malformed CSV" in message
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.usen_reji_bundles").fetchone() == (0,)
