"""freee: a settlement entry becomes payments on the deals it settles, not a new document.

For each settlement entry claimed in the posting log (target ``freee_payments``):
- every sale entry whose receivable it clears must already be a deal at freee (the source posted it
  with target ``freee``); the deal gets a payment of what the settlement clears of it, dated the
  deposit's day, from the bank 口座 (``settlement.freee.walletable``):
  ``POST /api/1/deals/{id}/payments``;
- the fee the payer kept becomes an expense deal paid from the same 口座, so the 口座 moves by exactly
  the deposit.
A reversal deletes those payments and the fee deal. Progress is recorded after every call
(ledger.posting_results, target_ref = the payments and fee deal made so far), so a run that lost an
answer looks the payment up on its deal before paying again, and never pays twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.sql import sql_text
from acctsync_pipelines.lib.targets.api_base import Action, LiveDocument
from acctsync_pipelines.lib.targets.freee import PATHS, RATED_CATEGORIES, Document, FreeeTarget
from acctsync_pipelines.lib.targets.http import OutcomeUnknown, TargetError

NAME = "freee_payments"
DOCUMENT_KIND = "settlement_payments"
DEALS_TARGET = "freee"


@dataclass
class Plan:
    """What one settlement entry sends: payments (deal id → amount) and the fee deal, if any."""

    day: dt.date
    payments: dict[int, int]
    fee: Document | None
    deal_dates: dict[int, dt.date] = field(default_factory=dict)   # each deal's issue date (to look it up)


@dataclass
class Progress:
    payments: list[list[int]] = field(default_factory=list)   # [deal id, payment id, amount]
    fee_deal: int | None = None

    def text(self) -> str:
        return json.dumps({"payments": self.payments, "fee_deal": self.fee_deal}, separators=(",", ":"))

    @staticmethod
    def parse(text: str | None) -> "Progress":
        if not text:
            return Progress()
        data = json.loads(text)
        return Progress([list(p) for p in data.get("payments", [])], data.get("fee_deal"))


class _StillUnknown(TargetError):
    """A call's answer was lost and the lookup did not find its result: the next run looks again."""


