"""Bank statement CSVs from ``$ACCTSYNC_HOME/inbox/bank/``: read verbatim, parsed and validated in SQL.

Internet-banking exports differ in headers, encoding (CP932 or UTF-8) and the lines above the
header (account number, period). The column map in ``settlement.columns`` names the headers; the
header row is the first row that holds all of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.settlement.settings import SettlementSettings, StatementColumns
from acctsync_pipelines.lib.textfiles import decode_text, inside

HEADER_SEARCH_ROWS = 30
TEXT_COLUMNS = ("date_text", "description", "deposit_text", "withdrawal_text", "balance_text")


def inbox_dir(home: Path) -> Path:
    return home / "inbox" / "bank"


def statement_files(home: Path) -> list[Path]:
    """The CSV files in the bank inbox, in name order; symlinks and anything outside the inbox are ignored."""
    inbox = inbox_dir(home)
    if not inbox.is_dir():
        return []
    return sorted(
        p for p in inbox.iterdir()
        if p.suffix.lower() == ".csv" and not p.name.startswith(".") and p.is_file() and inside(inbox, p)
    )


@dataclass(frozen=True)
class Statement:
    lines: pd.DataFrame   # one row per statement line: source_file, source_row, the TEXT_COLUMNS, payer_key
    files: pd.DataFrame   # one row per file: source_file, digest, line_count


def _header_row(rows: list[list[str]], wanted: list[str]) -> int | None:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cells = {cell.strip() for cell in row}
        if all(name in cells for name in wanted):
            return index
    return None


def read_statement_file(home: Path, path: Path, columns: StatementColumns) -> pd.DataFrame:
    """One export as verbatim text, with its file (relative to home) and 1-based line numbers."""
    relative = str(path.relative_to(home))
    text = decode_text(Path(relative), path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    try:
        for row in reader:
            rows.append(row)
            line_numbers.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"{relative}: row {reader.line_num + 1}: malformed CSV: {exc}") from None
    wanted = [columns.date, *columns.description, columns.deposit]
    wanted += [h for h in (columns.withdrawal, columns.balance) if h]
    header_index = _header_row(rows, wanted)
    if header_index is None:
        first = ", ".join(c.strip() for c in rows[0]) if rows else "(empty file)"
        raise InputError(
            f"{relative}: row 1: no header row with all of {', '.join(wanted)} in the first {HEADER_SEARCH_ROWS} rows "
            f"(the first row has {first}); map your bank's headers in settlement.columns"
        )
    header = [cell.strip() for cell in rows[header_index]]
    body = pd.DataFrame(rows[header_index + 1:], columns=None, dtype="str")
    body = body.reindex(columns=range(max(len(header), body.shape[1] if len(body) else 0))).fillna("")

    def column(name: str) -> pd.Series:
        return body[header.index(name)].astype(str).str.strip() if name else pd.Series("", index=body.index)

    description = column(columns.description[0])
    for name in columns.description[1:]:
        extra = column(name)
        description = (description + " " + extra).where(extra != "", description).str.strip()
    frame = pd.DataFrame({
        "source_file": relative,
        "source_row": pd.Series(line_numbers[header_index + 1:], index=body.index, dtype="int64"),
        "date_text": column(columns.date),
        "description": description,
        "deposit_text": column(columns.deposit),
        "withdrawal_text": column(columns.withdrawal),
        "balance_text": column(columns.balance),
    })
    frame = frame[(frame[list(TEXT_COLUMNS)] != "").any(axis=1)].reset_index(drop=True)
    frame = frame.astype({"source_file": "str", "source_row": "int64", **{c: "str" for c in TEXT_COLUMNS}})
    frame["payer_key"] = (
        frame["description"].str.normalize("NFKC").str.upper().str.replace(r"\s+", "", regex=True)
    )
    return frame


def read_statements(home: Path, columns: StatementColumns) -> Statement:
    """Every export in the bank inbox. Overlapping exports are fine: lines are deduplicated in SQL."""
    frames, files = [], []
    for path in statement_files(home):
        frame = read_statement_file(home, path, columns)
        frames.append(frame)
        files.append((str(path.relative_to(home)), hashlib.sha256(path.read_bytes()).hexdigest(), len(frame)))
    empty = pd.DataFrame({"source_file": pd.Series(dtype="str"), "source_row": pd.Series(dtype="int64"),
                          **{c: pd.Series(dtype="str") for c in TEXT_COLUMNS}, "payer_key": pd.Series(dtype="str")})
    lines = pd.concat([empty, *frames], ignore_index=True) if frames else empty
    file_frame = pd.DataFrame.from_records(files, columns=["source_file", "digest", "line_count"]).astype(
        {"source_file": "str", "digest": "str", "line_count": "int64"}
    )
    return Statement(lines=lines, files=file_frame)


# 和暦 as banks print it (R7.6.15, 令和7年6月15日, H31.4.30); the same forms as ops.settlement_wareki.
_WAREKI = re.compile(r"^(R|令和|H|平成)\s*(\d{1,2})[./年-](\d{1,2})[./月-](\d{1,2})日?$")
_ERA_BASE = {"R": 2018, "令和": 2018, "H": 1988, "平成": 1988}


def value_date(text: str, formats: list[str]) -> dt.date | None:
    """A statement date as load_statement.sql reads it (the formats in order, then 和暦); None if unreadable."""
    text = text.strip()
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    found = _WAREKI.match(text)
    if found:
        era, year, month, day = found.groups()
        try:
            return dt.date(_ERA_BASE[era] + int(year), int(month), int(day))
        except ValueError:
            return None
    return None


class BankInbox:
    """``$ACCTSYNC_HOME/inbox/bank/`` as the inbox sensor sees it: a new or changed export asks for
    settlement of the value dates it holds (``lib/inbox_scan.py`` calls ``days_for_inbox_file``)."""

    name = "bank"

    def __init__(self, settlement: SettlementSettings):
        self.settlement = settlement

    def days_for_inbox_file(self, home: Path, path: Path) -> list[dt.date] | None:
        if path.suffix.lower() != ".csv" or not path.is_file() or not inside(inbox_dir(home), path):
            return None
        try:
            frame = read_statement_file(home, path, self.settlement.columns)
        except (InputError, OSError):
            return None  # not (yet) an export with the mapped headers
        days = {value_date(text, self.settlement.date_formats) for text in frame["date_text"]}
        return sorted(d for d in days if d is not None and d >= self.settlement.start_date)
