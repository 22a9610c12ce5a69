"""Target ``quickbooks``: QuickBooks Online JournalEntry through the Accounting API v3.

Every action is one JournalEntry in JPY: a post as claimed, a reversal as a new entry with the
PostingType of every line swapped. The ``requestid`` query parameter is derived from (target, entry,
content hash, action, action_seq), so a resend after a lost answer returns Intuit's original response
instead of creating a duplicate. Accounts are resolved by name (AccountRef).

Line-level TaxCodeRef on journal entries is documented for GB/AU/IN companies only, so amounts go as
booked (tax-inclusive); the line description names the tax category.

A day on or before the company's closing date (Preferences → AccountingInfoPrefs.BookCloseDate) is
refused before anything of it is sent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.targets.api_base import Action, JournalPerActionTarget, short_key
from acctsync_pipelines.lib.targets.http import ApiClient, CallBudget
from acctsync_pipelines.lib.targets.oauth import OAuthSession

NAME = "quickbooks"
DESCRIPTION_CHARS = 4000


def quickbooks_error(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    fault = body.get("Fault") or body.get("fault") or {}
    errors = fault.get("Error") or fault.get("error") or []
    texts = [f"{e.get('Message', '')} {e.get('Detail', '')} (code {e.get('code', '?')})".strip()
             for e in errors if isinstance(e, dict)]
    return ": " + "; ".join(texts)[:500] if texts else ""


class QuickBooksTarget(JournalPerActionTarget):
    name = NAME
    document_kind = "journal_entry"

    def __init__(self, settings: Settings, home: Path):
        super().__init__(settings, home)
        self.cfg = settings.targets.quickbooks
        self.session = OAuthSession(NAME, self.cfg.oauth, home, self.cfg.retry.timeout_seconds)
        self._client: ApiClient | None = None
        self._accounts: dict[str, str] | None = None
        self._closed_through: tuple[dt.date | None] | None = None

    def client(self, conn: duckdb.DuckDBPyConnection) -> ApiClient:
        if not self.cfg.realm_id:
            raise PostingError("targets.quickbooks.realm_id is not set (the company to post to)")
        if self._client is None:
            budget = CallBudget(conn, NAME, f"realm {self.cfg.realm_id}", self.cfg.daily_call_budget,
                                self.settings.timezone)
            self._client = ApiClient(NAME, self.cfg.base_url, self.session, self.cfg.retry, budget,
                                     describe_error=quickbooks_error)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def check_day(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> None:
        closed_through = self.book_close_date(conn)
        if closed_through is not None and day <= closed_through:
            raise PostingError(f"{day} refused: the QuickBooks company's books are closed through {closed_through} "
                               f"(its closing date); nothing of {day} was sent")

    def book_close_date(self, conn: duckdb.DuckDBPyConnection) -> dt.date | None:
        """The company's closing date, read once per run (None: the books are not closed)."""
        if self._closed_through is None:
            body = self.client(conn).request(
                "GET", f"{self.company_path}/preferences", safe_to_repeat=True,
                params={"minorversion": self.cfg.minor_version}).body
            text = ((body.get("Preferences") or {}).get("AccountingInfoPrefs") or {}).get("BookCloseDate")
            try:
                closed = dt.date.fromisoformat(str(text)[:10]) if text else None
            except ValueError as exc:
                raise PostingError(f"QuickBooks answered an unreadable BookCloseDate {text!r}") from exc
            self._closed_through = (closed,)
        return self._closed_through[0]

    @property
    def company_path(self) -> str:
        return f"/v3/company/{self.cfg.realm_id}"

    def account_name(self, account: str) -> str:
        return self.cfg.account_names.get(account, account)

    def account_ids(self, conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
        if self._accounts is None:
            accounts: dict[str, str] = {}
            start = 1
            while True:
                query = f"select Id, Name, FullyQualifiedName from Account startposition {start} maxresults 1000"
                body = self.client(conn).request(
                    "GET", f"{self.company_path}/query", safe_to_repeat=True,
                    params={"query": query, "minorversion": self.cfg.minor_version}).body
                page = (body.get("QueryResponse") or {}).get("Account") or []
                for account in page:
                    accounts[account["Name"]] = str(account["Id"])
                    accounts.setdefault(account.get("FullyQualifiedName") or account["Name"], str(account["Id"]))
                if len(page) < 1000:
                    break
                start += 1000
            self._accounts = accounts
        return self._accounts

    def lookup_key(self, action: Action) -> str:
        return short_key(NAME, action.entry_id, action.content_hash, action.action, action.action_seq, length=36)

    def build(self, action: Action, accounts: dict[str, str]) -> dict:
        lines = []
        for number, line in enumerate(action.lines, start=1):
            name = self.account_name(line["account"])
            description = " ".join(part for part in (
                line["description"], line["sub_account"], line["department"], f"({line['tax_category']})",
                f"[{line['source_ref']}]") if part)
            lines.append({
                "LineNum": number,
                "Description": description[:DESCRIPTION_CHARS],
                "Amount": int(line["amount"]),
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": {
                    "PostingType": "Debit" if line["side"] == "debit" else "Credit",
                    "AccountRef": {"value": accounts[name], "name": name},
                },
            })
        return {
            "TxnDate": action.business_date.isoformat(),
            "DocNumber": f"AS{short_key(NAME, action.entry_id, length=12)}-{action.action_seq}"[:21],
            "PrivateNote": f"acctsync {action.entry_id} {action.action}#{action.action_seq} {action.content_hash[:12]}",
            "CurrencyRef": {"value": self.cfg.currency},
            "Line": lines,
        }

    def create(self, conn: duckdb.DuckDBPyConnection, action: Action, body: dict) -> str | None:
        # requestid makes the POST idempotent at Intuit: safe to repeat after a lost answer
        response = self.client(conn).request(
            "POST", f"{self.company_path}/journalentry", json=body, safe_to_repeat=True,
            params={"requestid": self.lookup_key(action), "minorversion": self.cfg.minor_version})
        return str(response.body["JournalEntry"]["Id"])

    def lookup(self, conn: duckdb.DuckDBPyConnection, action: Action) -> str | None:
        # Nothing to look up: resending with the same requestid returns the original answer.
        return None
