"""A loopback Amazon Business Reconciliation API (2021-01-08) and Login-with-Amazon token endpoint.

Real sockets on 127.0.0.1 (port 0). Implements the three operations of
../shared/vendor/amazon-business/reconciliation-api-2021-01-08.json — getTransactions,
getInvoiceDetailsByOrderLineItems, getBatchInvoicePaymentDetails — with their parameter rules
(feedStartDate/feedEndDate, later pages with nextPageToken as the only parameter, at most 25 items
per POST) and error shape (``{"errors": [{"code", "message", "details"}]}``), plus the LWA
refresh-token grant (``POST /auth/o2/token``, form encoded).

It answers a request that equals one of the vendor's static sandbox examples with that example, and
otherwise serves the transactions and invoice details it was given (the sandbox's invoice details
are served per order line item too). Access tokens are checked on every call (``x-amz-access-token``)
and can be made to expire after a number of uses; ``fail_next`` scripts 429 / 5xx answers;
``random_faults`` (fakes/faults.py) injects faults at random, seeded, on the API (not the token endpoint).
A page token stays valid after use, so a page whose answer was lost can be asked for again.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from acctsync_pipelines_tests.fakes.faults import RandomFaults, drop_connection, send_quietly, signature

TRANSACTIONS = "/reconciliation/2021-01-08/transactions"
INVOICES = "/reconciliation/2021-01-08/invoices"
PAYMENT_DETAILS = "/reconciliation/2021-01-08/invoices/batch/paymentDetails"
TOKEN = "/auth/o2/token"


@dataclass(frozen=True)
class SandboxExample:
    method: str
    path: str
    status: int
    request: dict        # query parameters, or {"body": ...}
    response: Any


def load_sandbox(spec_path: Path) -> list[SandboxExample]:
    """The static sandbox examples (x-amzn-api-sandbox) of the vendor's Reconciliation API model."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    examples = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                for example in (response.get("x-amzn-api-sandbox") or {}).get("static", []):
                    parameters = example.get("request", {}).get("parameters", {})
                    request = {name: value.get("value") for name, value in parameters.items()}
                    examples.append(SandboxExample(method.upper(), path, int(status), request, example["response"]))
    return examples


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, list[str]]
    body: Any
    token: str | None
    status: int = 0


@dataclass
class Fault:
    status: int
    path_prefix: str
    times: int
    headers: dict[str, str] = field(default_factory=dict)


def _error(code: str, message: str, details: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"errors": [error]}


