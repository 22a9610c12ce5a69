"""``sources.stores.input: api``: the real pipeline reading the loopback STORES API (vendor samples)."""

from __future__ import annotations

import datetime as dt

import pytest

from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.fakes.stores_api import FakeStoresApi

TOKEN = "stores-test-token-7f3a"
CHANNELS = [
    {"id": "62e3a2aca05cb9341aea49d1", "name": "本店レジ", "created_at": "2022-07-29T10:00:00+09:00"},
    {"id": "62e3a275a05cb9341aea49cd", "name": "二号店レジ", "created_at": "2022-07-29T10:00:00+09:00"},
]


def configure_api(home, fake: FakeStoresApi) -> None:
    home.configure({"sources": {
        "stores": {"input": "api", "recognition": "ordered", "start_date": "2021-11-01",
                   "api": {"base_url": fake.base_url, "page_size": 4, "lookback_days": 10,
                           "backoff_seconds": 0.01, "max_wait_seconds": 0.05, "min_interval_seconds": 0}},
        "usen_reji": {"enabled": False}, "amazon_business": {"enabled": False}}})


def test_a_day_is_fetched_paged_and_booked(home, run_stores, vendor_orders, vendor_remittances, monkeypatch):
    monkeypatch.setenv("STORES_API_TOKEN", TOKEN)
    with FakeStoresApi(orders=vendor_orders, remittances=vendor_remittances, sales_channels=CHANNELS,
                       order_ids={"62e2591363eb58003fd5c2ea": ["0000testorder0000id0001"]}, token=TOKEN) as fake:
        configure_api(home, fake)
        fake.fail_next("/retail/202211/orders", 429, headers={"Retry-After": "0"})
        fake.fail_next("/retail/202211/sales_channels", 500)
        run_stores("2022-07-29")
        run_stores("2022-06-30")
    # orders placed in the ten days up to the day, then those cancelled on the day, paged by 4
    orders = [r for r in fake.requests if r.path == "/retail/202211/orders" and r.answered == 200]
    placed = [r.params for r in orders
              if "ordered_at_from" in r.params and r.params["ordered_at_to"].startswith("2022-07-29")]
    assert placed[0] == {"ordered_at_from": "2022-07-19T00:00:00", "ordered_at_to": "2022-07-29T23:59:59",
                         "direction": "asc", "limit": "4", "offset": "0"}
    assert [p["offset"] for p in placed] == ["0", "4", "8", "12", "16", "20"]  # 22 orders: the last page is short
    cancels = [r.params for r in orders if "canceled_at_from" in r.params]
    assert cancels[0]["canceled_at_from"] == "2022-07-29T00:00:00"
    assert [r.answered for r in fake.requests if r.path.endswith("/sales_channels")][:2] == [500, 200]
    assert any(r.path == "/retail/202211/remittances/62e2591363eb58003fd5c2ea/order_ids" for r in fake.requests)

    # the STORES レジ orders of 07-29, with their stores' names from /sales_channels as departments
    assert home.query("SELECT DISTINCT entry_id, department FROM ledger.journal_lines "
                      "WHERE business_date = '2022-07-29' ORDER BY 1") == [
        ("stores:5371619998:cancel:2022-07-29", "本店レジ"), ("stores:5371619998:sale:2022-07-29", "本店レジ"),
        ("stores:7479270972:sale:2022-07-29", "二号店レジ"), ("stores:9221166548:sale:2022-07-29", "本店レジ")]
    assert home.query("SELECT side, account, amount FROM ledger.journal_lines "
                      "WHERE entry_id = 'stores:remittance:62e2591363eb58003fd5c2ea' AND account = '普通預金'") \
        == [("debit", "普通預金", 16595)]
    assert home.query("SELECT body ->> '$.order_ids[0]' FROM raw.stores_snapshots "
                      "WHERE kind = 'remittance_order_ids'") == [("0000testorder0000id0001",)]
    assert home.query("SELECT DISTINCT source_file FROM raw.stores_sightings ORDER BY 1") == [
        ("api:/retail/202211/orders",), ("api:/retail/202211/remittances",),
        ("api:/retail/202211/remittances/62e2591363eb58003fd5c2ea/order_ids",),
        ("api:/retail/202211/sales_channels",)]
    # the token went out in the header only: nothing stored anywhere mentions it
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for h in fake.headers_seen)
    assert home.query("SELECT count(*) FROM raw.stores_snapshots WHERE body::VARCHAR LIKE ?", [f"%{TOKEN}%"]) == [(0,)]
    assert TOKEN.encode() not in home.warehouse.read_bytes()


