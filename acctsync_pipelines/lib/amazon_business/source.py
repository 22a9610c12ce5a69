"""Amazon Business purchases → journal: the Reconciliation API, the transactions JSON, the Orders report CSV.

Formats: ../shared/guides/vendor-formats.md §3. Booking: ../shared/spec/accounting.md (Amazon Business).
Python gathers the inputs as text (files, API pages); the SQL files beside this module do the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from acctsync_pipelines.lib.amazon_business.client import INVOICES_PATH, TRANSACTIONS_PATH, AmazonBusinessClient
from acctsync_pipelines.lib.amazon_business.settings import REQUIRED_CSV_COLUMNS, AmazonBusinessSettings, CsvColumns
from acctsync_pipelines.lib.config import Settings, load_settings
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.polling import Activity
from acctsync_pipelines.lib.sources import BALANCED, DayCheck, Source, StageStats, window_params
from acctsync_pipelines.lib.sql import run, split_statements, sql_text
from acctsync_pipelines.lib.textfiles import decode_text, inside
from acctsync_pipelines.lib.warehouse import register_schema, transaction

register_schema(__file__, "schema.sql")

NAME = "amazon_business"
FILE_SUFFIXES = (".json", ".csv")
CSV_FIELDS = list(CsvColumns.model_fields)
DOC_COLUMNS = {"source_order": "INTEGER", "input": "VARCHAR", "source_file": "VARCHAR", "content": "VARCHAR"}
CSV_TABLE_COLUMNS = {name: "VARCHAR" for name in CSV_FIELDS} | {
    "source_order": "INTEGER", "source_file": "VARCHAR", "source_row": "INTEGER",
}
READ_COLUMNS = {"source_file": "VARCHAR", "size_bytes": "BIGINT", "mtime_ns": "BIGINT", "digest": "VARCHAR",
                "parse_key": "VARCHAR", "error": "VARCHAR"}
# acctsync's field names → where they are in the transactions JSON (for messages).
JSON_FIELDS = {
    "transaction_id": "transactionId", "transaction_type": "transactionType", "transaction_date": "transactionDate",
    "amount": "amount.amount", "total_amount": "totalAmount.amount", "order_id": "orderId",
    "item_quantity": "itemQuantity", "tax_rate": "taxRate", "tax_amount": "tax.amount",
}
# acctsync's field names → the CsvColumns key whose header to name in messages.
CSV_FIELDS_BY_NAME = {
    "transaction_date": "payment_date", "amount": "payment_amount", "total_amount": "item_net_total",
    "tax_amount": "item_tax", "transaction_type": "payment_amount",
}


def inbox_dir(home: Path) -> Path:
    return home / "inbox" / NAME


def inbox_files(home: Path) -> list[Path]:
    """The transactions JSON and Orders report CSV files in the inbox (sorted; dot files and links skipped)."""
    inbox = inbox_dir(home)
    if not inbox.is_dir():
        return []
    return sorted(
        p for p in inbox.rglob("*")
        if p.suffix.lower() in FILE_SUFFIXES and p.is_file() and not p.name.startswith(".") and inside(inbox, p)
    )


def _relative(home: Path, path: Path) -> str:
    try:
        return str(path.relative_to(home))
    except ValueError:
        return str(path)


def read_json_document(data: bytes, shown_as: str) -> str:
    """The file's text, after checking it is ``{"transactions": [...]}`` (optionally with invoice details)."""
    text = decode_text(Path(shown_as), data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{shown_as}: row {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(document, dict) or not isinstance(document.get("transactions"), list):
        raise InputError(f'{shown_as}: expected a JSON object {{"transactions": [...]}} as the API returns it')
    invoices = document.get("invoiceDetailsByOrderLineItems")
    if invoices is not None and not isinstance(invoices, list):
        raise InputError(f"{shown_as}: invoiceDetailsByOrderLineItems must be a list")
    return text


def read_orders_report(data: bytes, shown_as: str, columns: CsvColumns) -> pd.DataFrame:
    """The Orders report's rows under acctsync's names, as text; absent optional columns are empty."""
    text = decode_text(Path(shown_as), data)
    if not text.strip():
        raise InputError(f"{shown_as}: the file is empty (expected the Orders report header)")
    header = [h.strip() for h in next(csv.reader(io.StringIO(text)))]
    mapping = {name: header_name for name, header_name in columns.model_dump().items() if header_name}
    missing = [mapping[name] for name in REQUIRED_CSV_COLUMNS if mapping.get(name) not in header]
    if missing:
        raise InputError(
            f"{shown_as}: row 1: missing column(s) {', '.join(missing)}; the header has {', '.join(header)} "
            "(map differing headers in sources.amazon_business.csv_columns)"
        )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, on_bad_lines="error", engine="c")
    except pd.errors.ParserError as exc:
        raise InputError(f"{shown_as}: malformed CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    rows = pd.DataFrame(index=frame.index)
    for name in CSV_FIELDS:
        header_name = mapping.get(name)
        values = frame[header_name] if header_name in frame.columns else pd.Series("", index=frame.index)
        # Excel-style ="6674" quoting keeps leading zeros in some exports.
        rows[name] = values.astype(str).str.replace(r'^="(.*)"$', r"\1", regex=True)
    rows["source_file"] = shown_as
    rows["source_row"] = pd.RangeIndex(2, len(frame) + 2, dtype="int64")
    return rows


def _load_table(conn: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], rows: pd.DataFrame) -> None:
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    if len(rows):
        conn.register("_ab_frame", rows)
        try:
            conn.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _ab_frame")
        finally:
            conn.unregister("_ab_frame")


def _run_file(conn: duckdb.DuckDBPyConnection, name: str, params: dict) -> None:
    for statement in split_statements(sql_text(__file__, name)):
        run(conn, statement, params)


def _rows(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


class Inputs:
    """Documents and CSV rows to parse, in reading order (later wins for the same transaction), numbered
    after ``after`` inputs read before them (the inbox files, for API answers)."""

    def __init__(self, after: int = 0) -> None:
        self.after = after
        self.docs: list[dict] = []
        self.csv: list[pd.DataFrame] = []

    def _next(self) -> int:
        return self.after + len(self.docs) + len(self.csv) + 1

    def add_document(self, input_kind: str, source_file: str, content: str) -> None:
        self.docs.append({"source_order": self._next(), "input": input_kind, "source_file": source_file,
                          "content": content})

    def add_csv(self, rows: pd.DataFrame) -> None:
        rows = rows.copy()
        rows["source_order"] = self._next()
        self.csv.append(rows)

    def load(self, conn: duckdb.DuckDBPyConnection) -> None:
        _load_table(conn, "_ab_docs", DOC_COLUMNS, pd.DataFrame(self.docs, columns=list(DOC_COLUMNS)))
        csv_rows = pd.concat(self.csv, ignore_index=True) if self.csv else pd.DataFrame(columns=list(CSV_TABLE_COLUMNS))
        _load_table(conn, "_ab_csv", CSV_TABLE_COLUMNS, csv_rows)


def read_inbox_file(home: Path, path: Path, ab: AmazonBusinessSettings, inputs: Inputs,
                    data: bytes | None = None) -> None:
    """Add the file (its bytes ``data`` when already read) to ``inputs``; InputError names what is wrong."""
    shown_as = _relative(home, path)
    data = path.read_bytes() if data is None else data
    if path.suffix.lower() == ".json":
        inputs.add_document("json", shown_as, read_json_document(data, shown_as))
    else:
        inputs.add_csv(read_orders_report(data, shown_as, ab.csv_columns))


def _format_problems(problems: list[dict], ab: AmazonBusinessSettings, day: dt.date | None) -> str:
    headers = ab.csv_columns.model_dump()
    messages = []
    for p in problems:
        field = p["field"]
        if p["input"] == "csv":
            header = headers.get(CSV_FIELDS_BY_NAME.get(field, field)) or field
            where = [p["source_file"], f"row {p['source_row']}", f"column {header}"]
        else:
            where = [p["source_file"], f"transaction {p['source_row']}"]
            if p["transaction_id"]:
                where[-1] += f" ({p['transaction_id']})"
            if p["line_no"] is not None:
                where.append(f"transactionLineItems[{p['line_no']}]")
            where.append(f"field {JSON_FIELDS.get(field, field)}")
        value = "missing" if p["value"] is None else repr(p["value"])
        messages.append(": ".join(where) + f": value {value}: {p['problem']}")
    more = "\n  (further problems not listed)" if len(problems) >= 50 else ""
    scope = f"amazon_business {day}" if day else "amazon_business"
    return f"{scope}: the purchases cannot be booked; nothing of this day is posted:\n  " + "\n  ".join(messages) + more


# What the kept rows of a file depend on besides its bytes: the readers (bump when read_json_document,
# read_orders_report or parse.sql change what they produce) and the Orders report column mapping.
READER_VERSION = 1


def _parse_key(ab: AmazonBusinessSettings) -> str:
    text = f"{READER_VERSION}\n{sql_text(__file__, 'parse.sql')}\n{ab.csv_columns.model_dump_json()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _parse(conn: duckdb.DuckDBPyConnection, inputs: Inputs) -> None:
    """_ab_parsed_txn, _ab_parsed_lines, _ab_parsed_inv from the inputs (see parse.sql)."""
    inputs.load(conn)
    _run_file(conn, "parse.sql", {})


def _set_reading_order(conn: duckdb.DuckDBPyConnection, shown: list[str]) -> None:
    """_ab_order: the inbox files this run reads (their kept rows), in reading order."""
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _ab_order AS "
        "SELECT unnest($files)::VARCHAR AS source_file, generate_subscripts($files, 1)::INTEGER AS source_order",
        {"files": shown},
    )


# Files read in one parse (the first run of a year's inbox reads ~100 files, 47 MB).
READ_BATCH_BYTES = 8 << 20


def sync_inbox(conn: duckdb.DuckDBPyConnection, home: Path, ab: AmazonBusinessSettings, files: list[Path]) -> int:
    """Bring the kept files (raw.amazon_business_files and the rows they hold) in line with the inbox: read
    new and changed files (size or mtime differ, or the reader; then the sha256 decides), forget files that
    left it. A file that cannot be read is kept with its error. Returns the number of files read.

    Runs in the caller's transaction (a crash leaves the kept files as they were)."""
    parse_key = _parse_key(ab)
    known = {row[0]: row[1:] for row in conn.execute(
        "SELECT source_file, size_bytes, mtime_ns, digest, parse_key FROM raw.amazon_business_files").fetchall()}
    present: set[str] = set()
    to_read: list[tuple[Path, str, os.stat_result, bytes, str]] = []
    for path in files:
        shown = _relative(home, path)
        present.add(shown)
        stat = path.stat()
        size, mtime, digest, key = known.get(shown, (None, None, None, None))
        if key == parse_key and (size, mtime) == (stat.st_size, stat.st_mtime_ns):
            continue
        data = path.read_bytes()
        new_digest = hashlib.sha256(data).hexdigest()
        if key == parse_key and new_digest == digest:  # touched, not changed
            conn.execute("UPDATE raw.amazon_business_files SET size_bytes = ?, mtime_ns = ? WHERE source_file = ?",
                         [stat.st_size, stat.st_mtime_ns, shown])
            continue
        to_read.append((path, shown, stat, data, new_digest))
    gone = sorted(set(known) - present)
    batches: list[list] = [[]]
    for item in to_read:
        if batches[-1] and sum(len(b[3]) for b in batches[-1]) + len(item[3]) > READ_BATCH_BYTES:
            batches.append([])
        batches[-1].append(item)
    if not to_read and not gone:
        return 0
    for n, batch in enumerate(batches):
        inputs = Inputs()
        read = []
        for path, shown, stat, data, digest in batch:
            error = None
            try:
                read_inbox_file(home, path, ab, inputs, data)
            except InputError as exc:
                error = str(exc)
            read.append({"source_file": shown, "size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                         "digest": digest, "parse_key": parse_key, "error": error})
        _parse(conn, inputs)
        _load_table(conn, "_ab_read", READ_COLUMNS, pd.DataFrame(read, columns=list(READ_COLUMNS)))
        forget = [r["source_file"] for r in read] + (gone if n == 0 else [])
        _run_file(conn, "keep_files.sql", {"files": forget})
    return len(to_read)


def _take_files_read(conn: duckdb.DuckDBPyConnection) -> int:
    """The files stage_raw read on this connection since the last load (then 0)."""
    known = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_ab_files_read'").fetchone()[0]
    if not known:
        return 0
    (read,) = conn.execute("SELECT files FROM _ab_files_read").fetchone()
    conn.execute("UPDATE _ab_files_read SET files = 0")
    return read


def _file_error(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The error of the first file in reading order that cannot be read (it fails every day, as a fresh read)."""
    row = conn.execute(
        "SELECT f.error FROM raw.amazon_business_files f JOIN _ab_order o USING (source_file) "
        "WHERE f.error IS NOT NULL ORDER BY o.source_order LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def _days_of(inputs: Inputs, timezone: str) -> list[dt.date]:
    """The business days the inputs' transactions book on, plus the day before for split-payment parts
    (their other part, read elsewhere, may be earlier)."""
    with duckdb.connect() as conn:
        conn.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
        _run_file(conn, "schema.sql", {})  # no kept files here: the inputs are all parsed on the spot
        _run_file(conn, "macros.sql", {})
        _set_reading_order(conn, [])
        _parse(conn, inputs)
        _run_file(conn, "candidates.sql", {"tz": timezone})
        days = conn.execute(
            """SELECT DISTINCT d FROM (
                   SELECT business_date AS d FROM _ab_txn
                   UNION ALL SELECT local_date - 1 FROM _ab_txn WHERE len(associated_ids) > 0)
               WHERE d IS NOT NULL ORDER BY d"""
        ).fetchall()
    return [d for (d,) in days]


class AmazonBusiness(Source):
    name = NAME
    label = "Amazon Business"
    checks = (
        BALANCED,
        DayCheck(
            "payments_match_transactions",
            "per day, the payment-instrument lines equal the booked transactions' amounts (no part doubled or lost)",
            __file__,
            "check_payments_match.sql",
        ),
    )

    @staticmethod
    def settings_of(settings: Settings) -> AmazonBusinessSettings:
        return settings.sources.amazon_business

    # -- configuration as SQL tables --------------------------------------------------------------

    def register_config(self, conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        super().register_config(conn, settings)
        ab = self.settings_of(settings)
        # The stages of a run call this repeatedly on one connection: rebuild only when settings changed.
        fingerprint = hashlib.sha256(ab.model_dump_json().encode()).hexdigest()
        known = conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'cfg_ab_fingerprint'"
        ).fetchone()[0]
        if known and conn.execute("SELECT fingerprint FROM cfg_ab_fingerprint").fetchone()[0] == fingerprint:
            return
        _run_file(conn, "macros.sql", {})
        instruments = [
            {"priority": i, "name": c.name, "pattern": pattern, "exclude": c.exclude, "account": c.account,
             "sub_account": c.sub_account}
            for i, c in enumerate(ab.payment_instruments, start=1) for pattern in c.patterns
        ]
        _load_table(conn, "cfg_ab_instruments",
                    {"priority": "INTEGER", "name": "VARCHAR", "pattern": "VARCHAR", "exclude": "BOOLEAN",
                     "account": "VARCHAR", "sub_account": "VARCHAR"}, pd.DataFrame(instruments))
        rules = [
            {"priority": i, "kind": r.matcher[0], "value": r.matcher[1], "account": r.account,
             "sub_account": r.sub_account, "tax_category": r.tax_category, "confidence": r.confidence}
            for i, r in enumerate(ab.rules, start=1)
        ]
        _load_table(conn, "cfg_ab_rules",
                    {"priority": "INTEGER", "kind": "VARCHAR", "value": "VARCHAR", "account": "VARCHAR",
                     "sub_account": "VARCHAR", "tax_category": "VARCHAR", "confidence": "DOUBLE"}, pd.DataFrame(rules))
        defaults = [
            {"priority": i, "kind": "unspsc" if d.unspsc is not None else "category",
             "value": d.unspsc if d.unspsc is not None else d.category, "account": d.account,
             "sub_account": d.sub_account}
            for i, d in enumerate(ab.default_rules, start=1)
        ]
        _load_table(conn, "cfg_ab_default_rules",
                    {"priority": "INTEGER", "kind": "VARCHAR", "value": "VARCHAR", "account": "VARCHAR",
                     "sub_account": "VARCHAR"}, pd.DataFrame(defaults))
        _load_table(conn, "cfg_ab_settings",
                    {"default_account": "VARCHAR", "default_sub_account": "VARCHAR", "default_confidence": "DOUBLE",
                     "review_threshold": "DOUBLE", "learned_asin": "DOUBLE", "learned_title": "DOUBLE",
                     "unknown_account": "VARCHAR", "unknown_sub_account": "VARCHAR"},
                    pd.DataFrame([{
                        "default_account": ab.default_account.account,
                        "default_sub_account": ab.default_account.sub_account,
                        "default_confidence": ab.default_confidence, "review_threshold": ab.review_threshold,
                        "learned_asin": ab.learned_confidence.asin,
                        "learned_title": ab.learned_confidence.title_keyword,
                        "unknown_account": ab.unknown_instrument.account,
                        "unknown_sub_account": ab.unknown_instrument.sub_account,
                    }]))
        _load_table(conn, "cfg_ab_delivered", {"status": "VARCHAR"},
                    pd.DataFrame({"status": ab.delivered_order_statuses}))
        _load_table(conn, "cfg_ab_gl_labels", {"label": "VARCHAR"}, pd.DataFrame({"label": ab.gl_code_labels}))
        _load_table(conn, "cfg_ab_sellers", {"seller": "VARCHAR", "registration_number": "VARCHAR"},
                    pd.DataFrame({"seller": list(ab.seller_registration_numbers),
                                  "registration_number": list(ab.seller_registration_numbers.values())}))
        _run_file(conn, "parsed.sql", {})
        conn.execute("CREATE OR REPLACE TEMP TABLE cfg_ab_fingerprint AS SELECT ? AS fingerprint", [fingerprint])

    # -- inbox ------------------------------------------------------------------------------------

    def days_for_inbox_file(self, home: Path, path: Path) -> list[dt.date] | None:
        """The business days of the file's transactions (see ``_days_of``); None for files not (yet) readable."""
        inbox = inbox_dir(home)
        if (path.suffix.lower() not in FILE_SUFFIXES or path.name.startswith(".") or not path.is_file()
                or not inside(inbox, path)):
            return None
        settings = load_settings()
        inputs = Inputs()
        try:
            read_inbox_file(home, path, self.settings_of(settings), inputs)
        except InputError:
            return None
        return _days_of(inputs, settings.timezone)

    def poll_activity(self, settings: Settings, home: Path, cursor: str | None) -> Activity:
        """Business days of the transactions whose feedDate is after ``cursor`` (an ISO instant), for the
        polling sensor. The first poll looks back ``api.feed_window_days``."""
        ab = self.settings_of(settings)
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        if "api" not in ab.inputs:
            return Activity([], cursor or "", ["sources.amazon_business.inputs has no api: nothing to poll"])
        start = dt.datetime.fromisoformat(cursor) if cursor else now - dt.timedelta(days=ab.api.feed_window_days)
        if start >= now:
            return Activity([], start.isoformat())
        with self._client(ab) as client:
            fetched = list(client.transactions(start, now))
        inputs = Inputs()
        inputs.add_document("api", "api:poll", json.dumps({"transactions": fetched}, ensure_ascii=False))
        days = _days_of(inputs, settings.timezone)
        return Activity(days, now.isoformat(), [f"{len(fetched)} transaction(s) with feedDate from {start.isoformat()}"])

    # -- raw --------------------------------------------------------------------------------------

    def _client(self, ab: AmazonBusinessSettings) -> AmazonBusinessClient:
        return AmazonBusinessClient.from_settings(ab.api)

    def _feed_window(self, settings: Settings, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        ab = self.settings_of(settings)
        day_start = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(settings.timezone))
        start = day_start - dt.timedelta(days=1)
        end = min(day_start + dt.timedelta(days=ab.api.feed_window_days), dt.datetime.now(dt.timezone.utc))
        return start, end

    def stage_raw(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date) -> None:
        """Read new and changed inbox files before the day's transaction (see ``sync_inbox``; never raises
        for bad input: a file that cannot be read is kept with its error, which fails the day in load_raw)."""
        self._sync(conn, settings, home)

    def stage_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                         days: list[dt.date]) -> bool:
        if "api" in self.settings_of(settings).inputs:
            return False  # the API is asked day by day
        self._sync(conn, settings, home)
        return True

    def _sync(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path) -> None:
        ab = self.settings_of(settings)
        if "files" in ab.inputs:
            self.register_config(conn, settings)  # the macros parse.sql uses
            with transaction(conn):
                read = sync_inbox(conn, home, ab, inbox_files(home))
            # counted in the stats of the load that follows
            conn.execute("CREATE OR REPLACE TEMP TABLE _ab_files_read AS SELECT ?::INTEGER AS files", [read])

    def load_raw(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date) -> StageStats:
        return self._load(conn, settings, home, [day])

    def load_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                        days: list[dt.date]) -> StageStats:
        return self._load(conn, settings, home, days)

    def _load(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
              days: list[dt.date]) -> StageStats:
        """Replace the raw rows of ``days`` (one day with API input) from the inbox files' kept rows and the
        API's answers, inside the caller's transaction."""
        ab = self.settings_of(settings)
        self.register_config(conn, settings)
        day = days[0] if len(days) == 1 else None  # the day a message names
        files = inbox_files(home) if "files" in ab.inputs else []
        stats = StageStats(details={"files": len(files), "files_read": 0, "api_transactions": 0, "transactions": 0,
                                    "line_items": 0, "invoices": 0})
        if "files" in ab.inputs:  # normally done by stage_raw: nothing changed since
            stats.details["files_read"] = sync_inbox(conn, home, ab, files) + _take_files_read(conn)
        _set_reading_order(conn, [_relative(home, path) for path in files])
        error = _file_error(conn)
        if error is not None:
            raise InputError(error)
        inputs = Inputs(after=len(files))
        client = self._client(ab) if "api" in ab.inputs else None
        try:
            if client is not None:
                (day,) = days
                start, end = self._feed_window(settings, day)
                if end > start:
                    fetched = list(client.transactions(start, end))
                    stats.details["api_transactions"] = len(fetched)
                    inputs.add_document(
                        "api",
                        f"api:GET {TRANSACTIONS_PATH} feed {start.isoformat()}..{end.isoformat()}",
                        json.dumps({"transactions": fetched}, ensure_ascii=False),
                    )
            _parse(conn, inputs)
            _run_file(conn, "candidates.sql", {"tz": settings.timezone})
            problems = _rows(conn.execute(sql_text(__file__, "candidate_problems.sql")))
            if problems:
                raise InputError(_format_problems(problems, ab, day))
            params = window_params(days)
            _run_file(conn, "store.sql", params)
            if client is not None and ab.api.fetch_invoices:
                self._fetch_invoices(conn, client, day, inputs)
            _run_file(conn, "invoices.sql", params)
        finally:
            if client is not None:
                client.close()
        problems = _rows(run(conn, sql_text(__file__, "validate.sql"), params))
        if problems:
            raise InputError(_format_problems(problems, ab, day))
        counts = run(conn,
            """SELECT (SELECT count(*) FROM raw.amazon_business_transactions
                        WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)),
                      (SELECT count(*) FROM raw.amazon_business_line_items
                        WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)),
                      (SELECT count(DISTINCT (business_date, invoice_number)) FROM raw.amazon_business_invoices
                        WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date))""",
            params,
        ).fetchone()
        stats.details["transactions"], stats.details["line_items"], stats.details["invoices"] = counts
        stats.rows = counts[0]
        return stats

    def _fetch_invoices(self, conn: duckdb.DuckDBPyConnection, client: AmazonBusinessClient, day: dt.date,
                        inputs: Inputs) -> None:
        """The invoice details of the day's line items from the API, as the input read last (_ab_inv)."""
        keys = conn.execute(
            """SELECT DISTINCT order_id, order_line_item_id, shipment_id FROM raw.amazon_business_line_items
               WHERE business_date = ? AND coalesce(order_id, '') <> '' AND coalesce(order_line_item_id, '') <> ''
                 AND coalesce(shipment_id, '') <> ''
               ORDER BY ALL""",
            [day],
        ).fetchall()
        if not keys:
            return
        found = client.invoice_details(
            [{"orderId": o, "orderLineItemId": i, "shipmentId": s} for o, i, s in keys]
        )
        inputs.add_document("api", f"api:POST {INVOICES_PATH}",
                            json.dumps({"transactions": [], "invoiceDetailsByOrderLineItems": found}, ensure_ascii=False))
        _parse(conn, inputs)

    # -- normalized and journal -------------------------------------------------------------------

    def normalize(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        self.register_config(conn, settings)
        _run_file(conn, "normalize.sql", window_params(days))

    def journal(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        self.register_config(conn, settings)
        run(conn, sql_text(__file__, "journal.sql"), {**window_params(days), "rounding": settings.tax.rounding})


SOURCE = AmazonBusiness()
