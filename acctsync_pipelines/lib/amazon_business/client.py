"""Amazon Business Reconciliation API (2021-01-08) over httpx, with Login-with-Amazon tokens.

- Access tokens come from the LWA refresh-token grant and are refreshed before they expire and
  whenever the API says a token is no longer good (401 / 403), also in the middle of paging.
- Requests go through a token bucket (2 per second, bursts of 10 by default); 429, 5xx and network
  errors are retried with exponential backoff (or the server's Retry-After), by the loop shared with
  the other API clients (lib/targets/http.py).
- Credentials come only from the environment and are never logged, stored or put in a message.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from acctsync_pipelines.lib.amazon_business.settings import ApiSettings
from acctsync_pipelines.lib.config import ConfigError
from acctsync_pipelines.lib.targets.http import Backoff, RetriesExhausted, send_with_retries

TRANSACTIONS_PATH = "/reconciliation/2021-01-08/transactions"
INVOICES_PATH = "/reconciliation/2021-01-08/invoices"
INVOICE_ITEMS_PER_CALL = 25
# Refresh this many seconds before the token's stated expiry, so a request never races it.
TOKEN_EARLY_REFRESH_S = 60.0
USER_AGENT = "acctsync/0.1 (Language=Python)"

ENV_CLIENT_ID = "AMAZON_BUSINESS_CLIENT_ID"
ENV_CLIENT_SECRET = "AMAZON_BUSINESS_CLIENT_SECRET"
ENV_REFRESH_TOKEN = "AMAZON_BUSINESS_REFRESH_TOKEN"


class AmazonBusinessApiError(RuntimeError):
    """The API could not be used (refused, unavailable after retries, or an unexpected answer)."""


@dataclass(frozen=True)
class Credentials:
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


def _secret(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    file_name = environ.get(f"{name}_FILE", "")
    if not value and file_name:
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE names {file_name}, which cannot be read ({exc.strerror})") from None
    if not value:
        raise ConfigError(f"the Amazon Business API needs {name} (or {name}_FILE) in the environment")
    return value


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials:
    environ = os.environ if environ is None else environ
    return Credentials(
        _secret(environ, ENV_CLIENT_ID), _secret(environ, ENV_CLIENT_SECRET), _secret(environ, ENV_REFRESH_TOKEN)
    )


class RateLimiter:
    """Token bucket: ``rate`` requests per second on average, up to ``burst`` at once.

    ``clock`` and ``sleep`` are injectable so tests run on a simulated clock.
    """

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate, self.burst = rate, burst
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._last = clock()

    def acquire(self) -> None:
        while True:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            self._sleep((1.0 - self._tokens) / self.rate)


def _iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_text(response: httpx.Response) -> str:
    """The API's own error codes and messages (ErrorList), or the LWA error, never request data."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no details"
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        parts = []
        for error in body["errors"]:
            if isinstance(error, dict):
                text = f"{error.get('code', '?')}: {error.get('message', '')}"
                if error.get("details"):
                    text += f" ({error['details']})"
                parts.append(text)
        return "; ".join(parts) or "no details"
    if isinstance(body, dict) and "error" in body:
        return f"{body.get('error')}: {body.get('error_description', '')}".strip()
    return "no details"


