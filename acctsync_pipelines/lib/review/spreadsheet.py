"""The review queue as a spreadsheet: export the waiting lines, let an accountant fill in the set_* and
approve columns, load it back. Every row is checked before anything is applied; one bad row changes nothing.

The file is UTF-8 with a byte-order mark (Excel opens it as such); an import also accepts CP932.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.review.queue import Correction, Line, Outcome, ReviewError, entry_lines, review

SHOWN = ["entry_id", "line_no", "source", "business_date", "side", "amount", "description", "account", "sub_account",
         "tax_category", "rule", "confidence", "reason", "entry_hash"]
FILLED_IN = ["set_account", "set_sub_account", "set_tax_category", "new_account", "remember", "approve"]
HEADER = SHOWN + FILLED_IN
REQUIRED = ["entry_id", "line_no", "entry_hash", *FILLED_IN]
YES = {"yes", "y", "true", "1", "x", "○", "はい"}
NO = {"", "no", "n", "false", "0", "いいえ"}


def export_csv(lines: list[Line], path: Path) -> int:
    """Write the lines (from queue.waiting_lines) with empty fill-in columns; returns the rows written."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for line in lines:
        writer.writerow([line.entry_id, line.line_no, line.source, line.business_date.isoformat(), line.side,
                         line.amount, line.description, line.account, line.sub_account, line.tax_category, line.rule,
                         f"{line.confidence:.2f}", line.review_reason or "", line.content_hash] + [""] * len(FILLED_IN))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return len(lines)


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReviewError(f"{path}: cannot read: {exc.strerror}") from None
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReviewError(f"{path}: neither UTF-8 nor CP932 text; save it as CSV UTF-8")


def _flag(value: str) -> bool | None:
    value = value.strip().lower()
    return True if value in YES else False if value in NO else None


def read_csv(conn: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[Correction], list[str]]:
    """Parse and check a filled-in export. Raises ReviewError naming file, row, column and value."""
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    name = path.name
    missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
    if missing:
        raise ReviewError(f"{name}: row 1: missing column(s) {', '.join(missing)}; "
                          "start from a file written by `acctsync review export`")
    rows = [(number, row) for number, row in enumerate(reader, start=2)
            if any((value or "").strip() for value in row.values() if isinstance(value, str))]
    current = entry_lines(conn, [(row["entry_id"] or "").strip() for _, row in rows])
    errors: list[str] = []
    corrections: list[Correction] = []
    approvals: list[str] = []

    def problem(number: int, column: str, value: str | None, text: str) -> None:
        errors.append(f"{name}: row {number}: column {column}: value {value or ''!r}: {text}")

    for number, row in rows:
        if None in row:
            problem(number, "(beyond the header)", ",".join(row[None]), "more cells than the header has columns")
            continue
        values = {column: (row.get(column) or "").strip() for column in HEADER}
        entry_id = values["entry_id"]
        flags = {}
        for column in ("new_account", "remember", "approve"):
            flags[column] = _flag(values[column])
            if flags[column] is None:
                problem(number, column, values[column], "write yes or leave it empty")
        try:
            line_no = int(values["line_no"])
        except ValueError:
            problem(number, "line_no", values["line_no"], "not a line number")
            continue
        if entry_id not in current:
            problem(number, "entry_id", entry_id, "no such entry in the journal")
            continue
        if values["entry_hash"] != current[entry_id][0].content_hash:
            problem(number, "entry_hash", values["entry_hash"],
                    f"entry {entry_id} changed since the export (its day was re-run or corrected); export again")
            continue
        if not values["set_account"]:
            for column in ("set_sub_account", "set_tax_category"):
                if values[column]:
                    problem(number, column, values[column], "needs set_account on the same row")
            if flags["remember"] or flags["new_account"]:
                problem(number, "remember" if flags["remember"] else "new_account", "yes",
                        "needs set_account on the same row")
        elif None not in flags.values():
            corrections.append(Correction(
                entry_id, line_no, values["set_account"],
                sub_account=values["set_sub_account"] or None,
                tax_category=values["set_tax_category"] or None,
                remember=bool(flags["remember"]), new_account=bool(flags["new_account"]),
                where=f"{name}: row {number}",
            ))
        if flags["approve"]:
            approvals.append(entry_id)
    if errors:
        raise ReviewError("\n".join(errors))
    return corrections, approvals


def import_csv(conn: duckdb.DuckDBPyConnection, settings: Settings, path: Path, by: str | None) -> Outcome:
    corrections, approvals = read_csv(conn, path)
    if not corrections and not approvals:
        raise ReviewError(f"{path.name}: no row has set_account or approve filled in; nothing to do")
    return review(conn, settings, corrections, approvals, by)
