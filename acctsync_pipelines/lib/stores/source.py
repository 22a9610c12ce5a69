"""STORES (net shop and STORES レジ), retail API v202211: orders and remittances → journal.

Input: the API (``sources.stores.input: api``) or its response JSON dropped into
``$ACCTSYNC_HOME/inbox/stores/`` (``files``, the default). Every version of every record is kept in
``raw.stores_snapshots``; a day is booked from the newest version of each order with an event on it.
Booking: ../shared/spec/accounting.md ("STORES"); the SQL files beside this module do the work.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from acctsync_pipelines.lib.config import Settings, load_settings
from acctsync_pipelines.lib.config_tables import replace_temp_table
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.polling import Activity
from acctsync_pipelines.lib.sources import BALANCED, DayCheck, Source, StageStats, window_params
from acctsync_pipelines.lib.sql import run, split_statements, sql_text
from acctsync_pipelines.lib.stores.client import StoresClient, api_token
from acctsync_pipelines.lib.stores.settings import StoresSettings
from acctsync_pipelines.lib.textfiles import inside
from acctsync_pipelines.lib.warehouse import register_schema

register_schema(__file__, "schema.sql")

# Top-level key of an API response → (record kind, JSON path of its records).
LISTS = {
    "orders": ("order", "$.orders[*]"),
    "remittances": ("remittance", "$.remittances[*]"),
    "sales_channels": ("sales_channel", "$.sales_channels[*]"),
}
API_TIMEZONE = ZoneInfo("Asia/Tokyo")  # the API's date-time filters are Japan time


def inbox_dir(home: Path) -> Path:
    return home / "inbox" / "stores"


def inbox_files(home: Path) -> list[Path]:
    """JSON files under the inbox (sub-folders too); symlinks and anything outside it are ignored."""
    inbox = inbox_dir(home)
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.rglob("*.json") if p.is_file() and inside(inbox, p))


@dataclass(frozen=True)
class Listing:
    kind: str
    list_path: str
    text: str


def parse_input(label: str, data: bytes) -> tuple[dict, list[Listing]]:
    """An API response (file or body) → its record lists. Raises InputError naming ``label``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: not UTF-8 text (byte {exc.start}); STORES API JSON is UTF-8") from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{label}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    if not isinstance(body, dict):
        raise InputError(f"{label}: expected a JSON object (a STORES API response), found {type(body).__name__}")
    listings = []
    for key, (kind, list_path) in LISTS.items():
        if key in body:
            if not isinstance(body[key], list):
                raise InputError(f"{label}: {key!r} must be a list, found {type(body[key]).__name__}")
            listings.append(Listing(kind, list_path, text))
    if "remittance_id" in body or "order_ids" in body:
        if not isinstance(body.get("order_ids"), list) or not body.get("remittance_id"):
            raise InputError(f"{label}: a remittance's order ids need 'remittance_id' and an 'order_ids' list")
        listings.append(Listing("remittance_order_ids", "$[*]", f"[{text}]"))
    if not listings:
        keys = ", ".join(map(repr, body)) or "none"
        raise InputError(
            f"{label}: not a STORES API response: expected 'orders', 'remittances', 'sales_channels' or "
            f"'remittance_id' + 'order_ids'; found keys {keys}"
        )
    return body, listings


# DuckDB's JSON reader also takes a trailing comma and nan/inf literals in any case, which Python's json (the
# judge of what input is valid) refuses; a text that may hold either is read the slow way.
_TRAILING_COMMA = re.compile(rb",[ \t\n\r]*[\]}]")


