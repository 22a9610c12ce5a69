"""Seeded random fault injection, shared by every loopback fake.

At ``rate`` (0.2 in the reliability suite) a request gets one of four faults, chosen with a seeded
``random.Random`` so a run is reproducible (the kinds are dealt from a shuffled deck, so every kind
comes up even in a short run):

- ``429``: refused as rate-limited, with ``Retry-After``; nothing is done;
- ``500``: refused with a server error; nothing is done;
- ``timeout``: nothing is done and no answer comes: the fake holds the request longer than the client's
  timeout, then drops the connection;
- ``lost``: the work **is done** (the document created), then the answer is lost: the connection is
  dropped, or a 500 is sent instead, or the answer is held past the client's timeout.

A fake calls ``draw`` once per request (after deciding the request is not exempt, e.g. the token
endpoint) and acts on the returned ``Injection``. The counters are the suite's figures: attempts (requests
seen), injected faults by kind, and retries (requests repeating one that got a fault earlier).
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

KINDS = ("429", "500", "timeout", "lost")
LOST_WAYS = ("drop", "500", "hold")


@dataclass(frozen=True)
class Injection:
    kind: str            # one of KINDS
    lost_way: str = ""   # for 'lost': one of LOST_WAYS

    @property
    def before_work(self) -> bool:
        """The fault replaces the answer and the fake does nothing (429, 500, timeout)."""
        return self.kind != "lost"

    @property
    def label(self) -> str:
        return f"lost ({self.lost_way})" if self.kind == "lost" else self.kind


def signature(method: str, path: str, query: Any, body: Any) -> str:
    """What identifies a repeated request (credentials left out)."""
    return json.dumps([method, path, query, body], sort_keys=True, ensure_ascii=False, default=str)


class RandomFaults:
    def __init__(self, rate: float = 0.2, seed: int = 0, hold_seconds: float = 1.0, retry_after: str = "0"):
        if not 0 <= rate < 1:
            raise ValueError("rate must be in [0, 1)")
        self.rate = rate
        self.hold_seconds = hold_seconds
        self.retry_after = retry_after
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.attempts = 0
        self.injected: Counter[str] = Counter()
        self.retries = 0
        self._faulted: Counter[str] = Counter()
        self._deck: list[str] = []

    def draw(self, request_signature: str) -> Injection | None:
        with self.lock:
            self.attempts += 1
            if self._faulted[request_signature] > 0:
                self._faulted[request_signature] -= 1
                self.retries += 1
            if self.random.random() >= self.rate:
                return None
            if not self._deck:
                self._deck = list(KINDS)
                self.random.shuffle(self._deck)
            kind = self._deck.pop()
            injection = Injection(kind, self.random.choice(LOST_WAYS) if kind == "lost" else "")
            self.injected[injection.label] += 1
            self._faulted[request_signature] += 1
            return injection

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())

    def by_kind(self) -> dict[str, int]:
        """Injected faults per kind (lost answers summed over their ways)."""
        counts = {kind: 0 for kind in KINDS}
        for label, count in self.injected.items():
            counts[label.split(" ")[0]] += count
        return counts

    def describe(self) -> str:
        kinds = self.by_kind()
        return ", ".join(f"{kind} {kinds[kind]}" for kind in KINDS)

    # --- acting on an injection -------------------------------------------------------------------------
    def hold(self) -> None:
        time.sleep(self.hold_seconds)


def drop_connection(request: BaseHTTPRequestHandler) -> None:
    """Close the socket without an answer."""
    request.close_connection = True
    try:
        request.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def send_quietly(request: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict[str, str]) -> None:
    """Answer, ignoring a client that has already given up (it timed out)."""
    try:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)
        request.wfile.flush()
    except OSError:  # BrokenPipeError, ConnectionResetError: the client is gone
        request.close_connection = True
