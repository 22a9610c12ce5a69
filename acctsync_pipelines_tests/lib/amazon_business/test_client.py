"""The Reconciliation API client against the loopback fake: paging, LWA tokens (also expiring mid-run),
429 / 500 backoff, the 2 rps / burst 10 limiter on a simulated clock, invoice batches, the vendor's
sandbox examples, and credentials from the environment."""

from __future__ import annotations

import datetime as dt

import pytest

from acctsync_pipelines.lib.amazon_business.client import (
    AmazonBusinessApiError, AmazonBusinessClient, Credentials, RateLimiter, credentials_from_env,
)
from acctsync_pipelines.lib.config import ConfigError
from acctsync_pipelines_tests.fakes.amazon_business_api import (
    INVOICES, TRANSACTIONS, FakeAmazonBusinessApi, load_sandbox,
)
from acctsync_pipelines_tests.lib.amazon_business.builders import item, txn

UTC = dt.timezone.utc
START, END = dt.datetime(2025, 6, 1, tzinfo=UTC), dt.datetime(2025, 6, 8, tzinfo=UTC)


class SimulatedClock:
    """Time that only moves when someone sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def _transactions(count: int) -> list[dict]:
    return [txn(f"T-{n}", f"2025-06-0{1 + n % 5}T03:00:00Z", 100, [item(f"250-0000000-{n:07d}", 1, "x", 100)])
            for n in range(count)]


def _client(fake: FakeAmazonBusinessApi, clock: SimulatedClock | None = None, **options) -> AmazonBusinessClient:
    clock = clock or SimulatedClock()
    credentials = Credentials(fake.client_id, fake.client_secret, fake.refresh_token)
    options = {"backoff_seconds": 1.0, **options}
    return AmazonBusinessClient(fake.base_url, fake.token_url, credentials, clock=clock, sleep=clock.sleep, **options)


def test_later_pages_send_only_the_next_page_token():
    with FakeAmazonBusinessApi(transactions=_transactions(5), page_size=2) as fake, _client(fake) as client:
        got = list(client.transactions(START, END))

    assert [t["transactionId"] for t in got] == [f"T-{n}" for n in range(5)]
    calls = fake.calls(TRANSACTIONS)
    assert [sorted(c.params) for c in calls] == [["feedEndDate", "feedStartDate"], ["nextPageToken"], ["nextPageToken"]]
    assert calls[0].params["feedStartDate"] == ["2025-06-01T00:00:00Z"]
    assert {c.token for c in calls} == {"Atza|access-1-for-tests"}


def test_a_token_that_expires_mid_run_is_refreshed_and_the_page_retried():
    with FakeAmazonBusinessApi(transactions=_transactions(4), page_size=1, token_uses=2) as fake, \
            _client(fake) as client:
        got = list(client.transactions(START, END))

    assert len(got) == 4
    statuses = [c.status for c in fake.calls(TRANSACTIONS)]
    assert statuses == [200, 200, 403, 200, 200]
    assert fake.token_requests == 2 and client.token_refreshes == 2


def test_a_token_is_refreshed_before_its_stated_expiry():
    clock = SimulatedClock()
    with FakeAmazonBusinessApi(transactions=_transactions(2), page_size=1, expires_in=3600) as fake, \
            _client(fake, clock) as client:
        pages = client.transactions(START, END)
        next(pages)
        clock.now += 3600 - 30  # within the last minute of the token's life
        next(pages)

    assert fake.token_requests == 2
    assert [c.status for c in fake.calls(TRANSACTIONS)] == [200, 200]
    assert [c.token for c in fake.calls(TRANSACTIONS)] == ["Atza|access-1-for-tests", "Atza|access-2-for-tests"]


def test_429_and_500_are_retried_with_exponential_backoff():
    clock = SimulatedClock()
    with FakeAmazonBusinessApi(transactions=_transactions(1)) as fake, _client(fake, clock) as client:
        fake.fail_next(429)
        fake.fail_next(500)
        fake.fail_next(503, path_prefix=INVOICES)
        got = list(client.transactions(START, END))
        client.invoice_details([{"orderId": "o", "orderLineItemId": "i", "shipmentId": "s"}])

    assert len(got) == 1
    assert [c.status for c in fake.calls(TRANSACTIONS)] == [429, 500, 200]
    assert [c.status for c in fake.calls(INVOICES)] == [503, 200]
    assert clock.sleeps == [1.0, 2.0, 1.0]


def test_retry_after_is_honoured_within_the_cap():
    clock = SimulatedClock()
    with FakeAmazonBusinessApi() as fake, _client(fake, clock, max_backoff_seconds=5) as client:
        fake.fail_next(429, headers={"Retry-After": "3"})
        fake.fail_next(429, headers={"Retry-After": "120"})
        list(client.transactions(START, END))

    assert clock.sleeps == [3.0, 5.0]


def test_a_server_that_keeps_failing_gives_up_with_a_message_and_no_secret():
    with FakeAmazonBusinessApi() as fake, _client(fake, max_retries=2) as client:
        fake.fail_next(500, times=10)
        with pytest.raises(AmazonBusinessApiError) as error:
            list(client.transactions(START, END))

    message = str(error.value)
    assert message == (f"GET {TRANSACTIONS}: HTTP 500 after 3 attempts: InternalFailure: "
                       "We encountered an internal error. Please try again.")
    for secret in (fake.client_secret, fake.refresh_token, "Atza|"):
        assert secret not in message


def test_a_refused_refresh_token_names_the_variables_not_their_values():
    with FakeAmazonBusinessApi() as fake:
        bad = Credentials(fake.client_id, fake.client_secret, "Atzr|revoked-refresh-token")
        with AmazonBusinessClient(fake.base_url, fake.token_url, bad) as client, \
                pytest.raises(AmazonBusinessApiError) as error:
            list(client.transactions(START, END))

    message = str(error.value)
    assert "Login with Amazon refused the refresh token (HTTP 400: invalid_grant" in message
    assert "AMAZON_BUSINESS_REFRESH_TOKEN" in message
    assert "revoked-refresh-token" not in message and fake.client_secret not in message
    assert "revoked" not in repr(bad)


def test_the_limiter_allows_a_burst_of_ten_then_two_per_second():
    clock = SimulatedClock()
    limiter = RateLimiter(rate=2, burst=10, clock=clock, sleep=clock.sleep)
    for _ in range(13):
        limiter.acquire()
    assert clock.sleeps == [0.5, 0.5, 0.5]

    clock.now += 10  # idle long enough to refill the bucket completely, and no more
    for _ in range(11):
        limiter.acquire()
    assert clock.sleeps == [0.5, 0.5, 0.5, 0.5]


def test_the_client_paces_its_requests_through_the_limiter():
    clock = SimulatedClock()
    with FakeAmazonBusinessApi(transactions=_transactions(12), page_size=1) as fake, _client(fake, clock) as client:
        list(client.transactions(START, END))

    assert len(fake.calls(TRANSACTIONS)) == 12
    assert clock.sleeps == [0.5, 0.5]


def test_invoice_details_are_asked_for_at_most_25_line_items_a_call():
    items = [{"orderId": "250-0000000-0000001", "orderLineItemId": str(n), "shipmentId": "S"} for n in range(30)]
    with FakeAmazonBusinessApi() as fake, _client(fake) as client:
        fake.add_invoice("250-0000000-0000001", "29", "S", {"invoiceNumber": "JPINV29", "invoiceDate": "2025-06-01"})
        found = client.invoice_details(items)

    assert [len(c.body["orderLineItems"]) for c in fake.calls(INVOICES)] == [25, 5]
    assert [f["invoiceDetails"][0]["invoiceNumber"] for f in found] == ["JPINV29"]


def test_the_vendors_sandbox_examples(vendor_dir):
    sandbox = load_sandbox(vendor_dir / "amazon-business" / "reconciliation-api-2021-01-08.json")
    with FakeAmazonBusinessApi(sandbox=sandbox) as fake, _client(fake) as client:
        transactions = list(client.transactions(dt.datetime(2020, 7, 9, tzinfo=UTC), dt.datetime(2020, 8, 1, tzinfo=UTC)))
        invoices = client.invoice_details([
            {"orderId": "503-0807783-5846230", "orderLineItemId": "6172301145805", "shipmentId": "Dps13nXXc"},
            {"orderId": "250-9059274-9386231", "orderLineItemId": "6172160940605", "shipmentId": "DZms0yvhc"},
        ])

    assert [(t["transactionId"], t["paymentInstrumentType"], t["amount"]) for t in transactions] == [
        ("1x47pVc03Ffs71cjjCct", "PayStation", {"currencyCode": "USD", "amount": "5.99"})]
    assert [e["orderLineItem"]["orderId"] for e in invoices] == ["250-9059274-9386231", "503-0807783-5846230"]
    assert invoices[1]["invoiceDetails"][0]["tax"][0]["amount"] == {"currencyCode": "JPY", "amount": "128.0"}


def test_a_malformed_date_is_refused_as_the_sandbox_shows(vendor_dir):
    sandbox = load_sandbox(vendor_dir / "amazon-business" / "reconciliation-api-2021-01-08.json")
    with FakeAmazonBusinessApi(sandbox=sandbox) as fake, _client(fake) as client:
        with pytest.raises(AmazonBusinessApiError, match=r"HTTP 400: INVALID_REQUEST_PARAMETER: Input date "
                                                         r"\[incorrectFormatDate\] is not in the expected ISO8601"):
            client._call("GET", TRANSACTIONS, params={"feedStartDate": "incorrectFormatDate",
                                                     "feedEndDate": "2020-08-01T00:00:00"})


def test_credentials_come_from_the_environment_or_files(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    credentials = credentials_from_env({
        "AMAZON_BUSINESS_CLIENT_ID": "id", "AMAZON_BUSINESS_CLIENT_SECRET_FILE": str(secret_file),
        "AMAZON_BUSINESS_REFRESH_TOKEN": "refresh",
    })
    assert (credentials.client_id, credentials.client_secret, credentials.refresh_token) == (
        "id", "from-a-file", "refresh")
    assert "from-a-file" not in repr(credentials)

    with pytest.raises(ConfigError, match="needs AMAZON_BUSINESS_REFRESH_TOKEN \\(or AMAZON_BUSINESS_REFRESH_TOKEN_FILE\\)"):
        credentials_from_env({"AMAZON_BUSINESS_CLIENT_ID": "id", "AMAZON_BUSINESS_CLIENT_SECRET": "s"})
