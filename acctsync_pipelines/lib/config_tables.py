"""Expose configuration to SQL as temporary tables, so transforms join rules instead of hard-coding them."""

from __future__ import annotations

import duckdb
import pandas as pd

from acctsync_pipelines.lib.config import Settings


def replace_temp_table(conn: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    conn.register("_cfg_frame", frame)
    try:
        conn.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _cfg_frame')
    finally:
        conn.unregister("_cfg_frame")


def register_common(conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """cfg_accounts(key, account), cfg_tax_rates(rate, sales, purchase), cfg_suspense(account)."""
    accounts = settings.accounts.model_dump()
    replace_temp_table(conn, "cfg_accounts", pd.DataFrame({"key": list(accounts), "account": list(accounts.values())}))
    rates = settings.tax.rates
    replace_temp_table(
        conn,
        "cfg_tax_rates",
        pd.DataFrame(
            {
                "rate": pd.Series(list(rates), dtype="int32"),
                "sales": [r.sales for r in rates.values()],
                "purchase": [r.purchase for r in rates.values()],
            }
        ),
    )
    replace_temp_table(conn, "cfg_suspense", pd.DataFrame({"account": pd.Series(settings.suspense_accounts, dtype="str")}))
