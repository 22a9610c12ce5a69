"""A loopback fake of QuickBooks Online's Accounting API v3 (JournalEntry, Account query, OAuth).

It behaves like Intuit where acctsync depends on it: a repeated ``requestid`` returns the original
response without creating anything, lines must balance and name existing accounts, JPY only, and
errors come in Intuit's ``Fault`` envelope.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from acctsync_pipelines_tests.fakes import LoopbackApi, Reply

ACCOUNTS = ["現金", "普通預金", "売掛金", "未払金", "仮受金", "仮払金", "売上高", "仕入高", "旅費交通費", "消耗品費",
            "雑損失", "雑収入", "支払手数料", "前払金"]


def fault(status: int, message: str, code: str = "6000") -> Reply:
    return Reply(status, {"Fault": {"Error": [{"Message": message, "Detail": message, "code": code}],
                                    "type": "ValidationFault"}, "time": "2025-06-02T10:00:00.000-07:00"})


class QuickBooksFake(LoopbackApi):
    def __init__(self, realm_id: str = "9130357766900000") -> None:
        super().__init__()
        self.realm_id = realm_id
        self.accounts = {name: str(n + 1) for n, name in enumerate(ACCOUNTS)}
        self.journal_entries: dict[str, dict] = {}
        self.by_request_id: dict[str, Reply] = {}
        self.problems: list[str] = []
        self.book_close_date: str | None = None  # the company's closing date, "YYYY-MM-DD"

    def is_token_path(self, path: str) -> bool:
        return path == "/oauth2/v1/tokens/bearer"

    def unauthorized(self) -> Reply:
        return fault(401, "AuthenticationFailed", "3200")

    def rate_limited_body(self) -> Any:
        return fault(429, "ThrottleExceeded", "003001").body

    def server_error_body(self) -> Any:
        return fault(500, "An application error has occurred", "10000").body

    def live_entries(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(list(self.journal_entries.values()))

    def account_name(self, account_id: str) -> str:
        return next(name for name, i in self.accounts.items() if i == account_id)

    def handle(self, method: str, path: str, query: dict, body: Any, headers: dict) -> Reply:
        prefix = f"/v3/company/{self.realm_id}/"
        if not path.startswith(prefix):
            return fault(400, "wrong realm", "2030")
        resource = path[len(prefix):]
        if "minorversion" not in query:
            self.problems.append(f"{method} {path}: no minorversion")
        with self.lock:
            if method == "GET" and resource == "query":
                match = re.match(r"select .* from Account startposition (\d+) maxresults (\d+)$", query.get("query", ""))
                if not match:
                    return fault(400, f"unsupported query {query.get('query')!r}", "4000")
                start, count = int(match[1]), int(match[2])
                rows = [{"Id": i, "Name": n, "FullyQualifiedName": n} for n, i in self.accounts.items()]
                return Reply(200, {"QueryResponse": {"Account": rows[start - 1:start - 1 + count],
                                                     "startPosition": start, "maxResults": count}})
            if method == "GET" and resource == "preferences":
                prefs = {"TrackDepartments": False}
                if self.book_close_date:
                    prefs["BookCloseDate"] = self.book_close_date
                return Reply(200, {"Preferences": {"AccountingInfoPrefs": prefs, "Id": "1", "SyncToken": "0"},
                                   "time": "2025-06-02T10:00:00.000-07:00"})
            if method == "POST" and resource == "journalentry":
                request_id = query.get("requestid")
                if not request_id or len(request_id) > 50:
                    self.problems.append(f"requestid missing or too long: {request_id!r}")
                if request_id in self.by_request_id:
                    return self.by_request_id[request_id]
                reply = self._create(body)
                if request_id and reply.status < 500:
                    self.by_request_id[request_id] = reply
                return reply
        return fault(400, f"unsupported {method} {resource}", "4000")

    def _create(self, body: dict) -> Reply:
        if self.book_close_date and body.get("TxnDate", "") <= self.book_close_date:
            return fault(400, "Account Period Closed, cannot update through Services API", "6210")
        if body.get("CurrencyRef", {}).get("value") != "JPY":
            return fault(400, "CurrencyRef must be JPY", "6190")
        debit = credit = 0
        for line in body.get("Line", []):
            detail = line.get("JournalEntryLineDetail") or {}
            if line.get("DetailType") != "JournalEntryLineDetail" or detail.get("PostingType") not in ("Debit", "Credit"):
                return fault(400, "invalid line", "2020")
            if detail.get("AccountRef", {}).get("value") not in self.accounts.values():
                return fault(400, "Invalid Reference Id: Accounts element id not found", "2500")
            if detail["PostingType"] == "Debit":
                debit += line["Amount"]
            else:
                credit += line["Amount"]
        if debit != credit or not debit:
            return fault(400, "Transaction Not Balanced", "6140")
        if len(body.get("DocNumber", "")) > 21:
            return fault(400, "DocNumber too long", "6000")
        entry_id = str(len(self.journal_entries) + 145)
        entry = {**body, "Id": entry_id, "SyncToken": "0", "TotalAmt": debit, "domain": "QBO", "sparse": False}
        self.journal_entries[entry_id] = entry
        return Reply(200, {"JournalEntry": entry, "time": "2025-06-02T10:00:00.000-07:00"})
