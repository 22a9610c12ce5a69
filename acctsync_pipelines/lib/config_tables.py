"""Expose configuration to SQL as temporary tables, so transforms join rules instead of hard-coding them."""

from __future__ import annotations

import hashlib

import duckdb
import pandas as pd

from acctsync_pipelines.lib.config import Settings


def replace_temp_table(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """TEMP table ``name`` holding ``frame`` (see replace_temp_tables)."""
    replace_temp_tables(conn, {name: frame})


def replace_temp_tables(conn: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame]) -> None:
    """A TEMP table per name holding its frame.

    Sources register their config for every day and stage, so an unchanged frame is not rebuilt: its
    fingerprint sits in a temp table beside it, which a rolled-back transaction restores together with
    the table. (No try/except on a missing table: inside a transaction a failed statement aborts it.)
    """
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _cfg_fingerprints (name VARCHAR PRIMARY KEY, fingerprint VARCHAR)")
    known = dict(conn.execute("SELECT name, fingerprint FROM temp._cfg_fingerprints WHERE list_contains(?, name)",
                              [list(frames)]).fetchall())
    for name, frame in frames.items():
        fingerprint = hashlib.sha256((str(list(frame.dtypes)) + frame.to_csv()).encode()).hexdigest()
        if known.get(name) == fingerprint:
            continue
        conn.register("_cfg_frame", frame)
        try:
            conn.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _cfg_frame')
        finally:
            conn.unregister("_cfg_frame")
        conn.execute("INSERT OR REPLACE INTO temp._cfg_fingerprints VALUES (?, ?)", [name, fingerprint])


def register_common(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """cfg_accounts(key, account), cfg_tax_rates(rate, sales, purchase), cfg_suspense(account)."""
    accounts = settings.accounts.model_dump()
    rates = settings.tax.rates
    replace_temp_tables(conn, {
        "cfg_accounts": pd.DataFrame({"key": list(accounts), "account": list(accounts.values())}),
        "cfg_tax_rates": pd.DataFrame(
            {
                "rate": pd.Series(list(rates), dtype="int32"),
                "sales": [r.sales for r in rates.values()],
                "purchase": [r.purchase for r in rates.values()],
            }
        ),
        "cfg_suspense": pd.DataFrame({"account": pd.Series(settings.suspense_accounts, dtype="str")}),
    })
