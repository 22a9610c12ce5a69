"""One HTTP client for the API targets: bearer tokens with refresh on 401, bounded retries, rate limits,
a daily call budget, and error messages that never carry a secret.

A request that is safe to repeat (GET, PUT, DELETE, or a create the target makes idempotent) is retried
after 5xx and timeouts. A create that is not is never blindly repeated: when its outcome is unknown
(a timeout after sending, a dropped connection, a 5xx) it raises ``OutcomeUnknown`` and the caller
looks the document up at the target before sending it again.

The source clients (STORES, Amazon Business) only read, so they share the simpler loop here:
``send_with_retries`` repeats a request after 429, 5xx and network errors with exponential backoff
(``Backoff``) or the server's Retry-After, and says what the last attempt got when it gives up.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import httpx

from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.targets.oauth import OAuthSession
from acctsync_pipelines.lib.targets.settings import RetrySettings


class TargetError(PostingError):
    """The target refused a request or could not be reached; ``status`` is the HTTP status or None."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class OutcomeUnknown(TargetError):
    """A create was sent and its answer lost: look the document up before sending it again."""


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    headers: httpx.Headers


class CallBudget:
    """Calls per target account and Tokyo calendar day, counted in ops.api_calls before each call."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, target: str, account: str, limit: int,
                 timezone: str = "Asia/Tokyo"):
        self.conn, self.target, self.account, self.limit = conn, target, account, limit
        self.zone = ZoneInfo(timezone)

    def spend(self) -> None:
        today = dt.datetime.now(self.zone).date()
        row = self.conn.execute(
            "SELECT calls FROM ops.api_calls WHERE target = ? AND account = ? AND call_date = ?",
            [self.target, self.account, today],
        ).fetchone()
        used = row[0] if row else 0
        if used >= self.limit:
            raise TargetError(
                f"the daily call budget ({self.limit} calls for {self.account} on {today}) is spent; "
                f"what is claimed is sent on the next run"
            )
        self.conn.execute(
            "INSERT INTO ops.api_calls VALUES (?, ?, ?, 1) "
            "ON CONFLICT (target, account, call_date) DO UPDATE SET calls = calls + 1",
            [self.target, self.account, today],
        )


class RateLimiter:
    """At most ``per_minute`` calls in any 60 seconds (in this process)."""

    def __init__(self, per_minute: int, sleep: Callable[[float], None] = time.sleep):
        self.per_minute, self.sleep = per_minute, sleep
        self.calls: deque[float] = deque()

    def wait(self) -> None:
        now = time.monotonic()
        while self.calls and now - self.calls[0] >= 60:
            self.calls.popleft()
        if len(self.calls) >= self.per_minute:
            self.sleep(60 - (now - self.calls[0]))
            self.calls.popleft()
        self.calls.append(time.monotonic())


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or x-ratelimit-reset (epoch or ISO time)."""
    value = response.headers.get("retry-after")
    if value:
        try:
            seconds = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(seconds):
                return seconds
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        if reset.strip().isdigit():
            seconds = float(reset)
            return max(0.0, seconds - time.time()) if seconds > 1e9 else seconds
        try:
            return max(0.0, dt.datetime.fromisoformat(reset).timestamp() - time.time())
        except ValueError:
            pass
    return None


