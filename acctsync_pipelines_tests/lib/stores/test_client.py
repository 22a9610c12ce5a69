"""The STORES API client against a loopback server speaking the documented API (real sockets)."""

from __future__ import annotations

import json

import pytest

from acctsync_pipelines.lib.stores.client import StoresApiError, StoresClient, api_token
from acctsync_pipelines_tests.fakes.stores_api import FakeStoresApi

TOKEN = "test-token-not-secret"


def client_for(fake: FakeStoresApi, waits: list[float], **overrides) -> StoresClient:
    options = dict(page_size=5, timeout_seconds=2.0, max_attempts=3, backoff_seconds=0.25, max_wait_seconds=5.0,
                   min_interval_seconds=0.0, sleep=waits.append)
    return StoresClient(fake.base_url, TOKEN, **(options | overrides))


def numbers(pages) -> list[str]:
    return [o["number"] for page in pages for o in json.loads(page.text)["orders"]]


def test_pages_with_limit_and_offset_until_a_short_page(vendor_orders):
    waits: list[float] = []
    with FakeStoresApi(orders=vendor_orders, token=TOKEN) as fake, client_for(fake, waits) as client:
        pages = list(client.orders(direction="asc"))
    assert [p.records for p in pages] == [5, 5, 5, 5, 2]
    assert [(r.params["limit"], r.params["offset"]) for r in fake.requests] == [
        ("5", "0"), ("5", "5"), ("5", "10"), ("5", "15"), ("5", "20")]
    assert all(r.params["direction"] == "asc" for r in fake.requests)
    got = numbers(pages)
    assert sorted(got) == sorted(o["number"] for o in vendor_orders) and len(set(got)) == len(vendor_orders)
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for h in fake.headers_seen)
    assert waits == []


def test_a_full_last_page_is_followed_by_an_empty_one(vendor_orders):
    with FakeStoresApi(orders=vendor_orders, token=TOKEN) as fake, client_for(fake, [], page_size=11) as client:
        pages = list(client.orders())
    assert [p.records for p in pages] == [11, 11, 0]
    assert [r.params["offset"] for r in fake.requests] == ["0", "11", "22"]


def test_429_waits_as_told_then_recovers(vendor_orders):
    waits: list[float] = []
    with FakeStoresApi(orders=vendor_orders, token=TOKEN) as fake, client_for(fake, waits) as client:
        fake.fail_next("/retail/202211/orders", 429, headers={"Retry-After": "0.5"})
        pages = list(client.orders())
    assert len(numbers(pages)) == len(vendor_orders)
    assert [r.answered for r in fake.requests][:2] == [429, 200]
    assert fake.requests[0].params == fake.requests[1].params  # the same page, asked again
    assert waits == [0.5]


def test_500_retries_with_backoff_then_recovers(vendor_orders):
    waits: list[float] = []
    with FakeStoresApi(orders=vendor_orders, token=TOKEN) as fake, client_for(fake, waits) as client:
        list(client.orders())  # first page fine
        fake.fail_next("/retail/202211/remittances", 500, times=2)
        pages = list(client.remittances())
    assert pages[0].records == 0
    assert [r.answered for r in fake.requests if r.path.endswith("/remittances")] == [500, 500, 200]
    assert waits == [0.25, 0.5]


def test_a_timeout_is_retried(vendor_remittances):
    waits: list[float] = []
    with FakeStoresApi(remittances=vendor_remittances, token=TOKEN) as fake, \
            client_for(fake, waits, timeout_seconds=0.2) as client:
        fake.fail_next("/retail/202211/remittances", 200, delay_seconds=1.0)
        pages = list(client.remittances())
    assert sum(p.records for p in pages) == len(vendor_remittances)
    assert waits == [0.25]


def test_5xx_that_never_recovers_gives_up_after_max_attempts(vendor_orders):
    with FakeStoresApi(orders=vendor_orders, token=TOKEN) as fake, client_for(fake, []) as client:
        fake.fail_next("/retail/202211/orders", 503, times=5, body={"message": "メンテナンス中です"})
        with pytest.raises(StoresApiError) as error:
            list(client.orders())
    assert "gave up after 3 attempts" in str(error.value)
    assert "HTTP 503: メンテナンス中です" in str(error.value)
    assert len(fake.requests) == 3


def test_401_fails_at_once_quoting_the_api_and_never_the_token(vendor_orders):
    waits: list[float] = []
    with FakeStoresApi(orders=vendor_orders, token="the-real-one") as fake, client_for(fake, waits) as client:
        with pytest.raises(StoresApiError) as error:
            list(client.orders())
    message = str(error.value)
    assert message == ("STORES API GET /retail/202211/orders: HTTP 401: invalid credential "
                       "(check STORES_API_TOKEN)")
    assert TOKEN not in message and TOKEN not in repr(client)
    assert len(fake.requests) == 1 and waits == []


def test_other_4xx_quotes_every_error_message(vendor_orders):
    with FakeStoresApi(orders=vendor_orders, token=TOKEN) as fake, client_for(fake, []) as client:
        fake.fail_next("/retail/202211/orders", 400, body={"errors": [{"message": "ordered_at_from is invalid"},
                                                                      {"message": "limit is too large"}]})
        with pytest.raises(StoresApiError, match="HTTP 400: ordered_at_from is invalid; limit is too large"):
            list(client.orders(ordered_at_from="yesterday"))


def test_remittance_order_ids_and_sales_channels(vendor_remittances):
    channels = [{"id": f"ch{i}", "name": f"店舗{i}", "created_at": "2022-01-01T00:00:00+09:00"} for i in range(7)]
    with FakeStoresApi(remittances=vendor_remittances, order_ids={"62e2591363eb58003fd5c2ea": ["a", "b"]},
                       sales_channels=channels, token=TOKEN) as fake, client_for(fake, []) as client:
        page = client.remittance_order_ids("62e2591363eb58003fd5c2ea")
        names = [c["name"] for p in client.sales_channels() for c in json.loads(p.text)["sales_channels"]]
    assert json.loads(page.text) == {"remittance_id": "62e2591363eb58003fd5c2ea", "order_ids": ["a", "b"]}
    assert page.path == "/retail/202211/remittances/62e2591363eb58003fd5c2ea/order_ids"
    assert names == [c["name"] for c in channels]


def test_the_token_comes_from_the_environment_or_its_file(tmp_path, monkeypatch):
    monkeypatch.delenv("STORES_API_TOKEN", raising=False)
    monkeypatch.delenv("STORES_API_TOKEN_FILE", raising=False)
    with pytest.raises(StoresApiError, match="set STORES_API_TOKEN or STORES_API_TOKEN_FILE"):
        api_token()
    secret = tmp_path / "stores_token"
    secret.write_text("from-the-file\n", encoding="utf-8")
    monkeypatch.setenv("STORES_API_TOKEN_FILE", str(secret))
    assert api_token() == "from-the-file"
    monkeypatch.setenv("STORES_API_TOKEN", "from-the-env")
    assert api_token() == "from-the-env"
    monkeypatch.delenv("STORES_API_TOKEN")
    secret.unlink()
    with pytest.raises(StoresApiError, match="cannot read the STORES API token file") as error:
        api_token()
    assert "from-the-file" not in str(error.value)
