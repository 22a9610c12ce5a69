"""USEN Reji: close bundles (one folder per store, business day and close) → journal.

Layout: ../shared/spec/usen-reji-close-export.md. Booking: ../shared/spec/accounting.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.usen_reji.settings import UsenRejiSettings
from acctsync_pipelines.lib.config_tables import replace_temp_tables
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.sources import BALANCED, DayCheck, Source, StageStats, window_params
from acctsync_pipelines.lib.sql import run, sql_text
from acctsync_pipelines.lib.textfiles import (
    CsvBatchUnsupported,
    check_header,
    decode_text,
    inside,
    read_csv_columns,
    stage_csv_batch,
)
from acctsync_pipelines.lib.warehouse import register_schema

register_schema(__file__, "schema.sql")

BUNDLE_NAME = re.compile(r"^(?P<store>[0-9A-Za-z-]+)_(?P<date>\d{8})_(?P<seq>\d{1,4})$")
FILES = {
    "close": "close.csv",
    "slips": "slips.csv",
    "payments": "payments.csv",
    "cash_movements": "cash_movements.csv",
}
OPTIONAL_FILES = {"cash_movements"}
RAW_TABLES = {kind: f"raw.usen_reji_{kind}" for kind in FILES}


@dataclass(frozen=True)
class Bundle:
    folder: Path
    store_code: str
    business_date: dt.date
    close_seq: int

    @property
    def bundle_id(self) -> str:
        return self.folder.name

    def file(self, kind: str) -> Path:
        return self.folder / FILES[kind]

    def digest(self) -> str:
        h = hashlib.sha256()
        for kind in FILES:
            path = self.file(kind)
            if path.is_file() and not path.is_symlink():
                h.update(FILES[kind].encode())
                h.update(path.read_bytes())
        return h.hexdigest()


def inbox_dir(home: Path) -> Path:
    return home / "inbox" / "usen_reji"


def complete_bundle(inbox: Path, name: str) -> Bundle | None:
    """The bundle in folder ``name`` of the inbox, if it is one and complete (close.csv present).

    Folders without close.csv are still being written and are left for later. Symlinks and
    anything resolving outside the inbox are not bundles.
    """
    match = BUNDLE_NAME.match(name)
    if not match:
        return None
    folder = inbox / name
    close = folder / FILES["close"]
    if not folder.is_dir() or not inside(inbox, folder) or not close.is_file() or not inside(inbox, close):
        return None
    try:
        business_date = dt.datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        return None
    return Bundle(folder, match["store"], business_date, int(match["seq"]))


def discover_bundles(home: Path, day: dt.date | None = None) -> list[Bundle]:
    """Complete bundles under the inbox, optionally for one day."""
    inbox = inbox_dir(home)
    if not inbox.is_dir():
        return []
    wanted = None if day is None else f"{day:%Y%m%d}"
    # Names first (cheap), the filesystem checks only for the day's folders: a year's inbox holds thousands.
    names = [n for n in sorted(os.listdir(inbox)) if wanted is None or f"_{wanted}_" in n]
    return [bundle for name in names if (bundle := complete_bundle(inbox, name)) is not None]


def discover_window_bundles(home: Path, days: list[dt.date]) -> list[Bundle]:
    """Complete bundles under the inbox for any of ``days`` (names first, as discover_bundles)."""
    inbox = inbox_dir(home)
    if not inbox.is_dir():
        return []
    wanted = {f"{day:%Y%m%d}" for day in days}
    names = [n for n in sorted(os.listdir(inbox)) if (m := BUNDLE_NAME.match(n)) and m["date"] in wanted]
    return [bundle for name in names if (bundle := complete_bundle(inbox, name)) is not None]


def truth_bundles(bundles: list[Bundle]) -> dict[tuple[str, dt.date], Bundle]:
    """The highest 締め回数 per store and day."""
    truth: dict[tuple[str, dt.date], Bundle] = {}
    for bundle in bundles:
        key = (bundle.store_code, bundle.business_date)
        if key not in truth or bundle.close_seq > truth[key].close_seq:
            truth[key] = bundle
    return truth


class UsenReji(Source):
    name = "usen_reji"
    label = "USEN Reji"
    checks = (
        BALANCED,
        DayCheck(
            "sales_match_slips",
            "per store and day, net sales booked equal the close bundle's slip lines",
            __file__,
            "check_sales_match_slips.sql",
        ),
        DayCheck(
            "cash_matches_close",
            "per store and day, the cash account's movement equals 理論現金在高 − 釣銭準備金 + 過不足",
            __file__,
            "check_cash_matches_close.sql",
        ),
    )

    @staticmethod
    def settings_of(settings: Settings) -> UsenRejiSettings:
        return settings.sources.usen_reji

    def register_config(self, conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        super().register_config(conn, settings)
        usen = self.settings_of(settings)
        rules = usen.cash_movement_rules
        replace_temp_tables(conn, {
            "cfg_usen_tenders": pd.DataFrame(
                {
                    "tender": list(usen.tenders),
                    "account": [t.account for t in usen.tenders.values()],
                    "sub_account": [t.sub_account for t in usen.tenders.values()],
                },
                dtype="str",
            ),
            "cfg_usen_cash_rules": pd.DataFrame(
                {
                    "priority": pd.Series(range(1, len(rules) + 1), dtype="int32"),
                    "direction": pd.Series([r.direction for r in rules], dtype="str"),
                    "reason": pd.Series([r.reason for r in rules], dtype="str"),
                    "account": pd.Series([r.account for r in rules], dtype="str"),
                    "sub_account": pd.Series([r.sub_account for r in rules], dtype="str"),
                    "tax_category": pd.Series([r.tax_category for r in rules], dtype="str"),
                }
            ),
            "cfg_usen_departments": pd.DataFrame(
                {"store_code": list(usen.departments), "department": list(usen.departments.values())}, dtype="str"
            ),
        })

    def days_for_inbox_file(self, home: Path, path: Path) -> list[dt.date] | None:
        """A file inside a complete bundle folder affects that bundle's business day."""
        inbox = inbox_dir(home)
        try:
            folder = path.relative_to(inbox).parts[0]
        except (ValueError, IndexError):
            return None
        bundle = complete_bundle(inbox, folder)
        return [bundle.business_date] if bundle else None

    # -- raw -------------------------------------------------------------------------------------

    def _read_bundle(self, home: Path, bundle: Bundle, usen: UsenRejiSettings) -> dict[str, pd.DataFrame]:
        frames = {}
        columns = usen.columns.model_dump()
        for kind, file_name in FILES.items():
            path = bundle.file(kind)
            if not path.is_file() or not inside(inbox_dir(home), path):
                if kind in OPTIONAL_FILES:
                    frames[kind] = pd.DataFrame({k: pd.Series(dtype="str") for k in columns[kind]} | {"source_row": pd.Series(dtype="int64")})
                else:
                    raise InputError(f"{path.relative_to(home)}: missing file {file_name} in a closed bundle")
            else:
                try:
                    frames[kind] = read_csv_columns(path, columns[kind])
                except InputError as exc:
                    raise InputError(str(exc).replace(str(home) + "/", "")) from None
            frame = frames[kind]
            if kind == "close":
                frame = frame.rename(columns={"business_date": "business_date_text"})
            frame.insert(0, "bundle_id", bundle.bundle_id)
            frame.insert(1, "business_date", bundle.business_date)
            frame.insert(2, "source_file", str(path.relative_to(home)))
            frames[kind] = frame
        return frames

    def stage_raw(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date) -> None:
        """Read the day's bundles with one DuckDB read per file kind into temp tables (see Source.stage_raw).

        Only a day whose every bundle is complete, decodable and plainly laid out is staged; anything else
        leaves nothing staged, and load_raw reads file by file, skips unreadable history and names problems.
        """
        self._stage(conn, settings, home, [day], discover_bundles(home, day))

    def stage_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                         days: list[dt.date]) -> bool:
        """stage_raw for every day of the window at once: all of it staged, or nothing (then day by day)."""
        return self._stage(conn, settings, home, days, discover_window_bundles(home, days))

    def _stage(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, days: list[dt.date],
               bundles: list[Bundle]) -> bool:
        _drop_staged(conn)
        columns = self.settings_of(settings).columns.model_dump()
        truth = {b.bundle_id for b in truth_bundles(bundles).values()}
        inbox = inbox_dir(home)
        texts: dict[str, list[str]] = {kind: [] for kind in FILES}
        rows: list[list] = []
        for index, bundle in enumerate(bundles):
            digest = hashlib.sha256()
            for kind, file_name in FILES.items():
                path = bundle.file(kind)
                if not path.is_file() or not inside(inbox, path):
                    if kind not in OPTIONAL_FILES:
                        return False
                    texts[kind].append(",".join(columns[kind].values()) + "\n")  # as an empty file would read
                    continue
                data = path.read_bytes()
                digest.update(file_name.encode())
                digest.update(data)
                try:
                    text = decode_text(path, data)
                    check_header(path, text, columns[kind])
                except InputError:
                    return False
                texts[kind].append(text)
            rows.append([index, bundle.bundle_id, bundle.business_date, bundle.store_code, bundle.close_seq,
                         str(bundle.folder.relative_to(home)), digest.hexdigest(), bundle.bundle_id in truth])
        if not bundles:
            return False
        scratch = Path(tempfile.mkdtemp(prefix="acctsync_usen_"))
        try:
            for kind in FILES:
                stage_csv_batch(conn, f"_usen_stage_{kind}", texts[kind], columns[kind], scratch)
        except CsvBatchUnsupported:
            _drop_staged(conn)
            return False
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        conn.execute(
            "CREATE TEMP TABLE _usen_stage_bundles (file_index INTEGER, bundle_id VARCHAR, business_date DATE, "
            "store_code VARCHAR, close_seq INTEGER, folder VARCHAR, digest VARCHAR, is_truth BOOLEAN)"
        )
        conn.execute("INSERT INTO _usen_stage_bundles VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                     [v for row in rows for v in row])
        conn.execute("CREATE TEMP TABLE _usen_staged AS SELECT unnest(?::DATE[]) AS business_date", [list(days)])
        return True

    def _load_staged(self, conn: duckdb.DuckDBPyConnection, days: list[dt.date]) -> StageStats | None:
        """Copy what stage_raw staged for ``days`` into the raw tables; None if nothing is staged for them."""
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _usen_staged (business_date DATE)")  # empty: nothing staged
        staged = {d for (d,) in conn.execute("SELECT business_date FROM temp._usen_staged").fetchall()}
        if staged != set(days):
            _drop_staged(conn)
            return None
        conn.execute(
            "INSERT INTO raw.usen_reji_bundles SELECT bundle_id, store_code, business_date, close_seq, folder, digest, "
            "is_truth, now() FROM _usen_stage_bundles ORDER BY file_index")
        for kind, file_name in FILES.items():
            text_date = ", s.business_date AS business_date_text" if kind == "close" else ""
            excluded = "file_index, business_date" if kind == "close" else "file_index"
            conn.execute(
                f"""INSERT INTO {RAW_TABLES[kind]} BY NAME
                    SELECT b.bundle_id, b.business_date, b.folder || '/{file_name}' AS source_file,
                           s.* EXCLUDE ({excluded}){text_date}
                    FROM _usen_stage_{kind} s JOIN _usen_stage_bundles b USING (file_index)
                    ORDER BY s.file_index, s.source_row"""
            )
        bundles, stores, slip_lines = conn.execute(
            """SELECT (SELECT count(*) FROM _usen_stage_bundles),
                      (SELECT count(*) FROM _usen_stage_bundles WHERE is_truth),
                      (SELECT count(*) FROM _usen_stage_slips s JOIN _usen_stage_bundles b USING (file_index)
                       WHERE b.is_truth)"""
        ).fetchone()
        _drop_staged(conn)
        return StageStats(rows=slip_lines, details={"bundles": bundles, "stores": stores, "slip_lines": slip_lines,
                                                    "history_skipped": 0})

    def load_raw(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date) -> StageStats:
        usen = self.settings_of(settings)
        for table in ["raw.usen_reji_bundles", *RAW_TABLES.values()]:
            conn.execute(f"DELETE FROM {table} WHERE business_date = ?", [day])
        stats = self._load_staged(conn, [day])
        if stats is not None:
            self.register_config(conn, settings)
            self._validate(conn, usen, [day])
            return stats
        bundles = discover_bundles(home, day)
        truth = {b.bundle_id for b in truth_bundles(bundles).values()}
        stats = StageStats(details={"bundles": 0, "stores": len(truth), "slip_lines": 0, "history_skipped": 0})
        for bundle in bundles:
            is_truth = bundle.bundle_id in truth
            try:
                frames = self._read_bundle(home, bundle, usen)
            except InputError:
                if is_truth:
                    raise
                stats.details["history_skipped"] += 1  # an older close we cannot read is history only
                continue
            conn.execute(
                "INSERT INTO raw.usen_reji_bundles VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [bundle.bundle_id, bundle.store_code, day, bundle.close_seq,
                 str(bundle.folder.relative_to(home)), bundle.digest(), is_truth],
            )
            for kind, frame in frames.items():
                conn.register("_raw_frame", frame)
                try:
                    conn.execute(f"INSERT INTO {RAW_TABLES[kind]} BY NAME SELECT * FROM _raw_frame")
                finally:
                    conn.unregister("_raw_frame")
            stats.details["bundles"] += 1
            if is_truth:
                stats.details["slip_lines"] += len(frames["slips"])
        stats.rows = stats.details["slip_lines"]
        self.register_config(conn, settings)
        self._validate(conn, usen, [day])
        return stats

    def load_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                        days: list[dt.date]) -> StageStats:
        params = window_params(days)
        for table in ["raw.usen_reji_bundles", *RAW_TABLES.values()]:
            conn.execute(f"DELETE FROM {table} WHERE business_date BETWEEN $first_day AND $last_day "
                         "AND list_contains($days, business_date)", params)
        stats = self._load_staged(conn, days)
        if stats is None:
            raise InputError(f"usen_reji {days[0]}..{days[-1]}: the window's bundles were not staged")
        self.register_config(conn, settings)
        self._validate(conn, self.settings_of(settings), days)
        return stats

    def _validate(self, conn: duckdb.DuckDBPyConnection, usen: UsenRejiSettings, days: list[dt.date]) -> None:
        problems = run(conn, sql_text(__file__, "validate.sql"), window_params(days)).fetchall()
        if not problems:
            return
        headers = {
            FILES[kind]: mapping for kind, mapping in usen.columns.model_dump().items()
        }
        headers["close.csv"] = headers["close.csv"] | {"business_date_text": headers["close.csv"]["business_date"]}
        messages = []
        for source_file, source_row, column, value, slip_no, problem in problems:
            header = headers.get(Path(source_file).name, {}).get(column, column) if column else None
            parts = [source_file]
            if source_row is not None:
                parts.append(f"row {source_row}")
            if header:
                parts.append(f"column {header}")
            if column:
                parts.append(f"value {value!r}")
            if slip_no:
                parts.append(f"slip {slip_no}")
            messages.append(": ".join(parts) + f": {problem}")
        more = "" if len(problems) < 50 else "\n  (further problems not listed)"
        day = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
        raise InputError(
            f"usen_reji {day}: the close bundle cannot be booked; nothing of this day is posted:\n  "
            + "\n  ".join(messages) + more
        )

    # -- normalized and journal -------------------------------------------------------------------

    def normalize(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        self.register_config(conn, settings)
        run(conn, sql_text(__file__, "normalize.sql"), window_params(days))

    def journal(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        self.register_config(conn, settings)
        run(conn, sql_text(__file__, "journal.sql"),
            {**window_params(days), "granularity": self.settings_of(settings).granularity,
             "rounding": settings.tax.rounding})


_STAGED_TABLES = ("_usen_staged", "_usen_stage_bundles", *(f"_usen_stage_{kind}" for kind in FILES))


def _drop_staged(conn: duckdb.DuckDBPyConnection) -> None:
    for table in _STAGED_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS temp.{table}")


SOURCE = UsenReji()
