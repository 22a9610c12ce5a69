"""A loopback fake of Zoho Books API v3 journals (POST/GET /journals, GET /chartofaccounts, OAuth).

Auth is ``Zoho-oauthtoken``; every call needs ``organization_id``; journals must balance and name
existing accounts; there is no idempotency key, so a repeated POST creates a second journal (which is
why acctsync looks journals up by reference_number before resending).
"""

from __future__ import annotations

import copy
from typing import Any

from acctsync_pipelines_tests.fakes import LoopbackApi, Reply

ACCOUNTS = ["現金", "普通預金", "売掛金", "未払金", "仮受金", "仮払金", "売上高", "仕入高", "旅費交通費", "消耗品費",
            "雑損失", "雑収入", "支払手数料", "前払金"]


def error(status: int, code: int, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message})


class ZohoBooksFake(LoopbackApi):
    auth_scheme = "Zoho-oauthtoken"

    def __init__(self, organization_id: str = "10234695") -> None:
        super().__init__()
        self.organization_id = organization_id
        self.accounts = {name: str(460000000000 + n) for n, name in enumerate(ACCOUNTS)}
        self.journals: dict[str, dict] = {}

    def is_token_path(self, path: str) -> bool:
        return path == "/oauth/v2/token"

    def unauthorized(self) -> Reply:
        return error(401, 57, "You are not authorized to perform this operation")

    def rate_limited_body(self) -> Any:
        return {"code": 44, "message": "Too many requests"}

    def server_error_body(self) -> Any:
        return {"code": 1, "message": "Internal error"}

    def live_journals(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.journals.values()))

    def account_name(self, account_id: str) -> str:
        return next(name for name, i in self.accounts.items() if i == account_id)

    def handle(self, method: str, path: str, query: dict, body: Any, headers: dict) -> Reply:
        if query.get("organization_id") != self.organization_id:
            return error(400, 6041, "organization_id is invalid")
        with self.lock:
            if method == "GET" and path == "/chartofaccounts":
                rows = [{"account_id": i, "account_name": n, "account_type": "other_asset", "is_active": True}
                        for n, i in self.accounts.items()]
                return Reply(200, {"code": 0, "message": "success", "chartofaccounts": rows,
                                   "page_context": {"page": 1, "per_page": 200, "has_more_page": False}})
            if method == "GET" and path == "/journals":
                found = [{k: j[k] for k in ("journal_id", "journal_date", "entry_number", "reference_number",
                                            "notes", "status", "total")}
                         for j in self.journals.values()
                         if "reference_number" not in query or j["reference_number"] == query["reference_number"]]
                return Reply(200, {"code": 0, "message": "success", "journals": found,
                                   "page_context": {"page": 1, "per_page": 200, "has_more_page": False}})
            if method == "POST" and path == "/journals":
                return self._create(body)
        return error(404, 5, "Invalid URL Passed")

    def _create(self, body: dict) -> Reply:
        if not body.get("journal_date") or not body.get("line_items"):
            return error(400, 4, "journal_date and line_items are required")
        debit = credit = 0
        for item in body["line_items"]:
            if item.get("account_id") not in self.accounts.values():
                return error(400, 1002, "Account does not exist")
            if item.get("debit_or_credit") == "debit":
                debit += item["amount"]
            elif item.get("debit_or_credit") == "credit":
                credit += item["amount"]
            else:
                return error(400, 4, "debit_or_credit is invalid")
        if debit != credit:
            return error(400, 13019, "The debit and credit amounts should be equal")
        journal_id = str(982000000567000 + len(self.journals))
        journal = {**body, "journal_id": journal_id, "entry_number": str(len(self.journals) + 1),
                   "currency_code": "JPY", "total": debit}
        self.journals[journal_id] = journal
        return Reply(201, {"code": 0, "message": "The journal entry has been created.", "journal": journal})
