"""Target ``freee``: deals (取引) and manual journals (振替伝票) through freee's accounting API.

- A sale settled by cash and receivable tenders is an ``income`` deal: one detail per revenue line and
  tender (品目 = the tender, 部門 = the store), the cash part settled by a payment from the cash 口座
  and the rest left 未決済; a purchase settled in cash or left payable is an ``expense`` deal. Anything
  else (cash movements, 過不足, reversing-shaped days) is a manual journal (freee_details.sql).
- Every document carries ``ref_number`` = a short key of our entry id, so after a lost answer the
  document is looked up (deals: by issue date and type; journals: by ref_number) before it is sent again.
- A changed entry is updated in place (PUT; our cash payment is adjusted, payments someone else added
  are left alone) or deleted and created again (``change_mode``); posting_results records which.
- Account items, taxes, sections, items and walletables are resolved by name and cached; a missing
  account or tax fails the day with its name before anything is sent.
- A day outside the company's fiscal years (当年会計期間外), in a closed year, or using 10% / 軽減8%
  codes before they existed is refused before anything of it is claimed or sent.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.config_tables import replace_temp_table
from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.sql import sql_text
from acctsync_pipelines.lib.targets.api_base import Action, ApiTarget, LiveDocument, short_key
from acctsync_pipelines.lib.targets.http import ApiClient, CallBudget, OutcomeUnknown, TargetError
from acctsync_pipelines.lib.targets.oauth import OAuthSession

NAME = "freee"
RATED_CATEGORIES = ("sales_10", "sales_8r", "purchase_10", "purchase_8r")
MAX_DETAILS = 100
DESCRIPTION_CHARS = 250
MASTERS_TTL_S = 600.0
PATHS = {"deal": "/api/1/deals", "manual_journal": "/api/1/manual_journals"}


def freee_error(body: Any) -> str:
    """The messages of a freee error body (400/404/500: errors[].messages; 401/403: message)."""
    if not isinstance(body, dict):
        return ""
    messages: list[str] = []
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            messages += [str(m) for m in error.get("messages") or []]
    if not messages and body.get("message"):
        messages.append(str(body["message"]))
    return ": " + "; ".join(messages)[:500] if messages else ""


@dataclass
class Masters:
    """The company's ids by name, as freee answered them."""

    fiscal_years: list[dict]
    accounts: dict[str, int]
    taxes: dict[str, int]
    sections: dict[str, int]
    items: dict[str, int]
    walletables: dict[tuple[str, str], int]
    loaded_at: float = field(default_factory=time.monotonic)


_MASTERS: dict[tuple[str, int], Masters] = {}
_MASTERS_LOCK = threading.Lock()


@dataclass
class Document:
    kind: str  # deal | manual_journal
    deal_type: str | None
    body: dict
    cash_payment: int = 0


