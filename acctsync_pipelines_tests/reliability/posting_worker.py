"""A posting process for the crash tests: posts every day that has journal lines to yayoi_csv, in order.

Run as ``python -m acctsync_pipelines_tests.reliability.posting_worker HOME``; the test kills it with
SIGKILL at random moments and starts it again until it exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.posting import post_day
from acctsync_pipelines.lib.warehouse import Warehouse


def main(home: Path) -> None:
    settings = load_settings()
    with Warehouse(home / "warehouse.duckdb").connect() as conn:
        days = [d for (d,) in conn.execute(
            "SELECT DISTINCT business_date FROM ledger.journal_entry_lines ORDER BY 1").fetchall()]
        for day in days:
            post_day(conn, settings, home, "usen_reji", day, "yayoi_csv")
            print(day, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
