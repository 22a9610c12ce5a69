"""Fixtures for the API targets: loopback fakes with fresh tokens, and a home configured to post to them."""

from __future__ import annotations

import pytest

from acctsync_pipelines_tests.fakes.freee_api import FreeeFake
from acctsync_pipelines_tests.fakes.quickbooks_api import QuickBooksFake
from acctsync_pipelines_tests.fakes.zoho_api import ZohoBooksFake

FAST_RETRY = {"max_attempts": 4, "backoff_seconds": 0.0, "max_wait_seconds": 1, "timeout_seconds": 5}


@pytest.fixture
def freee(vendor_dir, monkeypatch):
    schema = vendor_dir / "freee" / "accounting-api-schema.json"
    if not schema.is_file():
        pytest.skip(f"freee's OpenAPI schema not found at {schema} (ACCTSYNC_VENDOR_DIR)")
    fake = FreeeFake(schema)
    fake.start()
    access, refresh = fake.issue_tokens()
    monkeypatch.setenv("FREEE_ACCESS_TOKEN", access)
    monkeypatch.setenv("FREEE_REFRESH_TOKEN", refresh)
    monkeypatch.setenv("FREEE_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("FREEE_CLIENT_SECRET", fake.client_secret)
    yield fake
    fake.stop()


def freee_config(fake: FreeeFake, targets: list[str] | None = None, **freee: object) -> dict:
    return {
        "sources": {"usen_reji": {"targets": targets or ["freee"]}},
        "targets": {"freee": {
            "base_url": fake.base_url,
            "company_id": fake.company_id,
            "oauth": {"token_url": f"{fake.base_url}/public_api/token"},
            "retry": FAST_RETRY,
            **freee,
        }},
    }


@pytest.fixture
def quickbooks(monkeypatch):
    fake = QuickBooksFake()
    fake.start()
    access, refresh = fake.issue_tokens()
    monkeypatch.setenv("QUICKBOOKS_ACCESS_TOKEN", access)
    monkeypatch.setenv("QUICKBOOKS_REFRESH_TOKEN", refresh)
    monkeypatch.setenv("QUICKBOOKS_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("QUICKBOOKS_CLIENT_SECRET", fake.client_secret)
    yield fake
    fake.stop()


@pytest.fixture
def zoho(monkeypatch):
    fake = ZohoBooksFake()
    fake.start()
    access, refresh = fake.issue_tokens()
    monkeypatch.setenv("ZOHO_BOOKS_ACCESS_TOKEN", access)
    monkeypatch.setenv("ZOHO_BOOKS_REFRESH_TOKEN", refresh)
    monkeypatch.setenv("ZOHO_BOOKS_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("ZOHO_BOOKS_CLIENT_SECRET", fake.client_secret)
    yield fake
    fake.stop()


def journal_targets_config(quickbooks: QuickBooksFake | None = None, zoho: ZohoBooksFake | None = None,
                           targets: list[str] | None = None) -> dict:
    config: dict = {"sources": {"usen_reji": {"targets": targets or []}}, "targets": {}}
    if quickbooks is not None:
        config["targets"]["quickbooks"] = {
            "base_url": quickbooks.base_url, "realm_id": quickbooks.realm_id, "retry": FAST_RETRY,
            "oauth": {"token_url": f"{quickbooks.base_url}/oauth2/v1/tokens/bearer"}}
    if zoho is not None:
        config["targets"]["zoho_books"] = {
            "base_url": zoho.base_url, "organization_id": zoho.organization_id, "retry": FAST_RETRY,
            "oauth": {"token_url": f"{zoho.base_url}/oauth/v2/token"}}
    return config