class AmazonBusinessClient:
    def __init__(
        self,
        base_url: str,
        token_url: str,
        credentials: Credentials,
        *,
        rate_per_second: float = 2.0,
        burst: int = 10,
        max_retries: int = 6,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        timeout_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url
        self._credentials = credentials
        self._limiter = RateLimiter(rate_per_second, burst, clock, sleep)
        self._clock, self._sleep = clock, sleep
        self.max_retries = max_retries
        self.backoff = Backoff(backoff_seconds, max_backoff_seconds)
        self._http = httpx.Client(timeout=timeout_seconds)
        self._access_token: str | None = None
        self._expires_at = 0.0
        self.token_refreshes = 0

    @classmethod
    def from_settings(cls, api: ApiSettings, credentials: Credentials | None = None, **overrides: Any):
        return cls(
            api.base_url,
            api.token_url,
            credentials or credentials_from_env(),
            rate_per_second=api.rate_per_second,
            burst=api.burst,
            max_retries=api.max_retries,
            backoff_seconds=api.backoff_seconds,
            max_backoff_seconds=api.max_backoff_seconds,
            timeout_seconds=api.timeout_seconds,
            **overrides,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AmazonBusinessClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- retries and tokens ------------------------------------------------------------------------

    def _send(self, what: str, call: Callable[[], httpx.Response]) -> httpx.Response:
        """One logical call: retried on 429, 5xx and network errors; other answers are returned."""
        try:
            return send_with_retries(call, attempts=self.max_retries + 1, backoff=self.backoff, sleep=self._sleep,
                                     retry_after_for=tuple(range(429, 600)))
        except RetriesExhausted as gave_up:
            if gave_up.response is None:
                raise AmazonBusinessApiError(
                    f"{what}: no answer after {gave_up.attempts} attempts ({type(gave_up.error).__name__})"
                ) from None
            raise AmazonBusinessApiError(f"{what}: HTTP {gave_up.response.status_code} after {gave_up.attempts} "
                                         f"attempts: {_error_text(gave_up.response)}") from None

    def _refresh_token(self) -> None:
        credentials = self._credentials
        response = self._send(
            "Login with Amazon token refresh",
            lambda: self._http.post(
                self.token_url,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": credentials.refresh_token,
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                },
                headers={"user-agent": USER_AGENT},
            ),
        )
        if response.status_code != 200:
            raise AmazonBusinessApiError(
                f"Login with Amazon refused the refresh token (HTTP {response.status_code}: {_error_text(response)}); "
                "check AMAZON_BUSINESS_CLIENT_ID, AMAZON_BUSINESS_CLIENT_SECRET and AMAZON_BUSINESS_REFRESH_TOKEN"
            )
        try:
            body = response.json()
            token, expires_in = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise AmazonBusinessApiError("Login with Amazon answered without an access token") from None
        self._access_token = token
        self._expires_at = self._clock() + expires_in
        self.token_refreshes += 1

    def _token(self) -> str:
        if self._access_token is None or self._clock() >= self._expires_at - TOKEN_EARLY_REFRESH_S:
            self._refresh_token()
        assert self._access_token is not None
        return self._access_token

    def _call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> dict:
        what = f"{method} {path}"
        renewed = False
        while True:
            token = self._token()

            def attempt() -> httpx.Response:
                self._limiter.acquire()
                return self._http.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=body,
                    headers={
                        "x-amz-access-token": token,
                        "x-amz-date": dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
                        "user-agent": USER_AGENT,
                        "accept": "application/json",
                    },
                )

            response = self._send(what, attempt)
            if response.status_code in (401, 403) and not renewed:
                # The token expired or was revoked earlier than stated: get a new one, once.
                self._access_token = None
                renewed = True
                continue
            if response.status_code != 200:
                raise AmazonBusinessApiError(f"{what}: HTTP {response.status_code}: {_error_text(response)}")
            try:
                payload = response.json()
            except ValueError:
                raise AmazonBusinessApiError(f"{what}: the answer is not JSON") from None
            if not isinstance(payload, dict):
                raise AmazonBusinessApiError(f"{what}: the answer is not a JSON object")
            return payload

    # -- operations --------------------------------------------------------------------------------

    def transactions(self, feed_start: dt.datetime, feed_end: dt.datetime) -> Iterator[dict]:
        """getTransactions over a feedDate window; later pages send nextPageToken as the only parameter."""
        params: dict[str, str] = {"feedStartDate": _iso_utc(feed_start), "feedEndDate": _iso_utc(feed_end)}
        seen_tokens: set[str] = set()
        while True:
            page = self._call("GET", TRANSACTIONS_PATH, params=params)
            transactions = page.get("transactions")
            if not isinstance(transactions, list):
                raise AmazonBusinessApiError(f"GET {TRANSACTIONS_PATH}: the answer has no transactions list")
            yield from transactions
            token = page.get("nextPageToken")
            if not token:
                return
            if token in seen_tokens:
                raise AmazonBusinessApiError(f"GET {TRANSACTIONS_PATH}: the API returned the same nextPageToken twice")
            seen_tokens.add(token)
            params = {"nextPageToken": token}

    def invoice_details(self, order_line_items: list[dict]) -> list[dict]:
        """getInvoiceDetailsByOrderLineItems, at most 25 line items per call."""
        results: list[dict] = []
        for start in range(0, len(order_line_items), INVOICE_ITEMS_PER_CALL):
            chunk = order_line_items[start:start + INVOICE_ITEMS_PER_CALL]
            page = self._call("POST", INVOICES_PATH, body={"orderLineItems": chunk})
            found = page.get("invoiceDetailsByOrderLineItems")
            if not isinstance(found, list):
                raise AmazonBusinessApiError(f"POST {INVOICES_PATH}: the answer has no invoiceDetailsByOrderLineItems")
            results.extend(found)
        return results