def read_input(conn: duckdb.DuckDBPyConnection, label: str, data: bytes) -> list[Listing]:
    """An inbox file → its record lists, exactly as ``parse_input`` gives them (same lists, same InputError).

    A well-formed response (an object whose 'orders', 'remittances' and 'sales_channels' present are
    lists, each key once) is recognised by DuckDB, without building the whole document in Python; any
    other input goes to ``parse_input``, which decides and names the problem.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return parse_input(label, data)[1]
    lowered = data.lower()
    if _TRAILING_COMMA.search(data) is None and b"nan" not in lowered and b"inf" not in lowered:
        shape = run(conn, sql_text(__file__, "shape.sql"), {"text": text}).fetchone()
        if shape is not None:
            (top, *lists, remittance_id, order_ids), keys = shape
            if (top == "OBJECT" and len(set(keys)) == len(keys) and remittance_id is None and order_ids is None
                    and set(lists) <= {None, "ARRAY"} and "ARRAY" in lists):
                return [Listing(kind, list_path, text)
                        for (kind, list_path), found in zip(LISTS.values(), lists) if found == "ARRAY"]
    return parse_input(label, data)[1]


def _instant(stamp) -> dt.datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=API_TIMEZONE)


def order_instants(order: dict) -> list[dt.datetime]:
    """When an order's events happened: ordered, shipped, cancelled, paid, refunded."""
    stamps = [order.get("ordered_at")]
    stamps += [d.get(k) for d in order.get("deliveries") or [] if isinstance(d, dict)
               for k in ("shipped_at", "canceled_at")]
    stamps += [t.get("paid_at") for t in order.get("transactions") or [] if isinstance(t, dict)]
    return [m for m in map(_instant, stamps) if m is not None]


def event_days(body: dict, tz: ZoneInfo, since: dt.datetime | None = None) -> set[dt.date]:
    """Every business day an API response's records have an event on (a superset of what is booked);
    with ``since``, only events at or after it."""
    days = {moment.astimezone(tz).date()
            for order in body.get("orders") or [] if isinstance(order, dict)
            for moment in order_instants(order) if since is None or moment >= since}
    for remittance in body.get("remittances") or []:
        if isinstance(remittance, dict) and isinstance(remittance.get("transferred_date"), str):
            try:
                transferred = dt.date.fromisoformat(remittance["transferred_date"])
            except ValueError:
                continue
            if since is None or transferred >= since.astimezone(tz).date():
                days.add(transferred)
    return days


