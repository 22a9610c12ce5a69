"""The analysts' published copy: complete, read-only, atomic, and never in the pipeline's way."""

import datetime as dt
import json
import shutil
import stat
import time

import duckdb
import pytest

from acctsync_pipelines.lib.publish import SCHEMAS, publish
from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.conftest import Analyst, module_home


def relations(conn) -> dict[str, int]:
    names = conn.execute(
        """SELECT table_schema || '.' || table_name FROM information_schema.tables
           WHERE table_catalog = current_database() AND list_contains(?, table_schema) ORDER BY 1""",
        [list(SCHEMAS)]).fetchall()
    return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for (name,) in names}


@pytest.fixture(scope="module")
def booked_template(tmp_path_factory):
    """Four sample days in the inbox, three of them booked: built once, copied into each test's home."""
    with module_home(tmp_path_factory, "booked") as template:
        write_sample(template.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=4)
        assert template.materialize("usen_reji", "2025-06-01", "2025-06-03").success
    return template.root


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


def test_a_refresh_rewrites_only_changed_parquet_partitions_and_the_copy_matches_the_warehouse(booked):
    home = booked
    first = publish(Warehouse(home.warehouse), home.root)
    old_version = first.parquet.resolve()
    manifest_before = (home.root / "published" / "manifest.json").read_text()
    assert home.materialize("usen_reji", "2025-06-04").success
    second = publish(Warehouse(home.warehouse), home.root)
    assert second.published
    new_version = second.parquet.resolve()
    assert new_version != old_version and old_version.is_dir()  # the previous version stays readable

    def files(version, relation, day):
        folder = version / relation / "source=usen_reji" / f"business_date={day}"
        return {p.name: p.stat().st_ino for p in folder.iterdir()}

    # Days 1–3 did not change: the same files (hard links); day 4 is new.
    for day in ("2025-06-01", "2025-06-02", "2025-06-03"):
        assert files(new_version, "ledger/journal_lines", day) == files(old_version, "ledger/journal_lines", day)
    assert files(new_version, "ledger/journal_lines", "2025-06-04")

    # Every relation's Parquet (partitioned or not) holds exactly the warehouse's rows.
    with duckdb.connect(str(home.warehouse), read_only=True) as conn:
        original = relations(conn)
        for name, count in original.items():
            schema, table = name.split(".")
            folder = new_version / schema / table
            parquet_files = list(folder.rglob("*.parquet")) if folder.is_dir() else []
            in_parquet = duckdb.sql(f"SELECT count(*) FROM read_parquet({[str(p) for p in parquet_files]})"
                                    ).fetchall()[0][0] if parquet_files else 0
            assert in_parquet == count, name
        (journal_sum,) = conn.execute("SELECT sum(amount) FROM ledger.journal_lines").fetchone()
    assert duckdb.sql(f"SELECT sum(amount) FROM read_parquet('{new_version}/ledger/journal_lines/**/*.parquet')"
                      ).fetchall() == [(journal_sum,)]
    with duckdb.connect(str(second.database), read_only=True) as conn:
        assert relations(conn) == original

    # A table none of whose rows changed is linked whole, without being read: the config snapshot of the
    # settings is the same, and the raw tables of days 1–3 are too (only the raw day 4 partitions are new).
    def tree(version, relation):
        folder = version / relation
        return {str(p.relative_to(folder)): p.stat().st_ino for p in folder.rglob("*.parquet")}

    unchanged = [name for name, digest in json.loads((home.root / "published" / "manifest.json").read_text())
                 ["table_digests"].items() if digest == json.loads(manifest_before)["table_digests"].get(name)]
    assert unchanged  # e.g. the tables of other sources, the review tables
    for name in unchanged:
        assert tree(new_version, name.replace(".", "/")) == tree(old_version, name.replace(".", "/")), name

    # With the default of two versions kept, a third refresh retires the first: renamed at once, its
    # files deleted by a detached process.
    publish(Warehouse(home.warehouse), home.root, force=True)
    versions = home.root / "published" / "parquet-versions"
    assert not old_version.exists()
    assert sorted(p for p in versions.iterdir() if not p.name.startswith(".")) == sorted(
        [new_version, (home.root / "published" / "parquet").resolve()])
    deadline = time.monotonic() + 30
    while any(p.name.startswith(".removing-") for p in versions.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(p.name.startswith(".removing-") for p in versions.iterdir())


def test_no_warehouse_yet_publishes_nothing(home):
    result = publish(Warehouse(home.warehouse), home.root)
    assert not result.published and "no warehouse yet" in result.reason
    assert not (home.root / "published" / "acctsync.duckdb").exists()


@pytest.mark.parametrize("mode", ["ro", "rw"])
def test_an_analyst_holding_the_copy_open_never_blocks_a_run_or_the_next_copy(booked, mode):
    home = booked
    publish(Warehouse(home.warehouse), home.root)
    published = home.root / "published" / "acctsync.duckdb"
    analyst = Analyst(published, mode)  # a read-write open of the read-only copy is refused (not as root)
    try:
        before = analyst.count()

        # The pipeline runs and the copy is refreshed while the analyst's process holds the old copy.
        assert home.materialize("usen_reji", "2025-06-04").success
        result = publish(Warehouse(home.warehouse), home.root)
        assert result.published

        assert analyst.count() == before  # still reading its (old) file, undisturbed
        assert analyst.alive
    finally:
        analyst.close()
    with duckdb.connect(str(published), read_only=True) as conn:
        (after,) = conn.execute("SELECT count(*) FROM ledger.journal_lines").fetchone()
    assert after > before
    assert home.query("SELECT count(*) FROM ledger.journal_lines") == [(after,)]
