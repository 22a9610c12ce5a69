"""Target ``zoho_books``: Zoho Books manual journals (POST /journals) through the Books API v3.

Every action is one journal: a post as claimed, a reversal as a new journal with the sides swapped.
``reference_number`` is our entry id and ``notes`` names the action (``acctsync <entry> post#1 …``);
Zoho has no idempotency key, so after a lost answer the journal is looked up by reference_number
and the action's note before it is sent again. Auth is ``Zoho-oauthtoken`` with refresh on 401, and
calls are paced to the configured requests per minute (Zoho: 100 per organization).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.targets.api_base import Action, JournalPerActionTarget
from acctsync_pipelines.lib.targets.http import ApiClient, CallBudget, OutcomeUnknown, RateLimiter
from acctsync_pipelines.lib.targets.oauth import OAuthSession

NAME = "zoho_books"
DESCRIPTION_CHARS = 500
_LIMITERS: dict[tuple[str, str, int], RateLimiter] = {}


def zoho_error(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        return f": {str(body['message'])[:500]} (code {body.get('code', '?')})"
    return ""


class ZohoBooksTarget(JournalPerActionTarget):
    name = NAME
    document_kind = "journal"

    def __init__(self, settings: Settings, home: Path):
        super().__init__(settings, home)
        self.cfg = settings.targets.zoho_books
        self.session = OAuthSession(NAME, self.cfg.oauth, home, self.cfg.retry.timeout_seconds)
        # one pace per organization for the whole process: a backfill makes a target per day
        key = (self.cfg.base_url, self.cfg.organization_id, self.cfg.requests_per_minute)
        self.rate_limiter = _LIMITERS.setdefault(key, RateLimiter(self.cfg.requests_per_minute))
        self._client: ApiClient | None = None
        self._accounts: dict[str, str] | None = None

    def client(self, conn: duckdb.DuckDBPyConnection) -> ApiClient:
        if not self.cfg.organization_id:
            raise PostingError("targets.zoho_books.organization_id is not set")
        if self._client is None:
            budget = CallBudget(conn, NAME, f"organization {self.cfg.organization_id}", self.cfg.daily_call_budget,
                                self.settings.timezone)
            self._client = ApiClient(NAME, self.cfg.base_url, self.session, self.cfg.retry, budget,
                                     auth_scheme="Zoho-oauthtoken", rate_limiter=self.rate_limiter,
                                     describe_error=zoho_error)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _params(self, **more: Any) -> dict:
        return {"organization_id": self.cfg.organization_id, **more}

    def account_name(self, account: str) -> str:
        return self.cfg.account_names.get(account, account)

    def account_ids(self, conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
        if self._accounts is None:
            accounts: dict[str, str] = {}
            page = 1
            while True:
                body = self.client(conn).request("GET", "/chartofaccounts", safe_to_repeat=True,
                                                 params=self._params(page=page, per_page=200)).body
                for account in body.get("chartofaccounts") or []:
                    accounts[account["account_name"]] = str(account["account_id"])
                if not (body.get("page_context") or {}).get("has_more_page"):
                    break
                page += 1
            self._accounts = accounts
        return self._accounts

    def lookup_key(self, action: Action) -> str:
        return action.entry_id

    def note(self, action: Action) -> str:
        return f"acctsync {action.entry_id} {action.action}#{action.action_seq} {action.content_hash[:12]}"

    def build(self, action: Action, accounts: dict[str, str]) -> dict:
        line_items = []
        for line in action.lines:
            description = " ".join(part for part in (
                line["description"], line["sub_account"], line["department"], f"({line['tax_category']})",
                f"[{line['source_ref']}]") if part)
            line_items.append({
                "account_id": accounts[self.account_name(line["account"])],
                "debit_or_credit": line["side"],
                "amount": int(line["amount"]),
                "description": description[:DESCRIPTION_CHARS],
            })
        return {
            "journal_date": action.business_date.isoformat(),
            "reference_number": action.entry_id,
            "notes": self.note(action),
            "journal_type": "both",
            "status": self.cfg.status,
            "line_items": line_items,
        }

    def create(self, conn: duckdb.DuckDBPyConnection, action: Action, body: dict) -> str | None:
        try:
            response = self.client(conn).request("POST", "/journals", params=self._params(), json=body,
                                                 safe_to_repeat=False)
        except OutcomeUnknown:
            return None
        return str(response.body["journal"]["journal_id"])

    def lookup(self, conn: duckdb.DuckDBPyConnection, action: Action) -> str | None:
        note = self.note(action)
        page = 1
        while True:
            body = self.client(conn).request(
                "GET", "/journals", safe_to_repeat=True,
                params=self._params(reference_number=action.entry_id, page=page, per_page=200)).body
            for journal in body.get("journals") or []:
                if journal.get("reference_number") == action.entry_id and (journal.get("notes") or "") == note:
                    return str(journal["journal_id"])
            if not (body.get("page_context") or {}).get("has_more_page"):
                return None
            page += 1
