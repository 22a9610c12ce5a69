"""Fixtures for the API targets: loopback fakes with fresh tokens, and a home configured to post to them.

``running_fake(target, …)`` starts any of the three fakes and puts its tokens and client credentials in
the environment the target reads; ``target_config`` points a home at it. The ``freee``, ``quickbooks``
and ``zoho`` fixtures are that helper for one target each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acctsync_pipelines_tests.fakes import LoopbackApi
from acctsync_pipelines_tests.fakes.freee_api import FreeeFake
from acctsync_pipelines_tests.fakes.quickbooks_api import QuickBooksFake
from acctsync_pipelines_tests.fakes.zoho_api import ZohoBooksFake

FAST_RETRY = {"max_attempts": 4, "backoff_seconds": 0.0, "max_wait_seconds": 1, "timeout_seconds": 5}


@dataclass(frozen=True)
class FakeTarget:
    """How a target's fake is reached: its config key, environment prefix and token endpoint."""

    name: str          # targets.<name> in the config
    env_prefix: str    # <PREFIX>_ACCESS_TOKEN, _REFRESH_TOKEN, _CLIENT_ID, _CLIENT_SECRET
    token_path: str


FAKE_TARGETS = {
    "freee": FakeTarget("freee", "FREEE", "/public_api/token"),
    "quickbooks": FakeTarget("quickbooks", "QUICKBOOKS", "/oauth2/v1/tokens/bearer"),
    "zoho_books": FakeTarget("zoho_books", "ZOHO_BOOKS", "/oauth/v2/token"),
}


def make_fake(target: str, vendor_dir: Path | None = None) -> LoopbackApi:
    if target == "freee":
        schema = (vendor_dir or Path()) / "freee" / "accounting-api-schema.json"
        if vendor_dir is None or not schema.is_file():
            pytest.skip(f"freee's OpenAPI schema not found at {schema} (ACCTSYNC_VENDOR_DIR)")
        return FreeeFake(schema)
    return QuickBooksFake() if target == "quickbooks" else ZohoBooksFake()


def running_fake(target: str, monkeypatch: pytest.MonkeyPatch, vendor_dir: Path | None = None) -> Iterator[LoopbackApi]:
    """Start the target's fake, issue it a token pair and put the credentials in the environment."""
    fake = make_fake(target, vendor_dir)
    fake.start()
    access, refresh = fake.issue_tokens()
    prefix = FAKE_TARGETS[target].env_prefix
    monkeypatch.setenv(f"{prefix}_ACCESS_TOKEN", access)
    monkeypatch.setenv(f"{prefix}_REFRESH_TOKEN", refresh)
    monkeypatch.setenv(f"{prefix}_CLIENT_ID", fake.client_id)
    monkeypatch.setenv(f"{prefix}_CLIENT_SECRET", fake.client_secret)
    try:
        yield fake
    finally:
        fake.stop()


def target_settings(target: str, fake: LoopbackApi, retry: dict | None = None, **more: object) -> dict:
    """targets.<target> pointing at the fake."""
    settings: dict = {"base_url": fake.base_url, "retry": retry or FAST_RETRY,
                      "oauth": {"token_url": fake.base_url + FAKE_TARGETS[target].token_path}}
    if isinstance(fake, FreeeFake):
        settings["company_id"] = fake.company_id
    elif isinstance(fake, QuickBooksFake):
        settings["realm_id"] = fake.realm_id
    elif isinstance(fake, ZohoBooksFake):
        settings["organization_id"] = fake.organization_id
    return {**settings, **more}


@pytest.fixture
def freee(vendor_dir, monkeypatch):
    yield from running_fake("freee", monkeypatch, vendor_dir)


@pytest.fixture
def quickbooks(monkeypatch):
    yield from running_fake("quickbooks", monkeypatch)


@pytest.fixture
def zoho(monkeypatch):
    yield from running_fake("zoho_books", monkeypatch)


def freee_config(fake: FreeeFake, targets: list[str] | None = None, **freee: object) -> dict:
    return {
        "sources": {"usen_reji": {"targets": targets or ["freee"]}},
        "targets": {"freee": target_settings("freee", fake, **freee)},
    }


def journal_targets_config(quickbooks: QuickBooksFake | None = None, zoho: ZohoBooksFake | None = None,
                           targets: list[str] | None = None) -> dict:
    config: dict = {"sources": {"usen_reji": {"targets": targets or []}}, "targets": {}}
    if quickbooks is not None:
        config["targets"]["quickbooks"] = target_settings("quickbooks", quickbooks)
    if zoho is not None:
        config["targets"]["zoho_books"] = target_settings("zoho_books", zoho)
    return config