class Stores(Source):
    name = "stores"
    label = "STORES"
    checks = (
        BALANCED,
        DayCheck(
            "sales_match_tax_details",
            "per order event and tax rate, 売上高 and its output tax equal the order's tax_details "
            "(sales − cancellations)",
            __file__,
            "check_sales_match_tax_details.sql",
        ),
        DayCheck(
            "payouts_match_remittances",
            "per remittance, the bank receives transfer_amount and 売掛金 is cleared by sales_amount − payment_fee",
            __file__,
            "check_payouts_match_remittances.sql",
        ),
    )

    @staticmethod
    def settings_of(settings: Settings) -> StoresSettings:
        return settings.sources.stores

    def register_config(self, conn: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        # The temp tables live as long as the connection; a stage calls this once per day.
        fingerprint = hashlib.sha256(settings.model_dump_json().encode()).hexdigest()
        registered = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary "
                                  "AND table_name = 'cfg_stores_fingerprint'").fetchall() == [(1,)]
        if registered and conn.execute("SELECT fingerprint FROM cfg_stores_fingerprint").fetchall() == [(fingerprint,)]:
            return
        super().register_config(conn, settings)
        stores = self.settings_of(settings)
        replace_temp_table(conn, "cfg_stores_payment_types", pd.DataFrame(
            {"type": list(stores.payment_types),
             "account": [r.account for r in stores.payment_types.values()],
             "sub_account": [r.sub_account for r in stores.payment_types.values()]}, dtype="str"))
        replace_temp_table(conn, "cfg_stores_custom_tenders", pd.DataFrame(
            {"name": list(stores.custom_tenders),
             "account": [r.account for r in stores.custom_tenders.values()],
             "sub_account": [r.sub_account for r in stores.custom_tenders.values()]}, dtype="str"))
        replace_temp_table(conn, "cfg_stores_departments", pd.DataFrame(
            {"sales_channel_id": list(stores.departments), "department": list(stores.departments.values())},
            dtype="str"))
        booking = stores.accounts.model_dump()
        sales = booking.pop("sales")
        replace_temp_table(conn, "cfg_stores_booking", pd.DataFrame(
            {"key": ["sales", *booking],
             "account": [sales, *(b["account"] for b in booking.values())],
             "sub_account": ["", *(b["sub_account"] for b in booking.values())],
             "tax_category": ["", *(b["tax_category"] for b in booking.values())]}, dtype="str"))
        conn.execute("CREATE OR REPLACE TEMP TABLE cfg_stores_fingerprint AS SELECT ? AS fingerprint", [fingerprint])

    def days_for_inbox_file(self, home: Path, path: Path) -> list[dt.date] | None:
        """The days an inbox JSON file has events on (ordered, shipped, cancelled, paid, transferred)."""
        inbox = inbox_dir(home)
        if path.suffix.lower() != ".json" or not path.is_file() or not inside(inbox, path):
            return None
        try:
            body, _ = parse_input(str(path), path.read_bytes())
        except (InputError, OSError):
            return None  # unreadable, still being written, or not a STORES response
        settings = load_settings()
        first = self.settings_of(settings).start_date
        return sorted(d for d in event_days(body, ZoneInfo(settings.timezone)) if d >= first)

    def poll_activity(self, settings: Settings, home: Path, cursor: str | None) -> Activity:
        """For the polling sensor: the days with events since ``cursor`` (an ISO instant; the first
        poll looks back a day). Orders are asked for by ordered_at (with the lookback, since a shipment
        or payment can come long after the order) and canceled_at; remittances by transferred_date."""
        stores = self.settings_of(settings)
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        if stores.input != "api":
            return Activity([], cursor or "", ["sources.stores.input is files: nothing to poll"])
        since = dt.datetime.fromisoformat(cursor) if cursor else now - dt.timedelta(days=1)
        if since >= now:
            return Activity([], since.isoformat())
        tz = ZoneInfo(settings.timezone)
        with self._client(stores) as client:
            pages = [*client.orders(ordered_at_from=_api_stamp(since - dt.timedelta(days=stores.api.lookback_days)),
                                    ordered_at_to=_api_stamp(now), direction="asc"),
                     *client.orders(canceled_at_from=_api_stamp(since), canceled_at_to=_api_stamp(now),
                                    direction="asc"),
                     *client.remittances(transferred_date_from=since.astimezone(API_TIMEZONE).date().isoformat())]
        days: set[dt.date] = set()
        for page in pages:
            days |= event_days(json.loads(page.text), tz, since)
        first = stores.start_date
        return Activity(sorted(d for d in days if d >= first), now.isoformat(),
                        [f"{sum(p.records for p in pages)} record(s) read for activity since {since.isoformat()}"])

    @staticmethod
    def _client(stores: StoresSettings) -> StoresClient:
        api = stores.api
        return StoresClient(api.base_url, api_token(), page_size=api.page_size, timeout_seconds=api.timeout_seconds,
                            max_attempts=api.max_attempts, backoff_seconds=api.backoff_seconds,
                            max_wait_seconds=api.max_wait_seconds, min_interval_seconds=api.min_interval_seconds)

    # -- raw -------------------------------------------------------------------------------------

    def load_raw(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date) -> StageStats:
        return self._load(conn, settings, home, [day])

    def stage_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                         days: list[dt.date]) -> bool:
        return self.settings_of(settings).input != "api"  # the API is asked day by day

    def load_raw_window(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path,
                        days: list[dt.date]) -> StageStats:
        return self._load(conn, settings, home, days)

    def _load(self, conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, days: list[dt.date]) -> StageStats:
        stores = self.settings_of(settings)
        self.register_config(conn, settings)
        (before,) = conn.execute("SELECT count(*) FROM raw.stores_snapshots").fetchall()[0]
        if stores.input == "api":
            (day,) = days
            read = self._fetch_api(conn, stores, ZoneInfo(settings.timezone), day)
            details = {"api_requests": read}
        else:
            details = {"files_read": self._scan_inbox(conn, home)}
        (after,) = conn.execute("SELECT count(*) FROM raw.stores_snapshots").fetchall()[0]
        params = {**window_params(days), "tz": settings.timezone}
        for statement in split_statements(sql_text(__file__, "pin_day.sql")):
            run(conn, statement, params)
        counts = dict(run(conn,
            "SELECT kind, count(*) FROM raw.stores_day_records WHERE business_date BETWEEN $first_day AND $last_day "
            "AND list_contains($days, business_date) GROUP BY kind", params,
        ).fetchall())
        details |= {"new_versions": after - before, "orders": counts.get("order", 0),
                    "remittances": counts.get("remittance", 0)}
        if details["orders"] or details["remittances"]:
            self._validate(conn, days)
        return StageStats(rows=details["orders"] + details["remittances"], details=details)

    def _ingest(self, conn: duckdb.DuckDBPyConnection, source_file: str, listing: Listing, *,
                observed_at: dt.datetime, digest: str = "", size_bytes: int | None = None,
                mtime_ns: int | None = None) -> None:
        params = {"text": listing.text, "list_path": listing.list_path, "kind": listing.kind,
                  "source_file": source_file, "observed_at": observed_at, "digest": digest,
                  "size_bytes": size_bytes, "mtime_ns": mtime_ns}
        statements = split_statements(sql_text(__file__, "ingest.sql"))
        run(conn, statements[0], params)
        self._check_incoming(conn, source_file)
        for statement in statements[1:]:
            run(conn, statement, params)

    @staticmethod
    def _check_incoming(conn: duckdb.DuckDBPyConnection, source_file: str) -> None:
        """Records that cannot even be placed (no id, no order number or order date) fail the input."""
        problems = conn.execute(  # number and ordered_at: the records' $.number and $.ordered_at (ingest.sql)
            """SELECT source_index, kind,
                      CASE WHEN record_id IS NULL OR record_id = ''
                           THEN CASE kind WHEN 'remittance_order_ids' THEN '$.remittance_id' ELSE '$.id' END
                           WHEN kind = 'order' AND coalesce(number, '') = '' THEN '$.number'
                           ELSE '$.ordered_at' END AS path,
                      CASE WHEN record_id IS NULL OR record_id = '' THEN 'missing'
                           WHEN kind = 'order' AND coalesce(number, '') = '' THEN 'missing'
                           ELSE coalesce(ordered_at, 'missing') END AS value
               FROM stores_incoming
               WHERE record_id IS NULL OR record_id = ''
                  OR (kind = 'order' AND (coalesce(number, '') = ''
                                          OR TRY_CAST(ordered_at AS TIMESTAMPTZ) IS NULL))
               ORDER BY source_index LIMIT 20"""
        ).fetchall()
        if problems:
            lists = {"order": "orders", "remittance": "remittances", "sales_channel": "sales_channels"}
            listed = "\n  ".join(f"{source_file}: {lists.get(kind, kind)}[{index}]: {path} = {value!r}: required"
                                 for index, kind, path, value in problems)
            raise InputError(f"{source_file}: records without their identity cannot be booked:\n  {listed}")

    def _scan_inbox(self, conn: duckdb.DuckDBPyConnection, home: Path) -> int:
        """Take new and changed inbox files in; forget files that left the inbox. Returns files read."""
        known = {row[0]: row[1:] for row in conn.execute(
            "SELECT source_file, digest, size_bytes, mtime_ns FROM raw.stores_inputs WHERE source_file NOT LIKE 'api:%'"
        ).fetchall()}
        present = set()
        read = 0
        for path in inbox_files(home):
            source_file = str(path.relative_to(home))
            present.add(source_file)
            stat = path.stat()
            digest_seen, size_seen, mtime_seen = known.get(source_file, (None, None, None))
            if size_seen == stat.st_size and mtime_seen == stat.st_mtime_ns:
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            observed_at = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, dt.timezone.utc)
            if digest == digest_seen:
                conn.execute("UPDATE raw.stores_inputs SET size_bytes = ?, mtime_ns = ? WHERE source_file = ?",
                             [stat.st_size, stat.st_mtime_ns, source_file])
                continue
            listings = read_input(conn, source_file, data)
            conn.execute("DELETE FROM raw.stores_sightings WHERE source_file = ?", [source_file])
            for listing in listings:
                self._ingest(conn, source_file, listing, observed_at=observed_at, digest=digest,
                             size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns)
            read += 1
        gone = [f for f in known if f not in present]
        if gone:
            conn.execute("DELETE FROM raw.stores_sightings WHERE list_contains(?, source_file)", [gone])
            conn.execute("DELETE FROM raw.stores_inputs WHERE list_contains(?, source_file)", [gone])
        return read

    def _fetch_api(self, conn: duckdb.DuckDBPyConnection, stores: StoresSettings, tz: ZoneInfo,
                   day: dt.date) -> int:
        """Read the day from the API: orders placed in the lookback window or cancelled on the day,
        remittances transferred on the day (with their order ids), and the stores' names."""
        start = dt.datetime.combine(day, dt.time(), tz)
        end = start + dt.timedelta(days=1) - dt.timedelta(seconds=1)
        requests = 0
        with self._client(stores) as client:
            def take(pages, kind: str, list_path: str, wrap: bool = False) -> list[str]:
                nonlocal requests
                texts = []
                for page in pages:
                    requests += 1
                    text = f"[{page.text}]" if wrap else page.text
                    self._ingest(conn, "api:" + page.path, Listing(kind, list_path, text),
                                 observed_at=dt.datetime.now(dt.timezone.utc))
                    texts.append(page.text)
                return texts

            take(client.orders(ordered_at_from=_api_stamp(start - dt.timedelta(days=stores.api.lookback_days)),
                               ordered_at_to=_api_stamp(end), direction="asc"), "order", "$.orders[*]")
            take(client.orders(canceled_at_from=_api_stamp(start), canceled_at_to=_api_stamp(end), direction="asc"),
                 "order", "$.orders[*]")
            remittance_pages = take(client.remittances(transferred_date_from=day.isoformat(),
                                                       transferred_date_to=day.isoformat()),
                                    "remittance", "$.remittances[*]")
            for text in remittance_pages:
                for remittance in json.loads(text).get("remittances", []):
                    if isinstance(remittance, dict) and remittance.get("id"):
                        take([client.remittance_order_ids(str(remittance["id"]))], "remittance_order_ids", "$[*]",
                             wrap=True)
            take(client.sales_channels(), "sales_channel", "$.sales_channels[*]")
        return requests

    def _validate(self, conn: duckdb.DuckDBPyConnection, days: list[dt.date]) -> None:
        problems = run(conn, sql_text(__file__, "validate.sql"), window_params(days)).fetchall()
        if not problems:
            return
        messages = [f"{source_file}: {position} ({record}): {path} = {'missing' if value is None else value}: {problem}"
                    for source_file, position, record, path, value, problem in problems]
        more = "" if len(problems) < 50 else "\n  (further problems not listed)"
        day = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
        raise InputError(
            f"stores {day}: records that cannot be booked; nothing of this day is posted:\n  "
            + "\n  ".join(messages) + more
        )

    # -- normalized and journal -------------------------------------------------------------------

    def normalize(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        params = window_params(days)
        run(conn, "DELETE FROM staging.stores_output_tax WHERE business_date BETWEEN $first_day AND $last_day "
                  "AND list_contains($days, business_date)", params)
        if not _has_rows(conn, "raw.stores_day_records", days):
            return
        self.register_config(conn, settings)
        params |= {"basis": self.settings_of(settings).recognition, "tz": settings.timezone}
        for statement in split_statements(sql_text(__file__, "normalize.sql")):
            run(conn, statement, params)

    def journal(self, conn: duckdb.DuckDBPyConnection, settings: Settings, days: list[dt.date]) -> None:
        if not _has_rows(conn, "staging.normalized_transactions", days, "source = 'stores' AND "):
            return
        self.register_config(conn, settings)
        run(conn, sql_text(__file__, "journal.sql"), {**window_params(days), "rounding": settings.tax.rounding})


def _api_stamp(moment: dt.datetime) -> str:
    """The API's date-time filter format, in Japan time."""
    return moment.astimezone(API_TIMEZONE).strftime("%Y-%m-%dT%H:%M:%S")


def _has_rows(conn: duckdb.DuckDBPyConnection, table: str, days: list[dt.date], condition: str = "") -> bool:
    return run(conn, f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {condition}business_date BETWEEN $first_day "
                     "AND $last_day AND list_contains($days, business_date))", window_params(days)).fetchall() == [(True,)]


SOURCE = Stores()
