"""A loopback STORES retail API (v202211) for tests: real sockets on 127.0.0.1, the documented paths,
query parameters, paging and error shapes (../shared/vendor/stores/openapi-202211.json).

Serves whatever orders, remittances, remittance order ids and sales channels it is given (the
vendor's samples in most tests). ``fail_next`` scripts faults (429, 5xx, a slow answer) for the next
requests to a path; ``random_faults`` (fakes/faults.py) injects them at random, seeded; ``requests``
records what the client asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from acctsync_pipelines_tests.fakes.faults import RandomFaults, drop_connection, send_quietly, signature

JST = dt.timezone(dt.timedelta(hours=9))
PREFIX = "/retail/202211"


@dataclass
class Fault:
    path: str
    status: int = 500
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class Seen:
    path: str
    params: dict[str, str]
    authorized: bool
    answered: int


def _moment(text: str | None, end_of_day: bool = False) -> dt.datetime | None:
    if not text:
        return None
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        clock = dt.time(23, 59, 59) if end_of_day else dt.time()
        return dt.datetime.combine(day, clock, JST)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def _within(stamps: list[str | None], start: dt.datetime | None, end: dt.datetime | None) -> bool:
    for stamp in stamps:
        if stamp is None:
            continue
        moment = dt.datetime.fromisoformat(stamp)
        if (start is None or moment >= start) and (end is None or moment <= end):
            return True
    return False


class FakeStoresApi:
    def __init__(self, orders: list[dict] | None = None, remittances: list[dict] | None = None,
                 order_ids: dict[str, list[str]] | None = None, sales_channels: list[dict] | None = None,
                 token: str = "test-token-not-secret"):
        self.orders = list(orders or [])
        self.remittances = list(remittances or [])
        self.order_ids = dict(order_ids or {})
        self.sales_channels = list(sales_channels or [])
        self.token = token
        self.requests: list[Seen] = []
        self.headers_seen: list[dict[str, str]] = []
        self._faults: deque[Fault] = deque()
        self.random_faults: RandomFaults | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first (use it as a context manager)"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, path: str, status: int = 500, times: int = 1, body: dict | None = None,
                  headers: dict[str, str] | None = None, delay_seconds: float = 0.0) -> None:
        """The next ``times`` requests whose path starts with ``path`` get this answer instead."""
        with self._lock:
            for _ in range(times):
                self._faults.append(Fault(path, status, body, dict(headers or {}), delay_seconds))

    def __enter__(self) -> FakeStoresApi:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-stores-api", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # -- the API ----------------------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path):
                    self._faults.remove(fault)
                    return fault
        return None

    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, dict]:
        try:
            limit = int(params.get("limit", "10"))
            offset = int(params.get("offset", "0"))
        except ValueError:
            return 400, {"errors": [{"message": "limit and offset must be integers"}]}
        if not 1 <= limit <= 100:
            return 400, {"errors": [{"message": "limit must be between 1 and 100"}]}
        if offset < 0:
            return 400, {"errors": [{"message": "offset must be 0 or more"}]}

        def page(items: list) -> list:
            return items[offset:offset + limit]

        if path == f"{PREFIX}/orders":
            return 200, {"orders": page(self._orders(params))}
        if path == f"{PREFIX}/remittances":
            start = params.get("transferred_date_from")
            end = params.get("transferred_date_to")
            found = [r for r in self.remittances
                     if (not start or r["transferred_date"] >= start) and (not end or r["transferred_date"] <= end)]
            found.sort(key=lambda r: r["transferred_date"], reverse=True)
            return 200, {"remittances": page(found)}
        if path.startswith(f"{PREFIX}/remittances/") and path.endswith("/order_ids"):
            remittance_id = unquote(path[len(f"{PREFIX}/remittances/"):-len("/order_ids")])
            if remittance_id not in self.order_ids and not any(r["id"] == remittance_id for r in self.remittances):
                return 404, {"errors": [{"message": f"remittance {remittance_id} not found"}]}
            return 200, {"remittance_id": remittance_id, "order_ids": self.order_ids.get(remittance_id, [])}
        if path == f"{PREFIX}/sales_channels":
            return 200, {"sales_channels": page(self.sales_channels)}
        return 404, {"errors": [{"message": f"no such path: {path}"}]}

    def _orders(self, params: dict[str, str]) -> list[dict]:
        ordered_from = _moment(params.get("ordered_at_from"))
        ordered_to = _moment(params.get("ordered_at_to"), end_of_day=True)
        canceled_from = _moment(params.get("canceled_at_from"))
        canceled_to = _moment(params.get("canceled_at_to"), end_of_day=True)
        found = []
        for order in self.orders:
            if (ordered_from or ordered_to) and not _within([order["ordered_at"]], ordered_from, ordered_to):
                continue
            if canceled_from or canceled_to:
                stamps = [d.get("canceled_at") for d in order["deliveries"]]
                stamps += [t.get("paid_at") for t in order["transactions"] if t["amount"] < 0]
                if not _within(stamps, canceled_from, canceled_to):
                    continue
            found.append(order)
        found.sort(key=lambda o: dt.datetime.fromisoformat(o["ordered_at"]),
                   reverse=params.get("direction", "desc") == "desc")
        return found

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                send_quietly(self, status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                authorized = self.headers.get("Authorization") == f"Bearer {fake.token}"
                with fake._lock:
                    fake.headers_seen.append(dict(self.headers))
                chaos = fake.random_faults
                injection = chaos.draw(signature("GET", parts.path, params, None)) if chaos else None
                if injection is not None and injection.kind == "timeout":
                    chaos.hold()
                    drop_connection(self)
                    status = 0
                    with fake._lock:
                        fake.requests.append(Seen(parts.path, params, authorized, status))
                    return
                injected_refusal = injection is not None and injection.before_work
                fault = None if injected_refusal else fake._take_fault(parts.path)
                if injected_refusal:
                    status = int(injection.kind)
                    body = ({"message": "Service Unavailable"} if status >= 500
                            else {"errors": [{"message": "Too Many Requests"}]})
                    headers = {"Retry-After": chaos.retry_after} if status == 429 else {}
                elif fault is not None:
                    if fault.delay_seconds:
                        time.sleep(fault.delay_seconds)
                    status, body, headers = fault.status, fault.body, fault.headers
                    if body is None:
                        body = ({"message": "Service Unavailable"} if status >= 500
                                else {"errors": [{"message": "Too Many Requests"}]})
                elif not authorized:
                    status, body, headers = 401, {"errors": [{"message": "invalid credential"}]}, {}
                else:
                    status, body = fake._answer(parts.path, params)
                    headers = {}
                    if injection is not None:  # lost: answered, but the answer does not arrive
                        if injection.lost_way == "drop":
                            with fake._lock:
                                fake.requests.append(Seen(parts.path, params, authorized, 0))
                            drop_connection(self)
                            return
                        if injection.lost_way == "500":
                            status, body = 500, {"message": "Service Unavailable"}
                        else:
                            chaos.hold()
                with fake._lock:
                    fake.requests.append(Seen(parts.path, params, authorized, status))
                self._send(status, body, headers)  # a client that gave up (timed out) is ignored

        return Handler
