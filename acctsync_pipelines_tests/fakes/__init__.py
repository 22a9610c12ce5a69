"""Loopback fakes of the accounting APIs (real sockets on 127.0.0.1, port 0), for tests only.

Each fake keeps the target's state (documents, masters, tokens), records every request it received,
and can be told to misbehave for the next matching request (``fail_next``): answer 429 or 500,
expire the access token, or do the work and then drop the connection without answering (the lost
acknowledgement every duplicate-posting bug starts from). ``random_faults`` (fakes/faults.py) injects
such faults at random, seeded, on any request but the token endpoint's.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from acctsync_pipelines_tests.fakes.faults import RandomFaults, drop_connection, send_quietly, signature


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class Fault:
    method: str
    path_prefix: str
    kind: str  # '429' | '500' | '500_after' | 'drop_after' | 'expire_token' | '403_limited'
    times: int = 1


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class DropConnection(Exception):
    """Close the socket without an answer."""


class LoopbackApi:
    """Subclasses implement ``handle(method, path, query, body, headers) -> Reply``."""

    auth_scheme = "Bearer"

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.faults: list[Fault] = []
        self.problems: list[str] = []
        self.lock = threading.RLock()
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.client_id = "client-id-for-tests"
        self.client_secret = "client-secret-for-tests-9f2c"
        self.token_counter = 0
        self.refreshes = 0
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.random_faults: RandomFaults | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> str:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                return

            def _serve(self) -> None:
                api._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.base_url

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # --- tokens -----------------------------------------------------------------------------------------
    def issue_tokens(self) -> tuple[str, str]:
        with self.lock:
            self.token_counter += 1
            access = f"access-{self.token_counter}-{id(self):x}-secretA"
            refresh = f"refresh-{self.token_counter}-{id(self):x}-secretR"
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
            return access, refresh

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access_tokens.clear()

    def token_reply(self, form: dict[str, str]) -> Reply:
        """OAuth refresh: single-use refresh tokens, each refresh rotates the pair."""
        with self.lock:
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return Reply(401, {"error": "invalid_client"})
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in self.refresh_tokens:
                return Reply(401, {"error": "invalid_grant", "error_description": "refresh token is invalid"})
            self.refresh_tokens.discard(form["refresh_token"])
            self.access_tokens.clear()
            self.refreshes += 1
        access, refresh = self.issue_tokens()
        return Reply(200, {"access_token": access, "token_type": "bearer", "expires_in": 21600,
                           "refresh_token": refresh, "scope": "read write", "created_at": 1700000000})

    def authorized(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        prefix = f"{self.auth_scheme} "
        return value.startswith(prefix) and value[len(prefix):] in self.access_tokens

    # --- faults -----------------------------------------------------------------------------------------
    def fail_next(self, method: str, path_prefix: str, kind: str, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(method, path_prefix, kind, times))

    def _take_fault(self, method: str, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and path.startswith(fault.path_prefix) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault.kind
        return None

    # --- serving ----------------------------------------------------------------------------------------
    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in request.headers.items()}
        content_type = headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in content_type:
            body: Any = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8")).items()}
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        else:
            body = None
        method = request.command
        with self.lock:
            self.received.append(Received(method, parts.path, query, body, headers))
        chaos = self.random_faults
        injection = None
        if chaos is not None and not self.is_token_path(parts.path):
            injection = chaos.draw(signature(method, parts.path, query, body))
        if injection is not None and injection.before_work:
            if injection.kind == "timeout":
                chaos.hold()
                drop_connection(request)
                return
            if injection.kind == "429":
                reply = Reply(429, self.rate_limited_body(), {"Retry-After": chaos.retry_after})
            else:
                reply = Reply(500, self.server_error_body())
            self._send(request, reply)
            return
        try:
            reply = self._dispatch(method, parts.path, query, body, headers)
        except DropConnection:
            drop_connection(request)
            return
        if injection is not None:  # lost: the work is done, the answer does not arrive
            if injection.lost_way == "drop":
                drop_connection(request)
                return
            if injection.lost_way == "500":
                reply = Reply(500, self.server_error_body())
            else:
                chaos.hold()
        self._send(request, reply)

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"} if payload else {}
        send_quietly(request, reply.status, payload, {**headers, **reply.headers})

    def _dispatch(self, method: str, path: str, query: dict, body: Any, headers: dict) -> Reply:
        if self.is_token_path(path):
            return self.token_reply(body if isinstance(body, dict) else {})
        fault = self._take_fault(method, path)
        if fault == "expire_token":
            self.expire_access_tokens()
        if not self.authorized(headers):
            return self.unauthorized()
        if fault == "429":
            return Reply(429, self.rate_limited_body(), {"Retry-After": "0", "x-ratelimit-limit": "100",
                                                         "x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"})
        if fault == "403_limited":
            return Reply(403, {"message": "Too many requests"}, {"Retry-After": "0"})
        if fault == "500":
            return Reply(500, self.server_error_body())
        reply = self.handle(method, path, query, body, headers)
        if fault == "drop_after" and reply.status < 300:
            raise DropConnection()
        if fault == "500_after" and reply.status < 300:
            return Reply(500, self.server_error_body())
        return reply

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.received
                    if (method is None or r.method == method) and r.path.startswith(path_prefix)
                    and not self.is_token_path(r.path)]

    # --- to be provided -------------------------------------------------------------------------------
    def is_token_path(self, path: str) -> bool:
        return path == "/oauth/token"

    def unauthorized(self) -> Reply:
        return Reply(401, {"message": "unauthorized"})

    def rate_limited_body(self) -> Any:
        return {"message": "rate limited"}

    def server_error_body(self) -> Any:
        return {"message": "internal error"}

    def handle(self, method: str, path: str, query: dict, body: Any, headers: dict) -> Reply:
        raise NotImplementedError
