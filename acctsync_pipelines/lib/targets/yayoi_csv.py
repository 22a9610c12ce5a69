"""Target ``yayoi_csv``: 弥生インポート形式 files under ``$ACCTSYNC_HOME/exports/yayoi/``.

A file is a pure function of its batch's rows in ``ledger.posted_lines``, so it is written after
the claim commits (temporary file, fsync, rename) and re-rendered if a crash left it missing.

Rendering is set-based: one query makes the rows of every batch asked for (``yayoi_rows.sql``) and one
their CSV text (``yayoi_csv.sql``: quoting, column order, CRLF); each batch's text is encoded once. The
byte cut of description (64 bytes) and memo (180) in the configured encoding needs the codec, so it runs
in Python, and only on the distinct values whose UTF-8 length and code-point count both allow them to be
longer than the limit (no value of the supported encodings takes more bytes than in UTF-8, nor more than
``MAX_CHAR_BYTES``). Everything else that the cut did (an unencodable character becomes ``?``) the one
encode of the whole text does alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.config_tables import replace_temp_table
from acctsync_pipelines.lib.sql import run, sql_text

NAME = "yayoi_csv"
DESCRIPTION_BYTES = 64
MEMO_BYTES = 180
# The most bytes one code point takes in each supported encoding (an unencodable one is '?', one byte).
MAX_CHAR_BYTES = {"cp932": 2, "shift_jis": 2, "utf-8": 4}
# What str.split() splits on (str.isspace()), as a regex: description and memo have each run made one space.
SPACES = r"[\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+"
# Batches rendered by one query when recovering (memory stays that of a window, however many are missing).
RECOVER_CHUNK = 31


def _fit(text: str, limit: int, encoding: str) -> str:
    """Cut ``text`` (whitespace already collapsed) to ``limit`` bytes in ``encoding`` without splitting a
    character; an unencodable character counts as its replacement '?'."""
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
        return self.render_batches(conn, [batch_id])[batch_id]

    def render_batches(self, conn: duckdb.DuckDBPyConnection, batch_ids: list[str]) -> dict[str, bytes]:
        """The file bytes of each claimed batch of ``batch_ids`` (b'' for one without rows)."""
        if not batch_ids:
            return {}
        taxes = self.settings.tax_categories
        replace_temp_table(
            conn, "cfg_yayoi_tax", pd.DataFrame({"category": list(taxes), "tax_string": list(taxes.values())})
        )
        encoding = self.settings.encoding
        first_day, last_day = conn.execute(
            "SELECT min(business_date), max(business_date) FROM ledger.posting_batches "
            "WHERE target = ? AND list_contains(?, batch_id)", [NAME, list(batch_ids)]).fetchone()
        run(conn, "CREATE OR REPLACE TEMP TABLE yayoi_render AS " + sql_text(__file__, "yayoi_rows.sql"), {
            "target": NAME,
            "batch_ids": list(batch_ids),
            "first_day": first_day,
            "last_day": last_day,
            "qualified_suffix": self.settings.qualified_suffix,
            "out_of_scope": taxes.get("out_of_scope", "対象外"),
            "sticky": self.settings.guessed_sticky_note,
            "spaces": SPACES,
        })
        try:
            limits = {"description": DESCRIPTION_BYTES, "memo": MEMO_BYTES}
            over = run(conn, sql_text(__file__, "yayoi_over_limit.sql"), {
                "description_bytes": DESCRIPTION_BYTES, "memo_bytes": MEMO_BYTES,
                "max_char_bytes": MAX_CHAR_BYTES[encoding]}).fetchall()
            cuts = {}
            for field, limit in limits.items():
                texts = [text for kind, text in over if kind == field]
                cuts[f"{field}_from"] = texts
                cuts[f"{field}_to"] = [_fit(text, limit, encoding) for text in texts]
            texts = dict(run(conn, sql_text(__file__, "yayoi_csv.sql"), cuts).fetchall())
        finally:
            conn.execute("DROP TABLE IF EXISTS temp.yayoi_render")
        return {batch_id: texts.get(batch_id, "").encode(encoding, errors="replace") for batch_id in batch_ids}

    def write(self, conn: duckdb.DuckDBPyConnection, batch_id: str) -> Path:
        return self.write_batches(conn, [batch_id])[batch_id]

    def write_batches(self, conn: duckdb.DuckDBPyConnection, batch_ids: list[str]) -> dict[str, Path]:
        """Render ``batch_ids`` at once, then write each one's file atomically."""
        rendered = self.render_batches(conn, batch_ids)
        self.directory.mkdir(parents=True, exist_ok=True)
        written = {}
        for batch_id in batch_ids:
            path = self.path_for(batch_id)
            temporary = path.with_name(f".{path.name}.partial")
            with open(temporary, "wb") as handle:
                handle.write(rendered[batch_id])
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            written[batch_id] = path
        return written

    def recover(self, conn: duckdb.DuckDBPyConnection, source: str) -> list[Path]:
        """Write any claimed batch whose file is missing (a crash between claim and write): the source's
        batch ids against one listing of the export folder; the missing ones rendered a window at a time."""
        existing = _file_names(self.directory)
        missing = [batch_id for (batch_id,) in conn.execute(
            "SELECT batch_id FROM ledger.posting_batches WHERE target = ? AND source = ? ORDER BY batch_id",
            [NAME, source],
        ).fetchall() if self.reference_for(batch_id) not in existing]
        written = []
        for chunk in _chunks(missing, RECOVER_CHUNK):
            written += self.write_batches(conn, chunk).values()
        return written


def _file_names(directory: Path) -> set[str]:
    try:
        with os.scandir(directory) as entries:
            return {entry.name for entry in entries}
    except FileNotFoundError:
        return set()


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