class ApiClient:
    def __init__(
        self,
        target: str,
        base_url: str,
        session: OAuthSession,
        retry: RetrySettings,
        budget: CallBudget,
        auth_scheme: str = "Bearer",
        rate_limiter: RateLimiter | None = None,
        describe_error: Callable[[Any], str] | None = None,
    ):
        self.target = target
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.retry = retry
        self.budget = budget
        self.auth_scheme = auth_scheme
        self.rate_limiter = rate_limiter
        self.describe_error = describe_error or (lambda body: "")
        self.http = httpx.Client(timeout=retry.timeout_seconds, headers={"Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    def _fail(self, message: str, status: int | None = None, unknown: bool = False) -> TargetError:
        text = redact(message, self.session.secrets())
        return OutcomeUnknown(text, status) if unknown else TargetError(text, status)

    def _backoff(self, attempt: int) -> float:
        return min(self.retry.backoff_seconds * 2 ** (attempt - 1), self.retry.max_wait_seconds)

    def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                safe_to_repeat: bool, accept: tuple[int, ...] = ()) -> ApiResponse:
        """Send one request. 2xx and the statuses in ``accept`` are answers; anything else raises TargetError."""
        what = f"{method} {path}"
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            self.budget.spend()
            if self.rate_limiter:
                self.rate_limiter.wait()
            headers = {"Authorization": f"{self.auth_scheme} {self.session.access_token()}"}
            try:
                response = self.http.request(method, self.base_url + path, params=params, json=json, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing reached the target: always safe to try again.
                if attempt >= self.retry.max_attempts:
                    raise self._fail(f"{what}: cannot connect ({type(exc).__name__}) after {attempt} attempts") from None
                time.sleep(self._backoff(attempt))
                continue
            except httpx.HTTPError as exc:
                if not safe_to_repeat:
                    raise self._fail(f"{what}: no answer ({type(exc).__name__})", unknown=True) from None
                if attempt >= self.retry.max_attempts:
                    raise self._fail(f"{what}: no answer ({type(exc).__name__}) after {attempt} attempts") from None
                time.sleep(self._backoff(attempt))
                continue
            status = response.status_code
            body = _json_or_none(response)
            if status == 401 and not refreshed:
                self.session.refresh()
                refreshed = True
                attempt -= 1
                continue
            limited = status == 429 or (status == 403 and _rate_limit_headers(response))
            if limited:
                wait = _retry_after(response)
                wait = self._backoff(attempt) if wait is None else wait
                if attempt >= self.retry.max_attempts or wait > self.retry.max_wait_seconds:
                    raise self._fail(f"{what}: rate-limited (HTTP {status}); retry after {wait:.0f} s", status)
                time.sleep(wait)
                continue
            if status >= 500:
                if not safe_to_repeat:
                    raise self._fail(f"{what}: HTTP {status}{self.describe_error(body)}", status, unknown=True)
                if attempt >= self.retry.max_attempts:
                    raise self._fail(f"{what}: HTTP {status}{self.describe_error(body)} after {attempt} attempts", status)
                time.sleep(self._backoff(attempt))
                continue
            if 200 <= status < 300 or status in accept:
                return ApiResponse(status, body, response.headers)
            raise self._fail(f"{what}: HTTP {status}{self.describe_error(body)}", status)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``base_seconds`` before the first retry, doubled for each next one, at most
    ``max_seconds`` (which also caps a server's Retry-After)."""

    base_seconds: float
    max_seconds: float

    def delay(self, retry: int) -> float:
        return min(self.base_seconds * 2 ** (retry - 1), self.max_seconds)


class RetriesExhausted(Exception):
    """Every attempt failed: ``response`` is the last answer (429 or 5xx), or ``error`` the last network error."""

    def __init__(self, attempts: int, response: httpx.Response | None = None, error: Exception | None = None):
        super().__init__(f"gave up after {attempts} attempts")
        self.attempts, self.response, self.error = attempts, response, error


def send_with_retries(send: Callable[[], httpx.Response], *, attempts: int, backoff: Backoff,
                      sleep: Callable[[float], None] = time.sleep,
                      retry_after_for: tuple[int, ...] = (429,)) -> httpx.Response:
    """Send a request that is safe to repeat (a read) until its answer is neither 429 nor 5xx, at most
    ``attempts`` times. Waits the backoff between attempts, or the Retry-After of an answer whose status is
    in ``retry_after_for`` (capped by the backoff's maximum). Any other answer is returned as it is."""
    for attempt in range(1, attempts + 1):
        response: httpx.Response | None = None
        error: Exception | None = None
        try:
            response = send()
        except httpx.TransportError as exc:  # timeouts and dropped connections included
            error = exc
        else:
            if response.status_code != 429 and response.status_code < 500:
                return response
        if attempt >= attempts:
            raise RetriesExhausted(attempt, response, error)
        wait = backoff.delay(attempt)
        if response is not None and response.status_code in retry_after_for:
            given = _retry_after(response)
            if given is not None:
                wait = min(max(given, 0.0), backoff.max_seconds)
        sleep(wait)
    raise RetriesExhausted(attempts)  # attempts < 1


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _rate_limit_headers(response: httpx.Response) -> bool:
    return any(h in response.headers for h in ("retry-after", "x-ratelimit-remaining", "x-ratelimit-reset"))
