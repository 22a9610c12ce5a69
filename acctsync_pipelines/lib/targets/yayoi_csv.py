"""Target ``yayoi_csv``: 弥生インポート形式 files under ``$ACCTSYNC_HOME/exports/yayoi/``.

A file is a pure function of its batch's rows in ``ledger.posted_lines``, so it is written after
the claim commits (temporary file, fsync, rename) and re-rendered if a crash left it missing.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import duckdb
import pandas as pd

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.config_tables import replace_temp_table
from acctsync_pipelines.lib.sql import sql_text

NAME = "yayoi_csv"
DESCRIPTION_BYTES = 64
MEMO_BYTES = 180


def _fit(text: str, limit: int, encoding: str) -> str:
    """Cut ``text`` to ``limit`` bytes in ``encoding`` without splitting a character; drop CR/LF/TAB."""
    text = " ".join(str(text).split())
    encoded = text.encode(encoding, errors="replace")
    if len(encoded) <= limit:
        return encoded.decode(encoding)
    return encoded[:limit].decode(encoding, errors="ignore")


class YayoiCsvTarget:
    name = NAME

    def __init__(self, settings: Settings, home: Path):
        self.settings = settings.targets.yayoi_csv
        self.directory = home / "exports" / "yayoi"

    def reference_for(self, batch_id: str) -> str:
        return f"{batch_id}.csv"

    def path_for(self, batch_id: str) -> Path:
        return self.directory / self.reference_for(batch_id)

    def render(self, conn: duckdb.DuckDBPyConnection, batch_id: str) -> bytes:
        taxes = self.settings.tax_categories
        replace_temp_table(
            conn, "cfg_yayoi_tax", pd.DataFrame({"category": list(taxes), "tax_string": list(taxes.values())})
        )
        rows = conn.execute(
            sql_text(__file__, "yayoi_rows.sql"),
            {
                "target": NAME,
                "batch_id": batch_id,
                "qualified_suffix": self.settings.qualified_suffix,
                "out_of_scope": taxes.get("out_of_scope", "対象外"),
                "sticky": self.settings.guessed_sticky_note,
            },
        ).df()
        encoding = self.settings.encoding
        rows["description"] = rows["description"].map(lambda s: _fit(s, DESCRIPTION_BYTES, encoding))
        rows["memo"] = rows["memo"].map(lambda s: _fit(s, MEMO_BYTES, encoding))
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows.itertuples(index=False))
        return buffer.getvalue().encode(encoding, errors="replace")

    def write(self, conn: duckdb.DuckDBPyConnection, batch_id: str) -> Path:
        path = self.path_for(batch_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.partial")
        with open(temporary, "wb") as handle:
            handle.write(self.render(conn, batch_id))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        return path

    def recover(self, conn: duckdb.DuckDBPyConnection, source: str) -> list[Path]:
        """Write any claimed batch whose file is missing (a crash between claim and write)."""
        batches = conn.execute(
            "SELECT batch_id FROM ledger.posting_batches WHERE target = ? AND source = ? ORDER BY batch_id",
            [NAME, source],
        ).fetchall()
        return [self.write(conn, batch_id) for (batch_id,) in batches if not self.path_for(batch_id).exists()]