@pytest.mark.parametrize("token_from", ["environment", "file"])
def test_a_refused_token_fails_the_day_quoting_the_api(home, run_stores, vendor_orders, monkeypatch, tmp_path,
                                                       token_from):
    wrong = "not-the-token-9b1c"
    if token_from == "file":
        secret = tmp_path / "stores_api_token"
        secret.write_text(wrong + "\n", encoding="utf-8")
        monkeypatch.delenv("STORES_API_TOKEN", raising=False)
        monkeypatch.setenv("STORES_API_TOKEN_FILE", str(secret))
    else:
        monkeypatch.setenv("STORES_API_TOKEN", wrong)
    with FakeStoresApi(orders=vendor_orders, token=TOKEN) as fake:
        configure_api(home, fake)
        result = run_stores("2022-07-29", expect_success=False)
    text = failure_text(result)
    assert ("2022-07-29: STORES API GET /retail/202211/orders: HTTP 401: invalid credential "
            "(check STORES_API_TOKEN)") in text
    assert [r.answered for r in fake.requests] == [401]  # no retry of a refusal
    assert home.query("SELECT business_date, stage, message FROM ops.day_errors WHERE source = 'stores'") == [
        (dt.date(2022, 7, 29), "raw_orders",
         "STORES API GET /retail/202211/orders: HTTP 401: invalid credential (check STORES_API_TOKEN)")]
    assert wrong not in text
    assert wrong.encode() not in home.warehouse.read_bytes()


def test_no_token_is_a_clear_error(home, run_stores, monkeypatch):
    monkeypatch.delenv("STORES_API_TOKEN", raising=False)
    monkeypatch.delenv("STORES_API_TOKEN_FILE", raising=False)
    with FakeStoresApi() as fake:
        configure_api(home, fake)
        result = run_stores("2022-07-29", expect_success=False)
    assert "no STORES API token: set STORES_API_TOKEN or STORES_API_TOKEN_FILE" in failure_text(result)
    assert fake.requests == []


def test_polling_finds_the_days_with_activity_since_its_cursor(home, vendor_orders, vendor_remittances,
                                                                monkeypatch):
    from acctsync_pipelines.lib.config import load_settings
    from acctsync_pipelines.lib.stores.source import SOURCE

    monkeypatch.setenv("STORES_API_TOKEN", TOKEN)
    with FakeStoresApi(orders=vendor_orders, remittances=vendor_remittances, token=TOKEN) as fake:
        configure_api(home, fake)
        monkeypatch.setenv("ACCTSYNC_CONFIG", str(home.root / "acctsync.yaml"))
        activity = SOURCE.poll_activity(load_settings(), home.root, "2022-07-29T00:00:00+09:00")
    # the STORES レジ orders of 07-29, the gift-wrapped order shipped 10-04, the 2023-07-31 payout
    assert activity.days == [dt.date(2022, 7, 29), dt.date(2022, 10, 4), dt.date(2023, 7, 31)]
    assert dt.datetime.fromisoformat(activity.cursor) > dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    placed = next(r.params for r in fake.requests if "ordered_at_from" in r.params)
    assert placed["ordered_at_from"] == "2022-07-19T00:00:00"  # ten days' lookback (configured) before the cursor
