"""Reading the text files that land in the inbox: encodings, CSV shape, and staying inside the inbox."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pandas as pd

from acctsync_pipelines.lib.errors import InputError

_UTF8_BOM = b"\xef\xbb\xbf"


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM) or CP932, whichever the bytes are."""
    if data.startswith(_UTF8_BOM):
        encoding = "utf-8-sig"
    else:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "cp932"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: row {line}{_column_at(data, exc.start, encoding)}: the file is neither UTF-8 nor CP932 "
            f"(Shift_JIS); undecodable bytes {data[exc.start:exc.start + 4]!r} at byte {exc.start}"
        ) from None


def _column_at(data: bytes, offset: int, encoding: str) -> str:
    """', column <header>' for the CSV field holding byte ``offset`` (best effort; '' when unknown)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    header_line = data[: data.find(b"\n")] if b"\n" in data else data
    try:
        before = data[line_start:offset].decode(encoding, errors="replace")
        index = len(next(csv.reader([before]), [""])) - 1
        header = next(csv.reader([header_line.decode(encoding, errors="replace").strip()]), [])
    except csv.Error:  # e.g. NUL bytes: UTF-16 text
        return ""
    if line_start == 0 or index >= len(header):
        return f", field {index + 1}"
    return f": column {header[index].strip()}"


def inside(root: Path, path: Path) -> bool:
    """True if ``path`` is a real (non-symlink) entry whose resolved location is under ``root``."""
    if path.is_symlink():
        return False
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return ".." not in path.relative_to(root).parts


def check_header(path: Path, text: str, columns: dict[str, str]) -> list[str]:
    """The header row of decoded CSV ``text`` (names stripped); InputError if it lacks a mapped column."""
    if not text.strip():
        raise InputError(f"{path}: row 1: the file is empty (expected a header row with {', '.join(columns.values())})")
    header = next(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in header]
    missing = [h for h in columns.values() if h not in header]
    if missing:
        raise InputError(
            f"{path}: row 1: missing column(s) {', '.join(missing)}; the header has {', '.join(header)} "
            "(map differing headers in sources.usen_reji.columns)"
        )
    return header


def read_csv_columns(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read a headed CSV as text and rename its headers to acctsync's names.

    ``columns`` maps acctsync's name → the header in the file. Every mapped header must be
    present; other headers are ignored. Adds ``source_row`` (the 1-based line in the file,
    header = 1). Values stay verbatim text; parsing and validation happen in SQL.
    """
    text = decode_text(path, path.read_bytes())
    check_header(path, text, columns)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skipinitialspace=False,
            on_bad_lines="error",
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: malformed CSV: {_malformed_row(text) or exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.fillna("")
    renamed = pd.DataFrame({key: frame[header_name].astype(str) for key, header_name in columns.items()})
    renamed["source_row"] = pd.RangeIndex(2, len(frame) + 2, dtype="int64")
    return renamed


def _malformed_row(text: str) -> str | None:
    """The first record pandas refuses, described by row, column and value (None if not found)."""
    reader = csv.reader(io.StringIO(text), strict=True)
    row = 1
    try:
        header = next(reader)
        while True:
            row = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                return None
            if len(record) > len(header):
                return (f"row {row}: {len(record)} fields where the header has {len(header)}; "
                        f"column {len(header) + 1} (no header): value {record[len(header)]!r}")
    except csv.Error:
        return f"row {row}: a quoted field is never closed (a truncated file?)"


# -- many small files in one DuckDB read ----------------------------------------------------------------

_RECORD_MARK = "\x1e"        # starts the marker record put before each file's rows (never in real data)
_NOT_NULL = "\x1f\x1e\x1f"   # nullstr that never matches: empty fields stay '' as with read_csv_columns
MAX_LINE_BYTES = 64 * 1024 * 1024


class CsvBatchUnsupported(Exception):
    """The files cannot be read as one batch (unusual layout or malformed rows); read them one by one."""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stage_csv_batch(conn, table: str, texts: list[str], columns: dict[str, str], scratch: Path) -> None:
    """Read many decoded CSV texts (each with its header row) into TEMP table ``table`` in one DuckDB read.

    ``table`` gets (file_index, source_row, <each key of columns>): file_index is the position in
    ``texts``, source_row the 1-based record number in that file (header = 1), values verbatim text
    ('' for an empty or missing field) exactly as ``read_csv_columns`` gives them. DuckDB's reader has a
    fixed cost per file, so the texts are concatenated, each after a marker record, into one UTF-8 file
    under ``scratch`` per header layout. The header must already have been checked (``check_header``).

    Call it outside a transaction: a parse error aborts the open transaction in DuckDB. Raises
    CsvBatchUnsupported (leaving ``table`` absent) when the layout is unusual (quoted header, bare CR
    line ends) or any row is malformed; ``read_csv_columns`` per file then gives the exact message.
    """
    groups: dict[tuple[int, str, tuple[int, ...]], list[int]] = {}
    bodies: list[str] = []
    for index, text in enumerate(texts):
        if _RECORD_MARK in text:
            raise CsvBatchUnsupported("a file contains the record marker character")
        end = text.find("\n")
        header_line, body = (text, "") if end < 0 else (text[:end], text[end + 1:])
        newline = "\r\n" if header_line.endswith("\r") else "\n"
        header_line = header_line.removesuffix("\r")
        if '"' in header_line or "\r" in header_line:
            raise CsvBatchUnsupported("quoted header or bare CR line ends")
        header = [h.strip() for h in header_line.split(",")]
        positions = tuple(header.index(name) for name in columns.values())
        if body and not body.endswith("\n"):
            body += newline
        bodies.append(body)
        groups.setdefault((len(header), newline, positions), []).append(index)

    scratch.mkdir(parents=True, exist_ok=True)
    keys = list(columns)
    conn.execute(f'CREATE OR REPLACE TEMP TABLE "{table}" (file_index INTEGER, source_row INTEGER, '
                 + ", ".join(f'"{k}" VARCHAR' for k in keys) + ")")
    try:
        for number, ((width, newline, positions), members) in enumerate(groups.items()):
            path = scratch / f"{table}_{number}.csv"
            filler = "," * (width - 1) + newline
            # A final marker too: a quote left open swallows a marker, which the count then shows.
            path.write_text("".join(f"{_RECORD_MARK}{i}{filler}{bodies[i]}" for i in members)
                            + f"{_RECORD_MARK}-1{filler}", encoding="utf-8")
            # DuckDB's parallel scanner cannot pad short rows when quoted fields may hold line breaks.
            parallel = not any('"' in bodies[i] for i in members)
            _read_group(conn, table, path, width, newline, positions, keys, len(members), parallel)
    except BaseException:
        conn.execute(f'DROP TABLE IF EXISTS temp."{table}"')
        raise


def _read_group(conn, table: str, path: Path, width: int, newline: str, positions: tuple[int, ...],
                keys: list[str], files: int, parallel: bool) -> None:
    names = [f"c{i}" for i in range(width)]
    mark = f"chr({ord(_RECORD_MARK)})"
    try:
        # Insertion order is preserved, so the temp table's rowid follows the file's record order.
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE _csv_batch AS SELECT * FROM read_csv("
            f"{_sql_string(str(path))}, header = false, auto_detect = false, "
            "columns = {" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}, "
            f"delim = ',', quote = '\"', escape = '\"', "
            f"new_line = {_sql_string(newline.encode('unicode_escape').decode())}, null_padding = true, "
            f"nullstr = {_sql_string(_NOT_NULL)}, max_line_size = {MAX_LINE_BYTES}, parallel = {str(parallel).lower()})"
        )
    except duckdb.Error as exc:  # a malformed row: the caller reads these files one by one
        raise CsvBatchUnsupported(str(exc).splitlines()[0]) from None
    (marks,) = conn.execute(f"SELECT count(*) FROM _csv_batch WHERE starts_with(c0, {mark})").fetchone()
    if marks != files + 1:
        conn.execute("DROP TABLE temp._csv_batch")
        raise CsvBatchUnsupported(f"{marks} of {files + 1} markers")
    # A blank or whitespace-only line is not a record (pandas skips it in read_csv_columns).
    blank = "trim(n.c0, ' \t') = ''" + (" AND n.c1 IS NULL" if width > 1 else "")
    selected = ", ".join(f'coalesce(n.c{p}, \'\') AS "{k}"' for p, k in zip(positions, keys))
    conn.execute(
        f"""INSERT INTO "{table}"
            WITH numbered AS (SELECT rowid AS r, * FROM _csv_batch),
            marks AS (SELECT r, CAST(substr(c0, 2) AS INTEGER) AS file_index FROM numbered
                      WHERE starts_with(c0, {mark}))
            SELECT m.file_index, (row_number() OVER (PARTITION BY m.file_index ORDER BY n.r) + 1)::INTEGER,
                   {selected}
            FROM numbered n ASOF JOIN marks m ON n.r > m.r
            WHERE NOT starts_with(n.c0, {mark}) AND NOT ({blank})"""
    )
    conn.execute("DROP TABLE temp._csv_batch")
