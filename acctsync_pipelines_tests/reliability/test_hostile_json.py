"""Hostile JSON for the two API-shaped sources (STORES, Amazon Business): wrong types, missing keys,
truncated JSON, empty files, amounts as strings, floats or overflowing, unknown tenders, dates outside
the partitions.

Their inbox files are not per day: every run reads the whole inbox and books the records of its day.
So there are two kinds of case:

- **record cases**: one broken record on its own business day. All sit in the inbox at once, between two
  good days, and run as one range through the real Dagster job: each case day fails with a message
  naming the file, the record, the field and the value; nothing of it is booked or posted; the good days
  keep exactly what they had. An unknown tender is not a failure: its entry waits in the review queue.
  A record dated outside the partitions (2099, or before the source's start) is booked by no run.
- **file cases**: a file that cannot be read at all (truncated, empty, not an object, not UTF-8, a list
  that is not a list, a record without its identity). Such a file stops every day that reads the inbox
  until it is fixed, so each is put in alone and a good day re-run: the run fails naming the file (and
  record, field and value where there is one), and the day keeps what it had.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from acctsync_pipelines.lib import sources as stages
from acctsync_pipelines.lib.amazon_business.source import SOURCE as AMAZON_BUSINESS
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.stores.source import SOURCE as STORES
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.conftest import Home, failure_text, module_home
from acctsync_pipelines_tests.lib.amazon_business import builders as ab
from acctsync_pipelines_tests.lib.stores import builders as stores
from acctsync_pipelines_tests.reliability.conftest import FULL

FIRST_CASE_DAY = dt.date(2025, 3, 2)
GOOD_BEFORE = FIRST_CASE_DAY - dt.timedelta(days=1)


@dataclass(frozen=True)
class RecordCase:
    name: str
    mutate: Callable[[dict], None]
    expect: tuple[str, ...] = ()     # parts of the day's error after "<file>: "
    outcome: str = "refused"         # refused | review | never_booked


@dataclass(frozen=True)
class FileCase:
    name: str
    content: Callable[[bytes], bytes]   # from a good file's bytes
    expect: tuple[str, ...] = field(default=())


def setter(path: str, value: object) -> Callable[[dict], None]:
    """Set (or, with value ``...``, delete) a key; ``path`` like 'transactions.0.amount'."""
    def mutate(record: dict) -> None:
        *parents, last = path.split(".")
        node = record
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return mutate


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


# --- STORES ------------------------------------------------------------------------------------------

STORES_RECORDS = [
    RecordCase("amount_as_string", setter("sales_amount", "5500"),
               ('$.sales_amount = "5500": sales_amount is not a whole number of yen',)),
    RecordCase("amount_as_float", setter("sales_amount", 5500.5),
               ("$.sales_amount = 5500.5: sales_amount is not a whole number of yen",)),
    RecordCase("amount_overflowing", setter("sales_amount", 10 ** 30),
               (f"$.sales_amount = {10 ** 30}: sales_amount is not a whole number of yen",)),
    RecordCase("amount_missing", setter("sales_amount", ...),
               ("$.sales_amount = missing: sales_amount is not a whole number of yen",
                "the order's sales_amount is missing")),
    RecordCase("payment_amount_as_string", setter("transactions.0.amount", "5500"),
               ('$.transactions[0].amount = "5500": amount is not a whole number of yen',)),
    RecordCase("payment_amount_missing", setter("transactions.0.amount", ...),
               ("$.transactions[0].amount = missing: amount is not a whole number of yen",)),
    RecordCase("tax_details_not_a_list", setter("tax_details", "none"),
               ('$.tax_details = "none": tax_details is not a list',)),
    RecordCase("transactions_not_a_list", setter("transactions", {"amount": 5500}),
               ('$.transactions = {"amount":5500}: transactions is not a list',)),
    RecordCase("tax_rate_as_text", setter("tax_details.0.tax_rate", "ten"),
               ('$.tax_details[0].tax_rate = "ten": tax rate ten is not one of the configured rates',)),
    RecordCase("paid_at_not_a_date", setter("transactions.0.paid_at", "昨日"),
               ("$.transactions[0].paid_at = 昨日: paid_at is not a date-time",)),
    RecordCase("unknown_payment_type", setter("transactions.0.type", "bitcoin"), outcome="review"),
    RecordCase("dated_in_the_future", setter("ordered_at", "2099-06-02T12:00:00+09:00"), outcome="never_booked"),
    RecordCase("dated_before_the_start", setter("ordered_at", "2024-12-31T12:00:00+09:00"), outcome="never_booked"),
]

STORES_FILES = [
    FileCase("truncated_json", truncate, ("not valid JSON",)),
    FileCase("empty_file", lambda d: b"", ("line 1 column 1: not valid JSON",)),
    FileCase("not_an_object", lambda d: b"[1, 2]", ("expected a JSON object (a STORES API response), found list",)),
    FileCase("not_utf8", lambda d: d.replace("テスト商品".encode(), "テスト商品".encode("cp932")),
             ("not UTF-8 text (byte",)),
    FileCase("orders_not_a_list", lambda d: b'{"orders": "none"}', ("'orders' must be a list, found str",)),
    FileCase("order_without_number", lambda d: _edit_json(d, lambda b: b["orders"][0].pop("number")),
             ("orders[0]: $.number = 'missing': required",)),
    FileCase("ordered_at_not_a_date", lambda d: _edit_json(d, lambda b: b["orders"][0].update(ordered_at="昨日")),
             ("orders[0]: $.ordered_at = '昨日': required",)),
]


def _edit_json(data: bytes, change: Callable[[dict], object]) -> bytes:
    body = json.loads(data)
    change(body)
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def stores_record(number: str, day: dt.date) -> dict:
    return stores.order(number, f"{day}T12:00:00+09:00")


def write_stores(inbox: Path, name: str, records: list[dict]) -> Path:
    return stores.write_json(inbox, name, {"orders": records})


# --- Amazon Business ---------------------------------------------------------------------------------

AB_RECORDS = [
    RecordCase("amount_as_float", setter("amount.amount", "1100.5"),
               ("field amount.amount: value '1100.5': not a whole yen amount",)),
    RecordCase("amount_overflowing", setter("amount.amount", "1" + "0" * 30),
               (f"field amount.amount: value '1{'0' * 30}': not an amount",)),
    RecordCase("amount_as_text", setter("amount.amount", "千百円"),
               ("field amount.amount: value '千百円': not an amount",)),
    RecordCase("amount_missing", setter("amount", ...), ("field amount.amount: value missing: not an amount",)),
    RecordCase("line_total_not_an_object", setter("transactionLineItems.0.totalAmount", "1100"),
               ("transactionLineItems[1]: field totalAmount.amount: value missing: not an amount",)),
    RecordCase("quantity_as_text", setter("transactionLineItems.0.itemQuantity", "two"),
               ("transactionLineItems[1]: field itemQuantity: value 'two': not a whole number",)),
    RecordCase("tax_rate_as_text", setter("transactionLineItems.0.taxRate", "ten"),
               ("transactionLineItems[1]: field taxRate: value 'ten': unknown tax rate",)),
    RecordCase("unknown_transaction_type", setter("transactionType", "GIFT"),
               ("field transactionType: value 'GIFT': unknown transaction type",)),
    RecordCase("unknown_tender", setter("paymentInstrumentType", "Bitcoin"), outcome="review"),
    RecordCase("dated_in_the_future", setter("transactionDate", "2099-06-02T03:00:00Z"), outcome="never_booked"),
    RecordCase("dated_before_the_start", setter("transactionDate", "2019-06-02T03:00:00Z"), outcome="never_booked"),
]

AB_FILES = [
    FileCase("truncated_json", truncate, ("row 1: not valid JSON",)),
    FileCase("empty_file", lambda d: b"", ("row 1: not valid JSON",)),
    FileCase("not_an_object", lambda d: b"[1, 2]", ('expected a JSON object {"transactions": [...]}',)),
    FileCase("not_utf8", lambda d: d.replace("ペン".encode(), b"\xe9\xe9\xe9"), ("neither UTF-8 nor CP932",)),
    FileCase("transactions_not_a_list", lambda d: b'{"transactions": "none"}', ("expected a JSON object",)),
    FileCase("transaction_not_an_object", lambda d: b'{"transactions": [17]}',
             ("transaction 1: field transactionId: value missing: missing transaction id",)),
    FileCase("transaction_id_missing", lambda d: _edit_json(d, lambda b: b["transactions"][0].pop("transactionId")),
             ("transaction 1: field transactionId: value missing: missing transaction id",)),
    FileCase("date_not_a_date",
             lambda d: _edit_json(d, lambda b: b["transactions"][0].update(transactionDate="yesterday",
                                                                           transactionId="TDATE")),
             ("field transactionDate: value 'yesterday': not an ISO 8601 date-time",)),
    FileCase("line_items_not_a_list",
             lambda d: _edit_json(d, lambda b: b["transactions"][0].update(transactionLineItems={"a": 1})),
             ("""field transactionLineItems: value '{"a":1}': not a list of line items""",)),
]


def ab_record(number: str, day: dt.date) -> dict:
    return ab.txn(f"T{number}", f"{day}T03:00:00Z", 1100,
                  [ab.item(f"250-{number.zfill(7)}-0000001", 1, "ペン", 1100, tax=100)])


def write_ab(inbox: Path, name: str, records: list[dict]) -> Path:
    return ab.write_json(inbox, name, records)


# --- the runs ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    source: str
    records: list[RecordCase]
    files: list[FileCase]
    record: Callable[[str, dt.date], dict]
    write: Callable[[Path, str, list[dict]], Path]
    config: dict


SOURCES = {
    "stores": Kind("stores", STORES_RECORDS, STORES_FILES, stores_record, write_stores,
                   {"sources": {"stores": {"recognition": "ordered"}}}),
    "amazon_business": Kind("amazon_business", AB_RECORDS, AB_FILES, ab_record, write_ab,
                            {"sources": {"amazon_business": {
                                "rules": [{"unspsc": "47", "account": "事務用品費"}]}}}),
}


SOURCE_OBJECTS = {"stores": STORES, "amazon_business": AMAZON_BUSINESS}


def case_day(kind: Kind, case: RecordCase) -> dt.date:
    return FIRST_CASE_DAY + dt.timedelta(days=kind.records.index(case))


def good_after(kind: Kind) -> dt.date:
    return FIRST_CASE_DAY + dt.timedelta(days=len(kind.records))


def ledger(home: Home, days: list[dt.date]) -> dict:
    """What the good days have: journal lines, the posting log, posted lines and the Yayoi files."""
    return {
        "journal": home.query("SELECT entry_id, line_no, side, account, amount FROM ledger.journal_entry_lines "
                              "WHERE list_contains(?, business_date) ORDER BY ALL", [days]),
        "postings": home.query("SELECT target, entry_id, action, content_hash, batch_id, action_seq "
                               "FROM ledger.postings ORDER BY ALL"),
        "posted_lines": home.query("SELECT * FROM ledger.posted_lines ORDER BY ALL"),
        "exports": {p.name: p.read_bytes() for p in home.export_files()},
    }


@pytest.fixture(scope="module")
def hostile_homes(tmp_path_factory):
    """Per source, built on first use and kept for the module: good days booked, then the record cases run."""
    with contextlib.ExitStack() as stack:
        built: dict[str, dict] = {}

        def get(source: str) -> dict:
            if source not in built:
                built[source] = stack.enter_context(_hostile_home(tmp_path_factory, SOURCES[source]))
            return built[source]

        yield get


@contextlib.contextmanager
def _hostile_home(tmp_path_factory, kind: Kind):
    with module_home(tmp_path_factory, f"hostile_{kind.source}") as home:
        home.configure(kind.config)
        inbox = home.inbox(kind.source)
        good_days = [GOOD_BEFORE, good_after(kind)]
        good_file = kind.write(inbox, "good.json", [kind.record(f"{n + 1}", day) for n, day in enumerate(good_days)])
        result = home.materialize(kind.source, GOOD_BEFORE, good_after(kind))
        assert result.success, failure_text(result)
        before = ledger(home, good_days)
        assert before["journal"] and before["postings"], "the good days must book and post something"

        for n, case in enumerate(kind.records):
            record = kind.record(f"{100 + n}", case_day(kind, case))
            case.mutate(record)
            kind.write(inbox, f"{case.name}.json", [record])
        # the refused cases come first: a stage that fails for some days of a range stops the range there
        refused = [c for c in kind.records if c.outcome == "refused"]
        assert kind.records[:len(refused)] == refused
        result = home.materialize(kind.source, FIRST_CASE_DAY, case_day(kind, refused[-1]))
        assert not result.success
        errors = dict(home.query("SELECT business_date, message FROM ops.day_errors WHERE source = ?", [kind.source]))
        rest = home.materialize(kind.source, case_day(kind, kind.records[len(refused)]), good_after(kind))
        assert rest.success, failure_text(rest)
        yield {"kind": kind, "home": home, "before": before, "good_days": good_days, "errors": errors,
               "failure_text": failure_text(result), "good_file": good_file}


def record_cases() -> list:
    return [pytest.param(source, case, id=f"{source}-{case.name}")
            for source, kind in sorted(SOURCES.items()) for case in kind.records]


def file_cases() -> list:
    return [pytest.param(source, case, id=f"{source}-{case.name}")
            for source, kind in sorted(SOURCES.items()) for case in kind.files]


@pytest.mark.parametrize("source,case", record_cases())
def test_each_broken_record_fails_its_own_day_naming_file_record_field_value(source, case, hostile_homes):
    hostile_for = hostile_homes(source)
    kind, home = hostile_for["kind"], hostile_for["home"]
    day = case_day(kind, case)
    file = f"inbox/{kind.source}/{case.name}.json: "
    message = hostile_for["errors"].get(day)
    booked = home.query("SELECT count(*) FROM ledger.journal_entry_lines WHERE business_date = ?", [day])[0][0]
    posted = home.query("SELECT count(*) FROM ledger.postings WHERE business_date = ?", [day])[0][0]
    if case.outcome == "refused":
        assert message is not None, f"{case.name}: day {day} did not fail"
        for expected in case.expect:
            assert file in message and expected in message, message
            assert any(line.strip().startswith(file) and expected in line for line in message.splitlines()), message
        assert f"{day}" in hostile_for["failure_text"]
        assert booked == 0
    else:
        assert message is None, message
        if case.outcome == "review":  # booked, held in the review queue, not posted
            statuses = {s for (s,) in home.query(
                "SELECT DISTINCT status FROM ledger.journal_lines WHERE business_date = ?", [day])}
            assert booked and statuses == {"needs_review"}, statuses
        else:  # dated outside every partition: no run books it
            assert booked == 0
            assert home.query("SELECT count(*) FROM ledger.journal_entry_lines WHERE business_date NOT BETWEEN ? AND ?",
                              [GOOD_BEFORE, good_after(kind)]) == [(0,)]
    assert posted == 0
    assert not list(home.exports().glob(f"{kind.source}_{day:%Y%m%d}_*"))


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_broken_records_leave_the_good_days_untouched(source, hostile_homes, figures):
    hostile_json = hostile_homes(source)
    kind, home = hostile_json["kind"], hostile_json["home"]
    assert ledger(home, hostile_json["good_days"]) == hostile_json["before"]
    refused = [c for c in kind.records if c.outcome == "refused" and case_day(kind, c) in hostile_json["errors"]]
    expected = [c for c in kind.records if c.outcome == "refused"]
    assert refused == expected
    figures.add("hostile JSON", f"{kind.source} broken records refused with file/record/field/value",
                f"{len(refused)}/{len(expected)}", f"{len(expected)}/{len(expected)}")
    figures.add("hostile JSON", f"{kind.source} unknown tender held for review / out-of-range dates booked",
                f"{sum(c.outcome == 'review' for c in kind.records)} / 0", "held / 0")
    figures.add("hostile JSON", f"{kind.source} good days changed", 0, 0)


def refusal(home: Home, source: str, day: dt.date) -> str:
    """Why the day's run fails: the Dagster job (full), or its raw stage alone (fast; where such a file stops
    a run, and the same code the asset runs, in one transaction)."""
    if FULL:
        result = home.materialize(source, day)
        assert not result.success
        return failure_text(result)
    settings = load_settings()
    with Warehouse(home.warehouse).connect() as conn, pytest.raises(InputError) as refused:
        stages.run_raw(conn, SOURCE_OBJECTS[source], settings, home.root, day)
    return str(refused.value)


@pytest.mark.parametrize("source,case", file_cases())
def test_an_unreadable_file_fails_the_run_naming_it_and_changes_nothing(source, case, hostile_homes, figures,
                                                                       monkeypatch):
    hostile_for = hostile_homes(source)
    kind, home = hostile_for["kind"], hostile_for["home"]
    monkeypatch.setenv("ACCTSYNC_HOME", str(home.root))  # the other source's home may have been set up since
    inbox = home.inbox(kind.source)
    for leftover in inbox.glob("*.json"):  # only the good file, and the broken one
        if leftover != hostile_for["good_file"]:
            leftover.unlink()
    broken = inbox / f"{case.name}.json"
    broken.write_bytes(case.content(hostile_for["good_file"].read_bytes()))
    try:
        text = refusal(home, kind.source, GOOD_BEFORE)
        file = f"inbox/{kind.source}/{case.name}.json"
        for expected in case.expect:
            assert any(file in line and expected in line for line in text.splitlines()), text
        assert ledger(home, hostile_for["good_days"]) == hostile_for["before"]
    finally:
        broken.unlink()
    if FULL or case is kind.files[-1]:  # fixed, the day runs again and still books the same
        assert home.materialize(kind.source, GOOD_BEFORE).success
        assert ledger(home, hostile_for["good_days"]) == hostile_for["before"]
    if case is kind.files[-1]:
        figures.add("hostile JSON", f"{kind.source} unreadable files refused, naming the file",
                    f"{len(kind.files)}/{len(kind.files)}", f"{len(kind.files)}/{len(kind.files)}")
