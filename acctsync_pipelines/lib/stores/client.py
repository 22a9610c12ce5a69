"""A small client for the STORES retail API v202211 (../shared/vendor/stores/openapi-202211.json).

Only what acctsync reads: ``GET /retail/202211/orders``, ``/remittances``,
``/remittances/{id}/order_ids`` and ``/sales_channels``. Responses are returned as their raw text, so
the raw layer keeps exactly what STORES sent.

- Bearer token from ``STORES_API_TOKEN`` or the file named by ``STORES_API_TOKEN_FILE``; it is only
  ever put in the Authorization header, never in a message.
- Lists are read with ``limit``/``offset`` until a short page (the API gives no total count).
- 429 waits (``Retry-After`` if given) and retries; 5xx and timeouts retry with exponential backoff;
  both are bounded by ``max_attempts`` (the shared loop in lib/targets/http.py). Any other 4xx fails at
  once, quoting ``errors[].message``.
- Requests are spaced by ``min_interval_seconds`` (STORES asks for about 60 a minute per token).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.targets.http import Backoff, RetriesExhausted, send_with_retries

API_PREFIX = "/retail/202211"
TOKEN_ENV = "STORES_API_TOKEN"
TOKEN_FILE_ENV = "STORES_API_TOKEN_FILE"
MAX_PAGES = 10_000


class StoresApiError(InputError):
    """STORES refused or could not be reached; the day that needed it fails."""


def api_token() -> str:
    """The bearer token from the environment (or the file it names). Never logged."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    token_file = os.environ.get(TOKEN_FILE_ENV, "").strip()
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise StoresApiError(f"{TOKEN_FILE_ENV}={token_file}: cannot read the STORES API token file "
                                 f"({exc.strerror or type(exc).__name__})") from None
        if token:
            return token
        raise StoresApiError(f"{TOKEN_FILE_ENV}={token_file}: the STORES API token file is empty")
    raise StoresApiError(f"no STORES API token: set {TOKEN_ENV} or {TOKEN_FILE_ENV} "
                         "(sources.stores.input is api)")


@dataclass(frozen=True)
class Page:
    """One response: where it came from, its text, and how many records it listed."""

    path: str
    params: dict[str, str]
    text: str
    records: int


def _error_messages(response: httpx.Response) -> str:
    """The API's own words: ``{"errors": [{"message": …}]}`` (4xx) or ``{"message": …}`` (503)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            messages = [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
            if messages:
                return "; ".join(messages)
        if body.get("message"):
            return str(body["message"])
    return json.dumps(body, ensure_ascii=False)[:300]


class StoresClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        page_size: int = 100,
        timeout_seconds: float = 30.0,
        max_attempts: int = 6,
        backoff_seconds: float = 1.0,
        max_wait_seconds: float = 60.0,
        min_interval_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be 1..100 (the API's maximum is 100)")
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.max_attempts = max_attempts
        self.backoff = Backoff(backoff_seconds, max_wait_seconds)
        self.min_interval_seconds = min_interval_seconds
        self._sleep = sleep
        self._last_request = 0.0
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout_seconds,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"StoresClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StoresClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- endpoints --------------------------------------------------------------------------------

    def orders(self, **params: str) -> Iterator[Page]:
        """``GET /orders`` with the given filters (ordered_at_from, canceled_at_to, direction, …)."""
        return self._pages("/orders", "orders", params)

    def remittances(self, **params: str) -> Iterator[Page]:
        return self._pages("/remittances", "remittances", params)

    def remittance_order_ids(self, remittance_id: str) -> Page:
        path = f"/remittances/{quote(remittance_id, safe='')}/order_ids"
        text, body = self._get(path, {})
        ids = body.get("order_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise StoresApiError(f"STORES API GET {API_PREFIX}{path}: the response has no order_ids list")
        return Page(API_PREFIX + path, {}, text, len(ids))

    def sales_channels(self) -> Iterator[Page]:
        return self._pages("/sales_channels", "sales_channels", {})

    # -- mechanics --------------------------------------------------------------------------------

    def _pages(self, path: str, key: str, params: dict[str, str]) -> Iterator[Page]:
        offset = 0
        for _ in range(MAX_PAGES):
            query = {**params, "limit": str(self.page_size), "offset": str(offset)}
            text, body = self._get(path, query)
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise StoresApiError(f"STORES API GET {API_PREFIX}{path}: the response has no {key!r} list")
            yield Page(API_PREFIX + path, query, text, len(items))
            if len(items) < self.page_size:
                return
            offset += len(items)
        raise StoresApiError(f"STORES API GET {API_PREFIX}{path}: more than {MAX_PAGES} pages; narrow the query")

    def _wait_for_slot(self) -> None:
        if self.min_interval_seconds <= 0:
            return
        wait = self._last_request + self.min_interval_seconds - time.monotonic()
        if wait > 0:
            self._sleep(wait)

    def _send(self, path: str, params: dict[str, str]) -> httpx.Response:
        self._wait_for_slot()
        self._last_request = time.monotonic()
        return self._http.get(API_PREFIX + path, params=params)

    def _get(self, path: str, params: dict[str, str]) -> tuple[str, object]:
        where = f"GET {API_PREFIX}{path}"
        try:
            response = send_with_retries(lambda: self._send(path, params), attempts=self.max_attempts,
                                         backoff=self.backoff, sleep=self._sleep)
        except RetriesExhausted as gave_up:
            if gave_up.response is None:
                last = ("timed out" if isinstance(gave_up.error, httpx.TimeoutException)
                        else f"connection failed ({type(gave_up.error).__name__})")
            elif gave_up.response.status_code == 429:
                last = f"HTTP 429 (rate limited): {_error_messages(gave_up.response)}"
            else:
                last = f"HTTP {gave_up.response.status_code}: {_error_messages(gave_up.response)}"
            raise StoresApiError(
                f"STORES API {where}: gave up after {gave_up.attempts} attempts; last: {last}") from None
        status = response.status_code
        if status != 200:
            hint = {401: " (check STORES_API_TOKEN)", 403: " (check the app's scopes and plan)"}.get(status, "")
            raise StoresApiError(f"STORES API {where}: HTTP {status}: {_error_messages(response)}{hint}")
        try:
            return response.text, response.json()
        except ValueError:
            raise StoresApiError(f"STORES API {where}: the response is not JSON") from None
