"""The warehouse's content apart from run metadata (timestamps of when something was loaded or posted)."""

from __future__ import annotations

from pathlib import Path

import duckdb

METADATA_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
SKIPPED_TABLES = {("ops", "schema_applied")}


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    tables: dict[str, list[tuple]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        names = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND NOT temporary ORDER BY ALL").fetchall()
        for schema, table in names:
            if (schema, table) in SKIPPED_TABLES:
                continue
            columns = [name for name, kind in conn.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()
                if kind not in METADATA_TYPES]
            select = ", ".join(f'"{c}"' for c in columns)  # names from the catalog, not from input data
            tables[f"{schema}.{table}"] = conn.execute(
                f'SELECT {select} FROM "{schema}"."{table}" ORDER BY ALL').fetchall()
    return tables


def duplicate_postings(warehouse: Path) -> int:
    """Entries whose net posts exceed one, or a version posted twice in a row, per target."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        (count,) = conn.execute(
            """SELECT count(*) FROM (
                   SELECT target, entry_id,
                          count(*) FILTER (WHERE action = 'post') - count(*) FILTER (WHERE action = 'reverse') AS net
                   FROM ledger.postings GROUP BY ALL) WHERE net NOT IN (0, 1)""").fetchone()
    return count
