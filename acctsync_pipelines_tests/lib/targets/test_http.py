"""The HTTP and token plumbing every API target shares, without a target."""

from __future__ import annotations

import json
import stat

import httpx

from acctsync_pipelines.lib.targets.http import RateLimiter, _retry_after, redact
from acctsync_pipelines.lib.targets.oauth import write_private_json


def test_the_rate_limiter_waits_once_the_minute_is_full():
    waits: list[float] = []
    limiter = RateLimiter(3, sleep=waits.append)
    for _ in range(3):
        limiter.wait()
    assert waits == []
    limiter.wait()
    assert len(waits) == 1 and 59 < waits[0] <= 60


def test_retry_after_reads_seconds_and_rate_limit_reset():
    assert _retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert _retry_after(httpx.Response(429, headers={"x-ratelimit-reset": "3"})) == 3
    assert _retry_after(httpx.Response(429)) is None


def test_redact_hides_every_known_secret():
    assert redact("token abcd1234 and abcd1234x", {"abcd1234", "abcd1234x"}) == "token [redacted] and [redacted]"


def test_token_files_are_private_and_replaced_whole(tmp_path):
    path = tmp_path / "secrets" / "t.json"
    write_private_json(path, {"refresh_token": "one"})
    write_private_json(path, {"refresh_token": "two"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"refresh_token": "two"}
    assert [p.name for p in path.parent.iterdir()] == ["t.json"]
