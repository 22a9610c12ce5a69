"""Reading the text files that land in the inbox: encodings, CSV shape, and staying inside the inbox."""

from __future__ import annotations

import csv
import io
from pathlib import Path

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
            f"{path}: row {line}: the file is neither UTF-8 nor CP932 (Shift_JIS); "
            f"undecodable bytes {data[exc.start:exc.start + 4]!r} at byte {exc.start}"
        ) from None


def inside(root: Path, path: Path) -> bool:
    """True if ``path`` is a real (non-symlink) entry whose resolved location is under ``root``."""
    if path.is_symlink():
        return False
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return ".." not in path.relative_to(root).parts


def read_csv_columns(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """Read a headed CSV as text and rename its headers to acctsync's names.

    ``columns`` maps acctsync's name → the header in the file. Every mapped header must be
    present; other headers are ignored. Adds ``source_row`` (the 1-based line in the file,
    header = 1). Values stay verbatim text; parsing and validation happen in SQL.
    """
    text = decode_text(path, path.read_bytes())
    if not text.strip():
        raise InputError(f"{path}: the file is empty (expected a header row with {', '.join(columns.values())})")
    header = next(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in header]
    missing = [h for h in columns.values() if h not in header]
    if missing:
        raise InputError(
            f"{path}: row 1: missing column(s) {', '.join(missing)}; the header has {', '.join(header)} "
            "(map differing headers in sources.usen_reji.columns)"
        )
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
        raise InputError(f"{path}: malformed CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.fillna("")
    renamed = pd.DataFrame({key: frame[header_name].astype(str) for key, header_name in columns.items()})
    renamed["source_row"] = pd.RangeIndex(2, len(frame) + 2, dtype="int64")
    return renamed
