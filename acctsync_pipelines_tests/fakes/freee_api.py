"""A loopback fake of freee's accounting API.

Every request body is validated against freee's own OpenAPI schema (read from
$ACCTSYNC_VENDOR_DIR/freee/accounting-api-schema.json, never copied here), and so is every answer the
fake gives, so tests notice when acctsync and the schema disagree (``problems``). Beyond the schema it
behaves like freee where acctsync depends on it: ids must exist, dates outside the fiscal years are
refused (当年会計期間外), 10% / 軽減8% codes before 2019-10-01 are refused, an unsettled deal keeps
its due amount, single-use refresh tokens rotate.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from acctsync_pipelines_tests.fakes import LoopbackApi, Reply

ACCOUNTS = ["現金", "普通預金", "売掛金", "未払金", "仮受金", "仮払金", "売上高", "仕入高", "旅費交通費", "消耗品費",
            "雑損失", "雑収入", "支払手数料", "前払金"]
TAXES = [  # (code, name, name_ja, display_category)
    (2, "non_taxable", "対象外", None),
    (21, "sales_with_tax", "課税売上", None),
    (34, "purchase_with_tax", "課対仕入", None),
    (37, "purchase_no_tax", "非課仕入", None),
    (129, "sales_with_tax_10", "課税売上10%", "tax_10"),
    (136, "purchase_with_tax_10", "課対仕入10%", "tax_10"),
    (156, "sales_with_tax_reduced_8", "課税売上8%（軽）", "tax_r8"),
    (163, "purchase_with_tax_reduced_8", "課対仕入8%（軽）", "tax_r8"),
]
RATED_CODES = {129, 136, 156, 163}


def _nullable_to_types(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable: true`` → JSON Schema ``type: [T, "null"]`` (and enum allows null)."""
    if isinstance(node, dict):
        node = {k: _nullable_to_types(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [_nullable_to_types(v) for v in node]
    return node


@functools.cache
def load_schema(path: str) -> dict:
    return _nullable_to_types(json.loads(Path(path).read_text(encoding="utf-8")))


class FreeeSchema:
    def __init__(self, path: Path):
        self.doc = load_schema(str(path))
        self.routes = []
        for template, operations in self.doc["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")
            self.routes.append((pattern, template, operations))
        self._validators: dict[str, jsonschema.Draft7Validator] = {}

    def operation(self, method: str, path: str) -> dict | None:
        for pattern, _template, operations in self.routes:
            if pattern.match(path) and method.lower() in operations:
                return operations[method.lower()]
        return None

    def _validator(self, schema: dict) -> jsonschema.Draft7Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft7Validator({"allOf": [schema], "components": self.doc["components"]})
        return self._validators[key]

    def check(self, schema: dict, instance: Any, what: str) -> list[str]:
        return [f"{what}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in self._validator(schema).iter_errors(instance)]

    def check_request(self, method: str, path: str, query: dict, body: Any) -> list[str]:
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in freee's schema"]
        problems = []
        for param in op.get("parameters", []):
            if param["in"] == "query" and param.get("required") and param["name"] not in query:
                problems.append(f"{method} {path}: required query parameter {param['name']} missing")
        if "requestBody" in op:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            problems += self.check(schema, body, f"{method} {path} request")
        return problems

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        op = self.operation(method, path)
        if op is None or body is None:
            return []
        response = op["responses"].get(str(status))
        if response is None:
            return [f"{method} {path}: status {status} is not documented"]
        content = response.get("content", {}).get("application/json")
        return self.check(content["schema"], body, f"{method} {path} {status} response") if content else []


class FreeeFake(LoopbackApi):
    def __init__(self, schema_path: Path, company_id: int = 3141,
                 fiscal_years: tuple[tuple[str, str, bool], ...] = (("2025-01-01", "2025-12-31", False),)):
        super().__init__()
        self.schema = FreeeSchema(schema_path)
        self.company_id = company_id
        self.fiscal_years = list(fiscal_years)
        self.next_id = 1000
        self.accounts = {name: self._id() for name in ACCOUNTS}
        self.taxes = list(TAXES)
        self.sections: dict[str, int] = {}
        self.items: dict[str, int] = {}
        self.walletables = {("wallet", "現金"): self._id()}
        self.deals: dict[int, dict] = {}
        self.manual_journals: dict[int, dict] = {}

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def is_token_path(self, path: str) -> bool:
        return path == "/public_api/token"

    def unauthorized(self) -> Reply:
        return Reply(401, {"message": "アクセストークンが無効です", "messages": "invalid token"})

    def rate_limited_body(self) -> Any:
        return {"status_code": 429, "meta": {"limit": 100, "period": 5, "remaining": 0,
                                             "reset": "2025-06-01T00:00:00+09:00"}}

    def server_error_body(self) -> Any:
        return {"status_code": 500, "errors": [{"type": "status", "messages": ["システムエラー"]}]}

    @staticmethod
    def bad_request(*messages: str) -> Reply:
        return Reply(400, {"status_code": 400, "errors": [{"type": "validation", "messages": list(messages)}]})

    def not_found(self) -> Reply:
        return Reply(404, {"status_code": 404, "errors": [{"type": "status", "messages": ["存在しません"]}]})

    # --- what a test asserts on ----------------------------------------------------------------------
    def live_deals(self) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(self._deal_view(d)) for d in self.deals.values()]

    def live_journals(self) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(j) for j in self.manual_journals.values()]

    def account_name(self, account_id: int) -> str:
        return next(name for name, i in self.accounts.items() if i == account_id)

    def item_name(self, item_id: int | None) -> str | None:
        return next((name for name, i in self.items.items() if i == item_id), None)

    def section_name(self, section_id: int | None) -> str | None:
        return next((name for name, i in self.sections.items() if i == section_id), None)

    # --- requests -------------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, body: Any, headers: dict) -> Reply:
        problems = self.schema.check_request(method, path, query, body)
        if problems:
            with self.lock:
                self.problems += problems
            return self.bad_request(*problems[:5])
        with self.lock:
            reply = self._route(method, path, query, body)
            self.problems += self.schema.check_response(method, path, reply.status, reply.body)
        return reply

    def _route(self, method: str, path: str, query: dict, body: Any) -> Reply:
        parts = path.strip("/").split("/")[2:]  # after api/1
        company = int(query.get("company_id") or (body or {}).get("company_id") or 0) if not (
            parts[:2] == ["taxes", "companies"] or parts[0] == "companies") else self.company_id
        if company != self.company_id:
            return self.bad_request("事業所IDが不正です")
        if method == "GET" and parts == ["companies", str(self.company_id)]:
            return Reply(200, {"company": self.company()})
        if method == "GET" and parts == ["account_items"]:
            return Reply(200, {"account_items": [self.account_item(n, i) for n, i in self.accounts.items()]})
        if method == "GET" and parts == ["taxes", "companies", str(self.company_id)]:
            return Reply(200, {"taxes": [{"code": c, "name": n, "name_ja": j, "display_category": d, "available": True}
                                         for c, n, j, d in self.taxes]})
        if parts[0] in ("sections", "items") and len(parts) == 1:
            store = self.sections if parts[0] == "sections" else self.items
            singular = parts[0][:-1]
            if method == "GET":
                return Reply(200, {parts[0]: [self.master(singular, n, i) for n, i in store.items()]})
            if body["name"] in store:
                return self.bad_request(f"{body['name']} は既に使用されています")
            store[body["name"]] = self._id()
            return Reply(201, {singular: self.master(singular, body["name"], store[body["name"]])})
        if method == "GET" and parts == ["walletables"]:
            return Reply(200, {"walletables": [
                {"id": i, "name": n, "type": t, "bank_id": None, "update_date": "2025-01-01"}
                for (t, n), i in self.walletables.items()]})
        if parts[0] == "deals":
            return self._deals(method, parts[1:], query, body)
        if parts[0] == "manual_journals":
            return self._journals(method, parts[1:], query, body)
        return self.not_found()

    # --- masters ------------------------------------------------------------------------------------------
    def company(self) -> dict:
        return {
            "id": self.company_id, "name": "acctsync テスト", "name_kana": None, "display_name": "acctsync テスト",
            "tax_at_source_calc_type": 0, "contact_name": None, "head_count": 1, "corporate_number": "",
            "txn_number_format": "not_used", "default_wallet_account_id": None, "private_settlement": False,
            "minus_format": 0, "role": "admin", "phone1": None, "phone2": None, "fax": None, "zipcode": None,
            "prefecture_code": 12, "street_name1": None, "street_name2": None, "invoice_layout": "default_classic",
            "invoice_style": "classic", "amount_fraction": 0, "industry_class": None, "industry_code": None,
            "workflow_setting": "disable", "use_partner_code": False, "org_code": 1, "company_number": "97e576421b",
            "fiscal_years": [
                {"id": n + 1, "use_industry_template": False, "indirect_write_off_method": False,
                 "start_date": start, "end_date": end, "depreciation_record_method": 0, "tax_method": 2,
                 "sales_tax_business_code": 0, "tax_fraction": 0, "tax_account_method": 0, "return_code": 0,
                 "is_closed": closed, "month_end_date": end, "temp_month_end_date": end}
                for n, (start, end, closed) in enumerate(self.fiscal_years)],
        }

    def account_item(self, name: str, item_id: int) -> dict:
        receivable = self.accounts["売掛金"]
        return {"id": item_id, "name": name, "shortcut": None, "shortcut_num": None, "code": None, "tax_code": 2,
                "default_tax_code": 2, "account_category": "その他", "account_category_id": 1, "categories": ["その他"],
                "available": True, "walletable_id": None, "group_name": None, "group_id": None,
                "corresponding_income_name": "売掛金", "corresponding_income_id": receivable,
                "corresponding_expense_name": "未払金", "corresponding_expense_id": self.accounts["未払金"],
                "update_date": "2025-01-01"}

    def master(self, singular: str, name: str, master_id: int) -> dict:
        common = {"id": master_id, "company_id": self.company_id, "name": name, "available": True,
                  "shortcut1": None, "shortcut2": None}
        if singular == "item":
            return {**common, "update_date": "2025-01-01", "code": None}
        return {**common, "long_name": None, "code": None}

    # --- documents -----------------------------------------------------------------------------------------
    def _refuse_period(self, issue_date: str, details: list[dict]) -> Reply | None:
        day = dt.date.fromisoformat(issue_date)
        year = next(((s, e, c) for s, e, c in self.fiscal_years
                     if dt.date.fromisoformat(s) <= day <= dt.date.fromisoformat(e)), None)
        if year is None:
            return self.bad_request("当年会計期間外の日付は登録できません")
        if year[2]:
            return self.bad_request("締め済みの会計期間には登録できません")
        if day < dt.date(2019, 10, 1) and any(d["tax_code"] in RATED_CODES for d in details):
            return self.bad_request("2019-10-01より前の日付には10%・軽減8%の税区分を使用できません")
        return None

    def _refuse_ids(self, details: list[dict]) -> Reply | None:
        accounts, codes = set(self.accounts.values()), {t[0] for t in self.taxes}
        for d in details:
            if d.get("account_item_id") not in accounts:
                return self.bad_request("勘定科目が存在しません")
            if d["tax_code"] not in codes:
                return self.bad_request("税区分が存在しません")
            if "section_id" in d and d["section_id"] not in self.sections.values():
                return self.bad_request("部門が存在しません")
            if "item_id" in d and d["item_id"] not in self.items.values():
                return self.bad_request("品目が存在しません")
        return None

    def _deal_view(self, deal: dict) -> dict:
        amount = sum(d["amount"] for d in deal["details"])
        paid = sum(p["amount"] for p in deal["payments"])
        return {**deal, "amount": amount, "due_amount": amount - paid,
                "status": "settled" if amount == paid else "unsettled"}

    def _deal_from(self, body: dict, deal_id: int, payments: list[dict]) -> dict:
        side = "credit" if body["type"] == "income" else "debit"
        details = [{"id": self._id(), "account_item_id": d["account_item_id"], "tax_code": d["tax_code"],
                    "amount": d["amount"], "vat": d.get("vat", 0), "entry_side": side,
                    "section_id": d.get("section_id"), "item_id": d.get("item_id"),
                    "description": d.get("description", "")} for d in body["details"]]
        return {"id": deal_id, "company_id": self.company_id, "issue_date": body["issue_date"],
                "due_date": None, "type": body["type"], "partner_id": None, "partner_code": None,
                "ref_number": body.get("ref_number"), "deal_origin_name": "API", "details": details,
                "payments": payments}

    def _payment(self, p: dict) -> dict:
        return {"id": self._id(), "date": p["date"], "from_walletable_type": p["from_walletable_type"],
                "from_walletable_id": p["from_walletable_id"], "amount": p["amount"]}

    def _deals(self, method: str, rest: list[str], query: dict, body: Any) -> Reply:
        if method == "GET" and not rest:
            found = [self._deal_view(d) for d in self.deals.values()
                     if query.get("start_issue_date", "") <= d["issue_date"] <= query.get("end_issue_date", "9999")
                     and query.get("type", d["type"]) == d["type"]]
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
            return Reply(200, {"deals": found[offset:offset + limit], "meta": {"total_count": len(found)}})
        if method == "POST" and not rest:
            refused = self._refuse_period(body["issue_date"], body["details"]) or self._refuse_ids(body["details"])
            if refused:
                return refused
            for p in body.get("payments", []):
                if (p["from_walletable_type"], p["from_walletable_id"]) not in {(t, i) for (t, _), i in self.walletables.items()}:
                    return self.bad_request("口座が存在しません")
            deal = self._deal_from(body, self._id(), [self._payment(p) for p in body.get("payments", [])])
            self.deals[deal["id"]] = deal
            return Reply(201, {"deal": self._deal_view(deal)})
        deal_id = int(rest[0])
        if deal_id not in self.deals:
            return self.not_found()
        deal = self.deals[deal_id]
        if method == "PUT" and len(rest) == 1:
            refused = self._refuse_period(body["issue_date"], body["details"]) or self._refuse_ids(body["details"])
            if refused:
                return refused
            self.deals[deal_id] = self._deal_from(body, deal_id, deal["payments"])
            return Reply(200, {"deal": self._deal_view(self.deals[deal_id])})
        if method == "DELETE" and len(rest) == 1:
            del self.deals[deal_id]
            return Reply(204)
        if rest[1:2] == ["payments"]:
            if method == "POST":
                deal["payments"].append(self._payment(body))
                return Reply(201, {"deal": self._deal_view(deal)})
            payment_id = int(rest[2])
            if method == "PUT":
                deal["payments"] = [self._payment(body) | {"id": payment_id} if p["id"] == payment_id else p
                                    for p in deal["payments"]]
                return Reply(200, {"deal": self._deal_view(deal)})
            deal["payments"] = [p for p in deal["payments"] if p["id"] != payment_id]
            return Reply(204)
        return self.not_found()

    def _journal_view(self, journal: dict) -> dict:
        return journal

    def _journal_from(self, body: dict, journal_id: int) -> dict:
        details = [{"id": self._id(), "entry_side": d["entry_side"], "account_item_id": d["account_item_id"],
                    "tax_code": d["tax_code"], "partner_id": None, "partner_name": None, "partner_code": None,
                    "partner_long_name": None, "item_id": d.get("item_id"), "item_name": self.item_name(d.get("item_id")),
                    "section_id": d.get("section_id"), "section_name": self.section_name(d.get("section_id")),
                    "tag_ids": [], "tag_names": [], "amount": d["amount"], "vat": d.get("vat", 0),
                    "description": d.get("description", "")} for d in body["details"]]
        return {"id": journal_id, "company_id": self.company_id, "issue_date": body["issue_date"],
                "adjustment": bool(body.get("adjustment")), "txn_number": None, "ref_number": body.get("ref_number"),
                "details": details, "receipt_ids": []}

    def _journals(self, method: str, rest: list[str], query: dict, body: Any) -> Reply:
        if method == "GET" and not rest:
            found = [j for j in self.manual_journals.values()
                     if query.get("start_issue_date", "") <= j["issue_date"] <= query.get("end_issue_date", "9999")
                     and ("ref_number" not in query or j["ref_number"] == query["ref_number"])]
            return Reply(200, {"manual_journals": found})
        if method == "POST" and not rest:
            refused = self._refuse_period(body["issue_date"], body["details"]) or self._refuse_ids(body["details"])
            if refused:
                return refused
            debit = sum(d["amount"] for d in body["details"] if d["entry_side"] == "debit")
            credit = sum(d["amount"] for d in body["details"] if d["entry_side"] == "credit")
            if debit != credit:
                return self.bad_request("貸借の金額が一致しません")
            journal = self._journal_from(body, self._id())
            self.manual_journals[journal["id"]] = journal
            return Reply(201, {"manual_journal": journal})
        journal_id = int(rest[0])
        if journal_id not in self.manual_journals:
            return self.not_found()
        if method == "PUT":
            refused = self._refuse_period(body["issue_date"], body["details"]) or self._refuse_ids(body["details"])
            if refused:
                return refused
            self.manual_journals[journal_id] = self._journal_from(body, journal_id)
            return Reply(200, {"manual_journal": self.manual_journals[journal_id]})
        if method == "DELETE":
            del self.manual_journals[journal_id]
            return Reply(204)
        return self.not_found()
