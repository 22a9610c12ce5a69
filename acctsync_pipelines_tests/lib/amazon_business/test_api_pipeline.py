"""The whole Dagster job for a day read from the Reconciliation API (the loopback fake): the feed
window, paging, a token expiring mid-run, 429 and 500, invoice details, the Tokyo day — and no
secret anywhere in the warehouse or the run's events."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from acctsync_pipelines.lib.amazon_business.client import AmazonBusinessApiError
from acctsync_pipelines.lib.config import ConfigError
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.fakes.amazon_business_api import INVOICES, TRANSACTIONS, FakeAmazonBusinessApi
from acctsync_pipelines_tests.lib.amazon_business.builders import item, lines, run_days, txn

A, B, C, D = "250-0000001-0000001", "250-0000002-0000002", "250-0000003-0000003", "250-0000004-0000004"


def _fake() -> FakeAmazonBusinessApi:
    b_items = [item(B, 1, "コピー用紙", 2980, asin="B0PAPER", shipment="SB")]
    fake = FakeAmazonBusinessApi(page_size=1, token_uses=3, transactions=[
        # 15:30 UTC on June 1 = 00:30 on June 2 in Tokyo
        txn("TA", "2025-06-01T15:30:00Z", 1650, [item(A, 1, "ボールペン", 550, asin="B0PEN", shipment="SA"),
                                                item(A, 2, "ノート", 1100, asin="B0NOTE", shipment="SA")]),
        txn("TB1", "2025-06-02T03:00:00Z", 2480, b_items, associated=("TB2",)),
        txn("TB2", "2025-06-02T03:00:00Z", 500, b_items, instrument="Amazon Points", associated=("TB1",)),
        txn("TC", "2025-06-01T05:00:00Z", 330, [item(C, 1, "消しゴム", 330, asin="B0ERASER", shipment="SC")]),
        # posted to the feed four days late, still inside the day's feed window
        txn("TD", "2025-06-02T09:00:00Z", 440, [item(D, 1, "付箋", 440, asin="B0NOTES", shipment="SD")],
            feed="2025-06-06T00:00:00Z"),
    ])
    fake.add_invoice(A, f"{A[-4:]}-1", "SA", {
        "invoiceNumber": "JPINV-A", "invoiceDate": "2025-06-02T00:00:00Z", "invoiceType": "STANDARD",
        "invoiceIssuer": {"name": "見本商事株式会社", "registrationNumber": "T0000000000001"},
        "sellerInformation": {"name": "見本商事株式会社", "registrationNumber": "T0000000000001"},
        "invoiceTotal": "1650.0", "tax": [],
    })
    return fake


def _configure(home, fake: FakeAmazonBusinessApi, monkeypatch) -> None:
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    home.configure({"sources": {"amazon_business": {
        "inputs": ["api"],
        "api": {"base_url": fake.base_url, "token_url": fake.token_url, "backoff_seconds": 0.01},
        "rules": [{"unspsc": "47", "account": "事務用品費"}],
    }}})


def test_a_day_from_the_api_is_booked_and_posted(home, monkeypatch):
    with _fake() as fake:
        _configure(home, fake, monkeypatch)
        fake.fail_next(429)
        fake.fail_next(500)

        result = home.materialize("amazon_business", "2025-06-02")

    assert result.success, failure_text(result)
    booked = lines(home)
    assert sorted({x["source_ref"] for x in booked}) == [A, B, D]
    assert {x["business_date"].isoformat() for x in booked} == {"2025-06-02"}
    assert {x["review_status"] for x in booked} == {"ready"}
    b_entry = [(x["side"], x["account"], x["amount"]) for x in booked if x["source_ref"] == B]
    assert b_entry == [("debit", "事務用品費", 2980), ("credit", "雑収入", 500), ("credit", "未払金", 2480)]
    qualified = {x["description"]: x["qualified_invoice"] for x in booked if x["side"] == "debit"}
    assert qualified == {"Amazon ボールペン": True, "Amazon ノート": False, "Amazon コピー用紙": False,
                         "Amazon 付箋": False}

    calls = fake.calls(TRANSACTIONS)
    # the window: from the start of the day before (June 1, 00:00 JST) to 7 days after the day's start
    assert calls[0].params == {"feedStartDate": ["2025-05-31T15:00:00Z"], "feedEndDate": ["2025-06-08T15:00:00Z"]}
    # the first page (and its retries) carries the window; every later page only the token
    assert all(sorted(c.params) in (["feedEndDate", "feedStartDate"], ["nextPageToken"]) for c in calls)
    assert len([c for c in calls if "nextPageToken" in c.params and c.status == 200]) == 4
    statuses = [c.status for c in calls]
    assert statuses[:3] == [429, 500, 200] and 403 in statuses
    assert fake.token_requests >= 2
    [invoice_call] = fake.calls(INVOICES)
    assert len(invoice_call.body["orderLineItems"]) == 4

    assert home.query("SELECT count(DISTINCT entry_id) FROM ledger.postings") == [(3,)]
    secrets = [fake.client_secret, fake.refresh_token, "Atza|access-"]
    warehouse_bytes = home.warehouse.read_bytes()
    wal = home.warehouse.with_name(home.warehouse.name + ".wal")
    if wal.exists():
        warehouse_bytes += wal.read_bytes()
    events = "\n".join(str(event) for event in result.all_events)
    for secret in secrets:
        assert secret.encode() not in warehouse_bytes
        assert secret not in events


def test_an_api_that_stays_down_fails_the_run_and_books_nothing(home, monkeypatch):
    with _fake() as fake:
        _configure(home, fake, monkeypatch)
        home.configure({"sources": {"amazon_business": {
            "inputs": ["api"],
            "api": {"base_url": fake.base_url, "token_url": fake.token_url, "backoff_seconds": 0, "max_retries": 2},
        }}})
        fake.fail_next(500, times=3)

        with pytest.raises(AmazonBusinessApiError, match=f"GET {TRANSACTIONS}: HTTP 500 after 3 attempts"):
            run_days(home, "2025-06-02")

    assert lines(home) == []
    assert home.query("SELECT count(*) FROM raw.amazon_business_transactions") == [(0,)]


def test_missing_credentials_are_named(home, monkeypatch):
    for name in ("AMAZON_BUSINESS_CLIENT_ID", "AMAZON_BUSINESS_CLIENT_SECRET", "AMAZON_BUSINESS_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    home.configure({"sources": {"amazon_business": {"inputs": ["api"]}}})

    with pytest.raises(ConfigError, match=r"needs AMAZON_BUSINESS_CLIENT_ID \(or AMAZON_BUSINESS_CLIENT_ID_FILE\)"):
        run_days(home, "2025-06-02")


def test_polling_reports_the_days_of_new_feed_entries(home, monkeypatch):
    from acctsync_pipelines.lib.amazon_business.source import SOURCE
    from acctsync_pipelines.lib.config import load_settings

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def at(delta: dt.timedelta) -> str:
        return (now + delta).isoformat().replace("+00:00", "Z")

    fake = FakeAmazonBusinessApi(transactions=[
        txn("T-OLD", at(-dt.timedelta(days=12)), 100, [item(A, 1, "a", 100)], feed=at(-dt.timedelta(days=10))),
        txn("T-1", at(-dt.timedelta(days=2)), 100, [item(B, 1, "b", 100)], feed=at(-dt.timedelta(days=1))),
        txn("T-2", at(-dt.timedelta(hours=3)), 100, [item(C, 1, "c", 100)], feed=at(-dt.timedelta(minutes=30))),
    ])
    with fake:
        _configure(home, fake, monkeypatch)
        settings = load_settings()
        first = SOURCE.poll_activity(settings, home.root, None)
        later = SOURCE.poll_activity(settings, home.root, (now - dt.timedelta(hours=1)).isoformat())

    def tokyo_day(delta: dt.timedelta) -> dt.date:
        return (now + delta).astimezone(ZoneInfo("Asia/Tokyo")).date()

    assert first.days == sorted({tokyo_day(-dt.timedelta(days=2)), tokyo_day(-dt.timedelta(hours=3))})
    assert later.days == [tokyo_day(-dt.timedelta(hours=3))]
    assert dt.datetime.fromisoformat(later.cursor) >= now
