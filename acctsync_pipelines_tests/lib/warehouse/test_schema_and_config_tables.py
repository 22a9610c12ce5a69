"""The warehouse runs each schema text once, and config temp tables are rebuilt only when they changed."""

import duckdb
import pandas as pd

from acctsync_pipelines.lib import warehouse
from acctsync_pipelines.lib.config_tables import replace_temp_table
from acctsync_pipelines.lib.warehouse import Warehouse, register_schema


def test_each_schema_text_is_recorded_once_and_a_new_file_runs_on_the_next_connect(tmp_path):
    store = Warehouse(tmp_path / "warehouse.duckdb")
    with store.connect() as conn:
        first = conn.execute("SELECT file, digest FROM ops.schema_applied ORDER BY file").fetchall()
    assert ("warehouse/schema.sql",) in [(f,) for f, _ in first]
    with store.connect() as conn:
        assert conn.execute("SELECT file, digest FROM ops.schema_applied ORDER BY file").fetchall() == first

    extra = tmp_path / "probe_source"
    extra.mkdir()
    (extra / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS raw.probe_rows (x INTEGER);\n", encoding="utf-8")
    register_schema(str(extra / "source.py"), "schema.sql")
    try:
        with store.connect() as conn:
            assert conn.execute("SELECT count(*) FROM raw.probe_rows").fetchone() == (0,)
            files = [f for (f,) in conn.execute("SELECT file FROM ops.schema_applied").fetchall()]
        assert "probe_source/schema.sql" in files
    finally:
        warehouse._SCHEMA_FILES.remove((str(extra / "source.py"), "schema.sql"))


def rows(conn, table: str) -> list[tuple]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_config_tables_hold_the_latest_frame_also_after_a_rollback():
    old = pd.DataFrame({"key": ["cash"], "account": ["現金"]})
    new = pd.DataFrame({"key": ["cash"], "account": ["小口現金"]})
    with duckdb.connect() as conn:
        conn.execute("BEGIN")
        replace_temp_table(conn, "cfg_probe", old)  # first created inside a transaction that is rolled back
        conn.execute("ROLLBACK")
        replace_temp_table(conn, "cfg_probe", old)
        assert rows(conn, "cfg_probe") == [("cash", "現金")]

        conn.execute("BEGIN")
        replace_temp_table(conn, "cfg_probe", new)
        assert rows(conn, "cfg_probe") == [("cash", "小口現金")]
        conn.execute("ROLLBACK")
        assert rows(conn, "cfg_probe") == [("cash", "現金")]
        replace_temp_table(conn, "cfg_probe", new)  # rebuilt: the rolled-back version is not remembered
        assert rows(conn, "cfg_probe") == [("cash", "小口現金")]
        replace_temp_table(conn, "cfg_probe", new)
        assert rows(conn, "cfg_probe") == [("cash", "小口現金")]