class FreeePaymentsTarget(FreeeTarget):
    name = NAME

    def __init__(self, settings: Settings, home: Path):
        super().__init__(settings, home)
        self.bank = settings.settlement.freee
        self.plans: dict[tuple[str, int], Plan] = {}

    # --- planning: everything is resolved before anything is sent ------------------------------------
    def plan(self, conn: duckdb.DuckDBPyConnection, actions: list[Action]) -> None:
        posts = [a for a in actions if a.action == "post"]
        if not posts:
            return
        if not self.bank.walletable:
            raise PostingError("settlement.freee.walletable is not set (the bank 口座 deposits arrive in); "
                               "nothing was sent")
        masters = self.masters(conn)
        walletable = masters.walletables.get((self.bank.walletable_type, self.bank.walletable))
        if walletable is None:
            masters = self.masters(conn, fresh=True)
            walletable = masters.walletables.get((self.bank.walletable_type, self.bank.walletable))
        if walletable is None:
            raise PostingError(f"口座 {self.bank.walletable!r} ({self.bank.walletable_type}) does not exist in freee "
                               f"company {self.company_id} (settlement.freee.walletable); nothing was sent")
        self.walletable_id = walletable
        rows = conn.execute(sql_text(__file__, "freee_payments.sql"), {
            "entries": [a.entry_id for a in posts], "receivable_account": self.settings.accounts.receivable,
            "deals_target": DEALS_TARGET,
        }).fetchall()
        problems: list[str] = []
        by_entry: dict[str, list[tuple]] = {}
        for row in rows:
            by_entry.setdefault(row[0], []).append(row)
        for action in posts:
            payments: dict[int, int] = {}
            deal_dates: dict[int, dt.date] = {}
            owed_back, known_problems = 0, len(problems)
            for _, sale_entry, sale_date, amount, kind, ref in by_entry.get(action.entry_id, []):
                if amount < 0:
                    owed_back += -amount  # a refund day the payer netted: less is paid on the other deals
                elif kind != "deal" or ref is None:
                    problems.append(f"{action.entry_id} settles {sale_entry} ({sale_date}), which is not a deal at "
                                    f"freee (post that day to freee first)")
                else:
                    payments[int(ref)] = payments.get(int(ref), 0) + int(amount)
                    deal_dates[int(ref)] = sale_date
            for deal in sorted(payments, key=payments.get, reverse=True):
                taken = min(owed_back, payments[deal])
                payments[deal] -= taken
                owed_back -= taken
            payments = {deal: amount for deal, amount in payments.items() if amount > 0}
            self.plans[(action.entry_id, action.action_seq)] = Plan(
                action.business_date, payments, self._fee_document(masters, action, problems), deal_dates)
            if not payments and len(problems) == known_problems:
                problems.append(f"{action.entry_id}: nothing to pay on any deal")
        if problems:
            raise PostingError("; ".join(problems) + "; nothing was sent")

    def _fee_document(self, masters, action: Action, problems: list[str]) -> Document | None:
        fee_lines = [line for line in action.lines if line["account"] == self.settings.accounts.fees]
        if not fee_lines:
            return None
        details = []
        for line in fee_lines:
            account = self._account_name(line["account"])
            tax = masters.taxes.get(self.cfg.tax_names.get(line["tax_category"]))
            if account not in masters.accounts or tax is None:
                problems.append(f"{action.entry_id}: the fee's account {account!r} or tax "
                                f"{line['tax_category']} is not available at freee")
                continue
            sign = 1 if line["side"] == "debit" else -1
            detail: dict[str, Any] = {"tax_code": tax, "account_item_id": masters.accounts[account],
                                      "amount": int(line["amount"]) * sign,
                                      "description": str(line["description"])[:250]}
            if line["tax_category"] in RATED_CATEGORIES:
                detail["vat"] = int(line["tax_amount"]) * sign
            if line["department"] and line["department"] in masters.sections:
                detail["section_id"] = masters.sections[line["department"]]
            details.append(detail)
        amount = sum(d["amount"] for d in details)
        if amount <= 0 or any(d["amount"] <= 0 for d in details):
            problems.append(f"{action.entry_id}: a fee that is not a charge cannot be an expense deal at freee")
            return None
        day = action.business_date.isoformat()
        body = {"company_id": self.company_id, "issue_date": day, "type": "expense",
                "ref_number": self.ref_number(action.entry_id), "details": details,
                "payments": [{"amount": amount, "date": day, "from_walletable_type": self.bank.walletable_type,
                              "from_walletable_id": self.walletable_id}]}
        document = Document("deal", "expense", body)
        self.documents[(action.entry_id, action.action_seq)] = document  # FreeeTarget.lookup finds it by ref_number
        return document

    # --- sending ---------------------------------------------------------------------------------------
    def run_entry(self, conn: duckdb.DuckDBPyConnection, actions: list[Action], live: LiveDocument | None) -> None:
        document = live
        for i, action in enumerate(actions):
            superseded = i + 1 < len(actions)
            if action.action == "post":
                if superseded and not action.outcome_unknown:
                    self.record(conn, action, "skipped", "superseded", message="a later version was claimed first")
                    continue
                document = self.settle(conn, action)
            elif document is None:
                self.record(conn, action, "skipped", "nothing_to_reverse", message="the settlement is not at freee")
            else:
                self.unsettle(conn, action, Progress.parse(document.ref))
                document = None

    def _progress(self, conn: duckdb.DuckDBPyConnection, action: Action) -> Progress:
        row = conn.execute(
            """SELECT target_ref FROM ledger.posting_results WHERE target = ? AND entry_id = ? AND action_seq = ?
               ORDER BY attempt DESC LIMIT 1""", [self.name, action.entry_id, action.action_seq]).fetchone()
        return Progress.parse(row[0] if row else None)

    def _known_payments(self, conn: duckdb.DuckDBPyConnection) -> set[int]:
        """Payment ids any settlement of ours made (so a lookup never adopts one of them twice)."""
        refs = conn.execute("SELECT DISTINCT target_ref FROM ledger.posting_results WHERE target = ? "
                            "AND target_ref IS NOT NULL", [self.name]).fetchall()
        return {p[1] for (ref,) in refs for p in Progress.parse(ref).payments}

    def _payment_body(self, plan: Plan, amount: int) -> dict:
        return {"company_id": self.company_id, "date": plan.day.isoformat(), "amount": amount,
                "from_walletable_type": self.bank.walletable_type, "from_walletable_id": self.walletable_id}

    def _ours(self, deal: dict, plan: Plan, amount: int, known: set[int]) -> int | None:
        for payment in sorted(deal.get("payments") or [], key=lambda p: p["id"], reverse=True):
            if (payment["id"] not in known and payment["amount"] == amount and payment["date"] == plan.day.isoformat()
                    and payment["from_walletable_type"] == self.bank.walletable_type
                    and payment["from_walletable_id"] == self.walletable_id):
                return payment["id"]
        return None

    def settle(self, conn: duckdb.DuckDBPyConnection, action: Action) -> LiveDocument:
        plan = self.plans[(action.entry_id, action.action_seq)]
        progress = self._progress(conn, action)  # what earlier attempts of this action made
        key, client = self.ref_number(action.entry_id), self.client(conn)
        paid = {p[0] for p in progress.payments}

        def deal_now(deal_id: int) -> dict:
            """The deal as freee holds it now, from the deals of its issue date."""
            day, offset = plan.deal_dates[deal_id].isoformat(), 0
            while True:
                page = client.request("GET", PATHS["deal"], safe_to_repeat=True, params={
                    "company_id": self.company_id, "start_issue_date": day, "end_issue_date": day,
                    "offset": offset, "limit": 100}).body
                found = [d for d in page["deals"] if d["id"] == deal_id]
                if found:
                    return found[0]
                offset += len(page["deals"])
                if not page["deals"] or offset >= page["meta"]["total_count"]:
                    raise TargetError(f"{action.entry_id}: deal {deal_id} ({day}) is no longer at freee")

        try:
            for deal_id, amount in sorted(plan.payments.items()):
                if deal_id in paid:
                    continue
                known = self._known_payments(conn)
                if action.outcome_unknown:
                    found = self._ours(deal_now(deal_id), plan, amount, known)
                    if found is not None:
                        progress.payments.append([deal_id, found, amount])
                        continue
                self.record(conn, action, "sending", "create_payment", DOCUMENT_KIND, progress.text(), key,
                            message=f"deal {deal_id}: payment {amount}")
                try:
                    deal = client.request("POST", f"{PATHS['deal']}/{deal_id}/payments",
                                          json=self._payment_body(plan, amount), safe_to_repeat=False).body["deal"]
                except OutcomeUnknown:
                    deal = deal_now(deal_id)
                payment = self._ours(deal, plan, amount, known)
                if payment is None:
                    raise _StillUnknown(f"{action.entry_id}: no confirmed payment on deal {deal_id}; it is looked up "
                                        "again on the next run")
                progress.payments.append([deal_id, payment, amount])
            if plan.fee is not None and progress.fee_deal is None:
                found = self.lookup(conn, action) if action.outcome_unknown else None
                if found is None:
                    self.record(conn, action, "sending", "create_fee_deal", DOCUMENT_KIND, progress.text(), key)
                    try:
                        created = client.request("POST", PATHS["deal"], json=plan.fee.body, safe_to_repeat=False)
                        found = LiveDocument("deal", str(created.body["deal"]["id"]))
                    except OutcomeUnknown:
                        found = self.lookup(conn, action)
                        if found is None:
                            raise _StillUnknown(f"{action.entry_id}: no confirmed fee deal; it is looked up again "
                                                "on the next run") from None
                progress.fee_deal = int(found.ref)
        except _StillUnknown:
            self.record(conn, action, "sending", "settle", DOCUMENT_KIND, progress.text(), key,
                        message="outcome unknown")
            raise
        except TargetError as exc:
            self.record(conn, action, "failed", "settle", DOCUMENT_KIND, progress.text(), key, message=str(exc))
            raise
        self.record(conn, action, "done", "settle", DOCUMENT_KIND, progress.text(), key)
        return LiveDocument(DOCUMENT_KIND, progress.text())

    def unsettle(self, conn: duckdb.DuckDBPyConnection, action: Action, made: Progress) -> None:
        key, client = self.ref_number(action.entry_id), self.client(conn)
        params = {"company_id": self.company_id}
        self.record(conn, action, "sending", "delete_settlement", DOCUMENT_KIND, made.text(), key)
        try:
            for deal_id, payment_id, _ in made.payments:
                client.request("DELETE", f"{PATHS['deal']}/{deal_id}/payments/{payment_id}", params=params,
                               safe_to_repeat=True, accept=(404,))
            if made.fee_deal is not None:
                client.request("DELETE", f"{PATHS['deal']}/{made.fee_deal}", params=params, safe_to_repeat=True,
                               accept=(404,))
        except TargetError as exc:
            self.record(conn, action, "failed", "delete_settlement", DOCUMENT_KIND, made.text(), key, message=str(exc))
            raise
        self.record(conn, action, "done", "delete_settlement", DOCUMENT_KIND, made.text(), key)