def _parse_moment(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


class FakeAmazonBusinessApi:
    def __init__(self, *, transactions: list[dict] | None = None, sandbox: list[SandboxExample] | None = None,
                 page_size: int = 100, token_uses: int | None = None, expires_in: int = 3600):
        self.client_id = "amzn1.application-oa2-client.test"
        self.client_secret = "lwa-client-secret-for-tests-7e1d"
        self.refresh_token = "Atzr|refresh-token-for-tests-51ab"
        self.transactions = list(transactions or [])
        self.invoice_details: dict[tuple[str, str, str], list[dict]] = {}
        self.sandbox = list(sandbox or [])
        for example in self.sandbox:
            if example.path == INVOICES and example.status == 200:
                for entry in example.response.get("invoiceDetailsByOrderLineItems", []):
                    item = entry["orderLineItem"]
                    key = (item["orderId"], item["orderLineItemId"], item["shipmentId"])
                    self.invoice_details.setdefault(key, entry["invoiceDetails"])
        self.page_size = page_size
        self.token_uses = token_uses
        self.expires_in = expires_in
        self.seen: list[Seen] = []
        self.token_requests = 0
        self._tokens: dict[str, int] = {}      # live access token → requests served with it
        self._pages: dict[str, tuple[dt.datetime, dt.datetime, int]] = {}
        self._faults: deque[Fault] = deque()
        self.random_faults: RandomFaults | None = None
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- control ------------------------------------------------------------------------------------

    def __enter__(self) -> FakeAmazonBusinessApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per answer (headers and body), so no delayed-ACK stalls

            def log_message(self, *_: Any) -> None:
                return

            def do_GET(self) -> None:
                api._serve(self)

            do_POST = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN

    def env(self) -> dict[str, str]:
        return {"AMAZON_BUSINESS_CLIENT_ID": self.client_id, "AMAZON_BUSINESS_CLIENT_SECRET": self.client_secret,
                "AMAZON_BUSINESS_REFRESH_TOKEN": self.refresh_token}

    def add_invoice(self, order_id: str, order_line_item_id: str, shipment_id: str, detail: dict) -> None:
        self.invoice_details.setdefault((order_id, order_line_item_id, shipment_id), []).append(detail)

    def fail_next(self, status: int, times: int = 1, path_prefix: str = "/reconciliation",
                  headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._faults.append(Fault(status, path_prefix, times, dict(headers or {})))

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def calls(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    # -- serving ------------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        params = parse_qs(parts.query, keep_blank_values=True)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        content_type = request.headers.get("Content-Type", "")
        if "x-www-form-urlencoded" in content_type:
            body: Any = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8")).items()}
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        seen = Seen(request.command, parts.path, params, body, request.headers.get("x-amz-access-token"))
        chaos = self.random_faults
        injection = None
        if chaos is not None and parts.path != TOKEN:
            injection = chaos.draw(signature(request.command, parts.path, params, body))
        with self._lock:
            self.seen.append(seen)
            if injection is not None and injection.before_work:
                status, payload, headers = self._injected(injection, chaos)
            else:
                status, payload, headers = self._answer(seen)
            seen.status = status
        if injection is not None and injection.kind == "timeout":
            chaos.hold()
            drop_connection(request)
            return
        if injection is not None and injection.kind == "lost":  # answered, but the answer does not arrive
            if injection.lost_way == "drop":
                drop_connection(request)
                return
            if injection.lost_way == "500":
                status, payload, headers = 500, _error("InternalFailure", "We encountered an internal error."), {}
            else:
                chaos.hold()
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": f"req-{len(self.seen)}",
                   **({"x-amzn-RateLimit-Limit": "2.0"} if parts.path != TOKEN else {}), **headers}
        send_quietly(request, status, data, headers)

    @staticmethod
    def _injected(injection, chaos: RandomFaults) -> tuple[int, Any, dict[str, str]]:
        if injection.kind == "timeout":
            return 0, None, {}  # never answered
        if injection.kind == "429":
            return 429, _error("QuotaExceeded", "You exceeded your quota for the requested resource."), \
                {"Retry-After": chaos.retry_after}
        return 500, _error("InternalFailure", "We encountered an internal error. Please try again."), {}

    def _answer(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        if seen.path == TOKEN and seen.method == "POST":
            return self._token(seen.body if isinstance(seen.body, dict) else {})
        for fault in self._faults:
            if seen.path.startswith(fault.path_prefix) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                if fault.status == 429:
                    return 429, _error("QuotaExceeded", "You exceeded your quota for the requested resource."), \
                        fault.headers
                return fault.status, _error("InternalFailure", "We encountered an internal error. Please try again."), \
                    fault.headers
        token = seen.token
        if token is None or token not in self._tokens:
            if token is None:
                return 401, _error("Unauthorized", "Access to requested resource is denied.", "Missing access token"), {}
            return 403, _error("Unauthorized", "Access to requested resource is denied.", "Expired Token"), {}
        self._tokens[token] += 1
        if self.token_uses is not None and self._tokens[token] > self.token_uses:
            del self._tokens[token]
            return 403, _error("Unauthorized", "Access to requested resource is denied.", "Expired Token"), {}
        route = {(TRANSACTIONS, "GET"): self._transactions, (INVOICES, "POST"): self._invoices,
                 (PAYMENT_DETAILS, "POST"): self._payment_details}.get((seen.path, seen.method))
        if route is None:
            return 404, _error("NotFound", f"No resource {seen.method} {seen.path}"), {}
        return route(seen)

    def _token(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        self.token_requests += 1
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "Client authentication failed"}, {}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"}, {}
        access = f"Atza|access-{self.token_requests}-for-tests"
        self._tokens[access] = 0
        return 200, {"access_token": access, "refresh_token": self.refresh_token, "token_type": "bearer",
                     "expires_in": self.expires_in}, {}

    def _static(self, seen: Seen, request: dict) -> tuple[int, Any, dict[str, str]] | None:
        for example in self.sandbox:
            if example.method == seen.method and example.path == seen.path and example.request == request:
                return example.status, example.response, {}
        return None

    def _transactions(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        params = {k: v[-1] for k, v in seen.params.items()}
        if "nextPageToken" in params:
            if len(params) != 1:
                return 400, _error("INVALID_REQUEST_PARAMETER",
                                   "nextPageToken must be the only parameter of a request for a later page."), {}
            if params["nextPageToken"] not in self._pages:
                return 400, _error("INVALID_REQUEST_PARAMETER", "The nextPageToken is not valid."), {}
            start, end, offset = self._pages[params["nextPageToken"]]
        else:
            static = self._static(seen, params)
            if static:
                return static
            missing = [p for p in ("feedStartDate", "feedEndDate") if not params.get(p)]
            if missing:
                return 400, _error("INVALID_REQUEST_PARAMETER", "Missing required request parameters."), {}
            start, end = _parse_moment(params["feedStartDate"]), _parse_moment(params["feedEndDate"])
            for name, moment in (("feedStartDate", start), ("feedEndDate", end)):
                if moment is None:
                    return 400, _error("INVALID_REQUEST_PARAMETER",
                                       f"Input date [{params[name]}] is not in the expected ISO8601 format."), {}
            offset = 0
        matching = [t for t in self.transactions
                    if start <= (_parse_moment(t.get("feedDate", "")) or start - dt.timedelta(1)) < end]
        page = matching[offset:offset + self.page_size]
        answer: dict[str, Any] = {"transactions": page}
        if offset + self.page_size < len(matching):
            token = base64.urlsafe_b64encode(f"{start.isoformat()}|{offset + self.page_size}".encode()).decode()
            self._pages[token] = (start, end, offset + self.page_size)
            answer["nextPageToken"] = token
        return 200, answer, {}

    def _invoices(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        body = seen.body if isinstance(seen.body, dict) else {}
        static = self._static(seen, {"body": body})
        if static:
            return static
        items = body.get("orderLineItems")
        if not isinstance(items, list) or not items:
            return 400, _error("INVALID_REQUEST_PARAMETER", "Missing required request parameters."), {}
        if len(items) > 25:
            return 400, _error("INVALID_REQUEST_PARAMETER", "The maximum number of order line items is 25."), {}
        found = []
        for item in items:
            if not all(item.get(k) for k in ("orderId", "orderLineItemId", "shipmentId")):
                return 400, _error("INVALID_REQUEST_PARAMETER", "orderId, orderLineItemId and shipmentId are required."), {}
            key = (item["orderId"], item["orderLineItemId"], item["shipmentId"])
            if key in self.invoice_details:
                found.append({"orderLineItem": dict(item), "invoiceDetails": self.invoice_details[key]})
        return 200, {"invoiceDetailsByOrderLineItems": found}, {}

    def _payment_details(self, seen: Seen) -> tuple[int, Any, dict[str, str]]:
        body = seen.body if isinstance(seen.body, dict) else {}
        static = self._static(seen, {"body": body})
        if static:
            return static
        ids = body.get("invoiceIds")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 25:
            return 400, _error("INVALID_REQUEST_PARAMETER", "The request contains invalid parameters.",
                               "The invoiceIds array must contain between 1 and 25 invoice IDs."), {}
        known = {d["invoiceNumber"] for details in self.invoice_details.values() for d in details}
        results = [
            {"invoiceId": i, "resultType": "SUCCESS", "paymentDetails": {"status": "Issued",
                                                                         "dueDate": "2025-07-31T23:59:59Z"}}
            if i in known else
            {"invoiceId": i, "resultType": "ERROR", "error": {"code": "NOT_FOUND", "message": "Unknown invoice"}}
            for i in ids
        ]
        return 200, {"invoicePaymentDetailsResults": results}, {}
