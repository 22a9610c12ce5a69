"""The analysts' published copy: complete, read-only, atomic, and never in the pipeline's way."""

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import duckdb
import pytest

from acctsync_pipelines.lib.publish import SCHEMAS, publish
from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.conftest import Home

# A second process, as an analyst's notebook would be: opens the published copy and keeps it open,
# answering "count" (same connection) until its stdin closes.
ANALYST = textwrap.dedent("""
    import sys, duckdb
    path, mode = sys.argv[1], sys.argv[2]
    try:
        conn = duckdb.connect(path, read_only=(mode == "ro"))
    except duckdb.Error as exc:
        print("refused", type(exc).__name__, flush=True)
        conn = duckdb.connect(path, read_only=True)
    print("ready", flush=True)
    for line in sys.stdin:
        print(conn.execute("SELECT count(*) FROM ledger.journal_lines").fetchone()[0], flush=True)
""")


def relations(conn) -> dict[str, int]:
    names = conn.execute(
        """SELECT table_schema || '.' || table_name FROM information_schema.tables
           WHERE table_catalog = current_database() AND list_contains(?, table_schema) ORDER BY 1""",
        [list(SCHEMAS)]).fetchall()
    return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for (name,) in names}


@pytest.fixture(scope="module")
def booked_template(tmp_path_factory):
    """Four sample days in the inbox, three of them booked: built once, copied into each test's home."""
    root = tmp_path_factory.mktemp("booked") / "acctsync_home"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCTSYNC_HOME", str(root))
        patch.delenv("ACCTSYNC_CONFIG", raising=False)
        patch.delenv("DAGSTER_HOME", raising=False)
        template = Home(root)
        write_sample(template.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=4)
        assert template.materialize("usen_reji", "2025-06-01", "2025-06-03").success
    return root


@pytest.fixture
def booked(home, booked_template):
    shutil.copytree(booked_template, home.root, dirs_exist_ok=True)
    return home


def test_the_copy_holds_every_relation_and_parquet_is_partitioned_by_source_and_day(booked):
    home = booked
    result = publish(Warehouse(home.warehouse), home.root)
    assert result.published and result.reason == "published"
    published = home.root / "published" / "acctsync.duckdb"
    assert result.database == published
    assert not stat.S_IMODE(published.stat().st_mode) & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)

    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        original = relations(conn)
    with duckdb.connect(str(published), read_only=True) as conn:
        assert relations(conn) == original
        assert conn.execute("SELECT ops.to_int('1,200')").fetchone() == (1200,)  # macros come along
    assert original["ledger.journal_lines"] > 0 and result.rows == original

    parquet = home.root / "published" / "parquet"
    days = sorted(p.name for p in (parquet / "ledger" / "journal_lines" / "source=usen_reji").iterdir())
    assert days == ["business_date=2025-06-01", "business_date=2025-06-02", "business_date=2025-06-03"]
    raw_days = (parquet / "raw" / "usen_reji_slips" / "source=usen_reji").iterdir()
    assert len(list(raw_days)) == 3
    assert (parquet / "ledger" / "posted_state" / "data.parquet").is_file()
    by_day = duckdb.sql(
        f"""SELECT business_date, source, count(*) FROM read_parquet('{parquet}/ledger/journal_lines/**/*.parquet')
            GROUP BY ALL ORDER BY 1""").fetchall()
    assert [(str(d), s) for d, s, _ in by_day] == [(f"2025-06-0{i}", "usen_reji") for i in (1, 2, 3)]
    assert sum(n for _, _, n in by_day) == original["ledger.journal_lines"]
    typed = duckdb.sql(f"SELECT typeof(business_date) FROM read_parquet('{parquet}/staging/normalized_transactions/"
                       "*/*/*.parquet', hive_partitioning = false) LIMIT 1").fetchall()
    assert typed == [("DATE",)]

    manifest = json.loads((home.root / "published" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == result.fingerprint and manifest["rows"] == original


def test_an_unchanged_warehouse_is_not_copied_again(booked):
    home = booked
    first = publish(Warehouse(home.warehouse), home.root)
    inode = (home.root / "published" / "acctsync.duckdb").stat().st_ino
    second = publish(Warehouse(home.warehouse), home.root)
    assert not second.published and second.reason == "the warehouse has not changed since the last copy"
    assert second.fingerprint == first.fingerprint
    assert (home.root / "published" / "acctsync.duckdb").stat().st_ino == inode
    assert home.materialize("usen_reji", "2025-06-04").success
    third = publish(Warehouse(home.warehouse), home.root)
    assert third.published and third.fingerprint != first.fingerprint


def test_no_warehouse_yet_publishes_nothing(home):
    result = publish(Warehouse(home.warehouse), home.root)
    assert not result.published and "no warehouse yet" in result.reason
    assert not (home.root / "published" / "acctsync.duckdb").exists()


@pytest.mark.parametrize("mode", ["ro", "rw"])
def test_an_analyst_holding_the_copy_open_never_blocks_a_run_or_the_next_copy(booked, mode):
    home = booked
    publish(Warehouse(home.warehouse), home.root)
    published = home.root / "published" / "acctsync.duckdb"
    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(published), mode], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        first = analyst.stdout.readline()
        if first.startswith("refused"):  # the copy is read-only: a read-write open is refused (not as root)
            first = analyst.stdout.readline()
        assert first.strip() == "ready"
        analyst.stdin.write("count\n")
        analyst.stdin.flush()
        before = int(analyst.stdout.readline())

        # The pipeline runs and the copy is refreshed while the analyst's process holds the old copy.
        assert home.materialize("usen_reji", "2025-06-04").success
        result = publish(Warehouse(home.warehouse), home.root)
        assert result.published

        analyst.stdin.write("count\n")
        analyst.stdin.flush()
        assert int(analyst.stdout.readline()) == before  # still reading its (old) file, undisturbed
        assert analyst.poll() is None
    finally:
        analyst.stdin.close()
        analyst.wait(timeout=30)
    with duckdb.connect(str(published), read_only=True) as conn:
        (after,) = conn.execute("SELECT count(*) FROM ledger.journal_lines").fetchone()
    assert after > before
    assert home.query("SELECT count(*) FROM ledger.journal_lines") == [(after,)]