class FreeeTarget(ApiTarget):
    name = NAME

    def __init__(self, settings: Settings, home: Path):
        super().__init__(settings, home)
        self.cfg = settings.targets.freee
        self.company_id = self.cfg.company_id
        self.session = OAuthSession(NAME, self.cfg.oauth, home, self.cfg.retry.timeout_seconds)
        self._client: ApiClient | None = None
        self.documents: dict[tuple[str, int], Document] = {}

    # --- plumbing ------------------------------------------------------------------------------------
    def client(self, conn: duckdb.DuckDBPyConnection) -> ApiClient:
        if not self.company_id:
            raise PostingError("targets.freee.company_id is not set (the 事業所ID to post to)")
        if self._client is None:
            budget = CallBudget(conn, NAME, f"company {self.company_id}", self.cfg.daily_call_budget,
                                self.settings.timezone)
            self._client = ApiClient(NAME, self.cfg.base_url, self.session, self.cfg.retry, budget,
                                     describe_error=freee_error)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def ref_number(self, entry_id: str) -> str:
        # manual journals allow 20 characters; our entry ids are longer, so a stable short key
        return "AS" + short_key(NAME, entry_id, length=18)

    def masters(self, conn: duckdb.DuckDBPyConnection, fresh: bool = False) -> Masters:
        key = (self.cfg.base_url, self.company_id)
        with _MASTERS_LOCK:
            cached = _MASTERS.get(key)
            if cached and not fresh and time.monotonic() - cached.loaded_at < MASTERS_TTL_S:
                return cached
        client, cid = self.client(conn), self.company_id
        company = client.request("GET", f"/api/1/companies/{cid}", safe_to_repeat=True).body["company"]
        accounts = client.request("GET", "/api/1/account_items", params={"company_id": cid},
                                  safe_to_repeat=True).body["account_items"]
        taxes = client.request("GET", f"/api/1/taxes/companies/{cid}", params={"available": "true"},
                               safe_to_repeat=True).body["taxes"]
        sections = client.request("GET", "/api/1/sections", params={"company_id": cid},
                                  safe_to_repeat=True).body["sections"]
        items = self._all_items(client)
        walletables = client.request("GET", "/api/1/walletables", params={"company_id": cid},
                                     safe_to_repeat=True).body["walletables"]
        masters = Masters(
            fiscal_years=list(company.get("fiscal_years") or []),
            accounts={a["name"]: a["id"] for a in accounts if a.get("available", True)},
            taxes={t["name"]: t["code"] for t in taxes if t.get("available", True)},
            sections={s["name"]: s["id"] for s in sections},
            items={i["name"]: i["id"] for i in items},
            walletables={(w["type"], w["name"]): w["id"] for w in walletables},
        )
        with _MASTERS_LOCK:
            _MASTERS[key] = masters
        return masters

    def _all_items(self, client: ApiClient) -> list[dict]:
        items: list[dict] = []
        while True:
            page = client.request("GET", "/api/1/items", safe_to_repeat=True,
                                  params={"company_id": self.company_id, "offset": len(items), "limit": 3000}).body
            items += page["items"]
            if len(page["items"]) < 3000:
                return items

    # --- the period guard ------------------------------------------------------------------------------
    def check_day(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> None:
        years, year = self._fiscal_year(self.masters(conn), day)
        if year is None or year[2]:
            # the cache may predate a new or reopened year: ask freee once more before refusing
            years, year = self._fiscal_year(self.masters(conn, fresh=True), day)
        if year is None:
            known = ", ".join(f"{s}..{e}" for s, e, _ in sorted(years)) or "none"
            raise PostingError(f"{day} refused: outside the company's fiscal years (当年会計期間外; "
                               f"fiscal years: {known}); nothing of {day} was sent")
        if year[2]:
            raise PostingError(f"{day} refused: the fiscal year {year[0]}..{year[1]} is closed "
                               f"(会計期間締め済み); nothing of {day} was sent")
        if day < self.cfg.rated_codes_from:
            used = conn.execute(
                """SELECT DISTINCT tax_category FROM (
                       SELECT tax_category FROM ledger.journal_entry_lines WHERE source = ? AND business_date = ?
                       UNION ALL
                       SELECT tax_category FROM ledger.posted_lines WHERE target = ? AND source = ? AND business_date = ?)
                   WHERE list_contains(?, tax_category) ORDER BY 1""",
                [source, day, NAME, source, day, list(RATED_CATEGORIES)],
            ).fetchall()
            if used:
                raise PostingError(
                    f"{day} refused: tax categories {', '.join(u for (u,) in used)} (10% / 軽減8%) do not "
                    f"exist before {self.cfg.rated_codes_from}; nothing of {day} was sent")

    @staticmethod
    def _fiscal_year(masters: Masters, day: dt.date):
        years = [(dt.date.fromisoformat(y["start_date"]), dt.date.fromisoformat(y["end_date"]), bool(y.get("is_closed")))
                 for y in masters.fiscal_years]
        return years, next((y for y in years if y[0] <= day <= y[1]), None)

    # --- building documents ------------------------------------------------------------------------------
    def plan(self, conn: duckdb.DuckDBPyConnection, actions: list[Action]) -> None:
        posts = [a for a in actions if a.action == "post"]
        if not posts:
            return
        replace_temp_table(conn, "freee_actions", pd.DataFrame(
            {"entry_id": [a.entry_id for a in posts], "action_seq": pd.Series([a.action_seq for a in posts], dtype="int32")}))
        accounts = self.settings.accounts
        cursor = conn.execute(sql_text(__file__, "freee_details.sql"), {
            "target": NAME, "cash_account": accounts.cash, "receivable_account": accounts.receivable,
            "payable_account": accounts.accrued, "cash_item": self.cfg.cash_item,
        })
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
        masters = self.masters(conn)
        if self._missing(masters, rows):
            masters = self.masters(conn, fresh=True)  # names added at freee since the cache was filled
        self._ensure_names(conn, masters, rows)
        by_action: dict[tuple[str, int], list[dict]] = {}
        for row in rows:
            by_action.setdefault((row["entry_id"], row["action_seq"]), []).append(row)
        dates = {(a.entry_id, a.action_seq): a.business_date for a in posts}
        for key, doc_rows in by_action.items():
            self.documents[key] = self._document(masters, key[0], dates[key], doc_rows)

    def _missing(self, masters: Masters, rows: list[dict]) -> bool:
        details = [r for r in rows if r["row_kind"] == "detail"]
        return (any(self._account_name(r["account"]) not in masters.accounts for r in details)
                or any(self.cfg.tax_names.get(r["tax_category"]) not in masters.taxes for r in details)
                or any(r["department"] and r["department"] not in masters.sections for r in details)
                or any(r["item_name"] and r["item_name"] not in masters.items for r in details))

    def _ensure_names(self, conn: duckdb.DuckDBPyConnection, masters: Masters, rows: list[dict]) -> None:
        """Every account and tax must exist; missing 部門 / 品目 are created when configured, else fail."""
        details = [r for r in rows if r["row_kind"] == "detail"]
        problems: list[str] = []
        for account in sorted({self._account_name(r["account"]) for r in details}):
            if account not in masters.accounts:
                problems.append(f"account {account!r} does not exist in freee company {self.company_id} "
                                f"(add it in freee, or map it in targets.freee.account_names)")
        for category in sorted({r["tax_category"] for r in details}):
            tax_name = self.cfg.tax_names.get(category)
            if tax_name not in masters.taxes:
                problems.append(f"tax {tax_name!r} (for {category}) is not available in freee company {self.company_id}")
        if any(r["row_kind"] == "payment" for r in rows) and \
                (self.cfg.cash_walletable_type, self.cfg.cash_walletable) not in masters.walletables:
            problems.append(f"口座 {self.cfg.cash_walletable!r} ({self.cfg.cash_walletable_type}) does not exist "
                            f"in freee company {self.company_id} (targets.freee.cash_walletable)")
        missing_sections = sorted({r["department"] for r in details if r["department"]} - set(masters.sections))
        missing_items = sorted({r["item_name"] for r in details if r["item_name"]} - set(masters.items))
        if missing_sections and not self.cfg.create_sections:
            problems.append(f"部門 {', '.join(map(repr, missing_sections))} do not exist in freee company "
                            f"{self.company_id} (create them, or set targets.freee.create_sections)")
        if missing_items and not self.cfg.create_items:
            problems.append(f"品目 {', '.join(map(repr, missing_items))} do not exist in freee company "
                            f"{self.company_id} (create them, or set targets.freee.create_items)")
        too_long = sorted({r["entry_id"] for r in details if r["row_no"] > MAX_DETAILS})
        if too_long:
            problems.append(f"entries with more than {MAX_DETAILS} lines cannot be sent to freee: {', '.join(too_long)}")
        if problems:
            raise PostingError("; ".join(problems) + "; nothing was sent")
        for name in missing_sections:
            masters.sections[name] = self._create_master(conn, "sections", "section", name, masters.sections)
        for name in missing_items:
            masters.items[name] = self._create_master(conn, "items", "item", name, masters.items)

    def _create_master(self, conn, collection: str, singular: str, name: str, known: dict[str, int]) -> int:
        client = self.client(conn)
        try:
            body = client.request("POST", f"/api/1/{collection}", safe_to_repeat=False,
                                  json={"company_id": self.company_id, "name": name[:30]}).body
            return body[singular]["id"]
        except TargetError:
            # a lost answer or a duplicate name: read the list again
            fresh = self.masters(conn, fresh=True)
            found = (fresh.sections if singular == "section" else fresh.items).get(name)
            if found is None:
                raise
            return found

    def _account_name(self, account: str) -> str:
        return self.cfg.account_names.get(account, account)

    def _document(self, masters: Masters, entry_id: str, day: dt.date, rows: list[dict]) -> Document:
        kind, deal_type = rows[0]["kind"], rows[0]["deal_type"]
        details = []
        cash = 0
        for row in rows:
            if row["row_kind"] == "payment":
                cash += int(row["amount"])
                continue
            detail: dict[str, Any] = {
                "tax_code": masters.taxes[self.cfg.tax_names[row["tax_category"]]],
                "account_item_id": masters.accounts[self._account_name(row["account"])],
                "amount": int(row["amount"]),
            }
            if kind == "manual_journal":
                detail = {"entry_side": row["entry_side"], **detail}
            if row["tax_category"] in RATED_CATEGORIES:
                detail["vat"] = int(row["vat"])
            if row["department"]:
                detail["section_id"] = masters.sections[row["department"]]
            if row["item_name"]:
                detail["item_id"] = masters.items[row["item_name"]]
            detail["description"] = str(row["description"])[:DESCRIPTION_CHARS]
            details.append(detail)
        body: dict[str, Any] = {"company_id": self.company_id, "issue_date": day.isoformat(),
                                "ref_number": self.ref_number(entry_id), "details": details}
        if kind == "deal":
            body["type"] = deal_type
            if cash:
                body["payments"] = [self._payment(masters, day, cash)]
        else:
            body["adjustment"] = False
        return Document(kind, deal_type, body, cash)

    def _payment(self, masters: Masters, day: dt.date, amount: int) -> dict:
        return {"amount": amount, "date": day.isoformat(), "from_walletable_type": self.cfg.cash_walletable_type,
                "from_walletable_id": masters.walletables[(self.cfg.cash_walletable_type, self.cfg.cash_walletable)]}

    # --- sending -----------------------------------------------------------------------------------------
    def run_entry(self, conn: duckdb.DuckDBPyConnection, actions: list[Action], live: LiveDocument | None) -> None:
        document = live
        i = 0
        while i < len(actions):
            action = actions[i]
            following = actions[i + 1] if i + 1 < len(actions) else None
            if action.action == "post":
                if following is not None:
                    # claimed, then superseded before it reached freee; if a send was under way, find it
                    found = self.lookup(conn, action) if action.outcome_unknown else None
                    if found:
                        self.record(conn, action, "done", f"found_{found.kind}", found.kind, found.ref,
                                    self.ref_number(action.entry_id))
                    else:
                        self.record(conn, action, "skipped", "superseded", message="a later version was claimed first")
                    document = found or document
                else:
                    document = self.create(conn, action)
                i += 1
                continue
            if document is None:
                self.record(conn, action, "skipped", "nothing_to_reverse",
                            message="the reversed version is not at freee")
                i += 1
                continue
            planned = self.documents.get((following.entry_id, following.action_seq)) if following else None
            if planned and self.cfg.change_mode == "update" and planned.kind == document.kind:
                document = self.update(conn, action, following, document, planned)
                i += 2
                continue
            self.delete(conn, action, document)
            document = None
            i += 1

    def _refused(self, conn, action: Action, operation: str, exc: TargetError) -> None:
        self.record(conn, action, "failed", operation, message=str(exc))

    def create(self, conn: duckdb.DuckDBPyConnection, action: Action) -> LiveDocument:
        planned = self.documents[(action.entry_id, action.action_seq)]
        kind, key = planned.kind, self.ref_number(action.entry_id)
        operation = f"create_{kind}"
        if action.outcome_unknown:
            found = self.lookup(conn, action)
            if found:
                self.record(conn, action, "done", f"found_{kind}", kind, found.ref, key)
                return found
        client = self.client(conn)
        for _ in range(self.cfg.retry.max_attempts):
            self.record(conn, action, "sending", operation, kind, key=key)
            try:
                response = client.request("POST", PATHS[kind], json=planned.body, safe_to_repeat=False)
            except OutcomeUnknown:
                found = self.lookup(conn, action)
                if found:
                    self.record(conn, action, "done", f"found_{kind}", kind, found.ref, key)
                    return found
                continue
            except TargetError as exc:
                self._refused(conn, action, operation, exc)
                raise
            ref = str(response.body[kind]["id"])
            self.record(conn, action, "done", operation, kind, ref, key)
            return LiveDocument(kind, ref)
        raise TargetError(f"{action.entry_id}: no confirmed answer after {self.cfg.retry.max_attempts} "
                          f"attempts; it is looked up again on the next run")

    def lookup(self, conn: duckdb.DuckDBPyConnection, action: Action) -> LiveDocument | None:
        """The document with this entry's ref_number on its issue date, if freee has one."""
        planned = self.documents.get((action.entry_id, action.action_seq))
        client, key, day = self.client(conn), self.ref_number(action.entry_id), action.business_date.isoformat()
        kinds = [planned.kind] if planned else ["deal", "manual_journal"]
        for kind in kinds:
            if kind == "manual_journal":
                found = client.request("GET", PATHS[kind], safe_to_repeat=True, params={
                    "company_id": self.company_id, "start_issue_date": day, "end_issue_date": day,
                    "ref_number": key, "limit": 500}).body["manual_journals"]
                match = [j for j in found if j.get("ref_number") == key]
            else:
                match, offset = [], 0
                while True:
                    params = {"company_id": self.company_id, "start_issue_date": day, "end_issue_date": day,
                              "offset": offset, "limit": 100}
                    if planned and planned.deal_type:
                        params["type"] = planned.deal_type
                    page = client.request("GET", PATHS[kind], params=params, safe_to_repeat=True).body
                    match += [d for d in page["deals"] if d.get("ref_number") == key]
                    offset += len(page["deals"])
                    if not page["deals"] or offset >= page["meta"]["total_count"]:
                        break
            if match:
                return LiveDocument(kind, str(match[0]["id"]))
        return None

    def update(self, conn: duckdb.DuckDBPyConnection, reverse: Action, post: Action, document: LiveDocument,
               planned: Document) -> LiveDocument:
        key = self.ref_number(post.entry_id)
        operation = f"update_{document.kind}"
        self.record(conn, reverse, "sending", "replace", document.kind, document.ref, key)
        self.record(conn, post, "sending", operation, document.kind, document.ref, key)
        client = self.client(conn)
        body = {k: v for k, v in planned.body.items() if k != "payments"}
        try:
            response = client.request("PUT", f"{PATHS[document.kind]}/{document.ref}", json=body,
                                      safe_to_repeat=True, accept=(404,))
            if response.status == 404:
                # deleted at freee by someone: the new version is created instead
                self.record(conn, reverse, "done", "replace", document.kind, document.ref, key,
                            message="the document was no longer at freee")
                return self.create(conn, post)
            if document.kind == "deal":
                self._settle_cash(client, response.body["deal"], post.business_date, planned.cash_payment)
        except TargetError as exc:
            self._refused(conn, reverse, "replace", exc)
            self._refused(conn, post, operation, exc)
            raise
        self.record(conn, reverse, "done", "replace", document.kind, document.ref, key)
        self.record(conn, post, "done", operation, document.kind, document.ref, key)
        return document

    def _settle_cash(self, client: ApiClient, deal: dict, day: dt.date, amount: int) -> None:
        """Make our cash payment on the deal equal ``amount``; other payments (settlements added later) stay."""
        masters = self.masters_cached()
        wallet = masters.walletables[(self.cfg.cash_walletable_type, self.cfg.cash_walletable)]
        ours = [p for p in deal.get("payments") or []
                if p.get("from_walletable_type") == self.cfg.cash_walletable_type
                and p.get("from_walletable_id") == wallet and p.get("date") == day.isoformat()]
        path = f"{PATHS['deal']}/{deal['id']}/payments"
        for extra in ours[1:]:
            client.request("DELETE", f"{path}/{extra['id']}", params={"company_id": self.company_id},
                           safe_to_repeat=True, accept=(404,))
        current = ours[0] if ours else None
        if current and amount == 0:
            client.request("DELETE", f"{path}/{current['id']}", params={"company_id": self.company_id},
                           safe_to_repeat=True, accept=(404,))
        elif amount and (current is None or current["amount"] != amount):
            payment = {"company_id": self.company_id, **self._payment(masters, day, amount)}
            if current is None:
                client.request("POST", path, json=payment, safe_to_repeat=False)
            else:
                client.request("PUT", f"{path}/{current['id']}", json=payment, safe_to_repeat=True)

    def masters_cached(self) -> Masters:
        return _MASTERS[(self.cfg.base_url, self.company_id)]

    def delete(self, conn: duckdb.DuckDBPyConnection, action: Action, document: LiveDocument) -> None:
        operation = f"delete_{document.kind}"
        key = self.ref_number(action.entry_id)
        self.record(conn, action, "sending", operation, document.kind, document.ref, key)
        try:
            response = self.client(conn).request("DELETE", f"{PATHS[document.kind]}/{document.ref}",
                                                 params={"company_id": self.company_id},
                                                 safe_to_repeat=True, accept=(404,))
        except TargetError as exc:
            self._refused(conn, action, operation, exc)
            raise
        note = "already gone at freee" if response.status == 404 else None
        self.record(conn, action, "done", operation, document.kind, document.ref, key, message=note)
