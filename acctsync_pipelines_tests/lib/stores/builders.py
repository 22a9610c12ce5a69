"""Small STORES API-shaped orders built for one test case each."""

from __future__ import annotations

import copy
import json
from pathlib import Path


def write_json(folder: Path, name: str, body: dict) -> Path:
    path = folder / name
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def order(number: str, ordered_at: str, amount: int = 5500, *, rate: float = 0.1, tender: str = "credit_card",
          fee: int | None = None, shipped_at: str | None = None, delivery: str = "shipping",
          sales_channel_id: str = "ec", method_name: str | None = None) -> dict:
    """A paid order in the API's shape: one item, one delivery, one payment."""
    tax = amount * int(round(rate * 100)) // (100 + int(round(rate * 100)))
    fee = round(amount * 0.036 + 0.4999) if fee is None and tender == "credit_card" else (fee or 0)
    tx = {"id": f"tx{number}", "type": tender,
          "sales_channel_id": None if sales_channel_id == "ec" else sales_channel_id,
          "amount": amount, "deposit": amount, "change": 0, "paid_at": ordered_at, "payment_fee": fee,
          "payment_fee_rate": 0.036 if fee else 0, "fee": None, "system_fee": None}
    if method_name:
        tx["payment_method_name"] = method_name
    return {
        "id": f"id{number}", "number": number, "email": None, "sales_channel_id": sales_channel_id,
        "sales_amount": amount, "sales_discount": 0, "cancel_amount": 0, "cancel_discount": 0,
        "sales_tax": tax, "cancel_tax": 0,
        "tax_details": [{"tax_class": "taxable", "tax_rate": rate, "sales_tax": tax, "cancel_tax": 0,
                         "sales_amount": amount, "sales_discount": 0, "cancel_amount": 0, "cancel_discount": 0}],
        "payment_amount": amount, "payment_tax": tax,
        "transactions": [tx],
        "deliveries": [{"id": f"dl{number}", "type": delivery,
                        "items": [{"id": f"it{number}", "type": "regular", "name": "テスト商品", "item_id": "i1",
                                   "variation_id": None, "variation_name": "", "code": None, "barcode": None,
                                   "tax_rate": rate, "regular_price": amount, "quantity": 1, "option": []}],
                        "canceled_at": None, "shipped_at": shipped_at}],
        "option": [], "note": "", "remarks": "", "receipt_address": None,
        "ordered_at": ordered_at, "readied_at": ordered_at, "billing_address": None,
    }


def cancelled(original: dict, canceled_at: str, refund: bool = True) -> dict:
    """The same order after a full cancellation (with a refund of its payment when ``refund``)."""
    result = copy.deepcopy(original)
    result["cancel_amount"] = result["sales_amount"]
    result["cancel_tax"] = result["sales_tax"]
    for detail in result["tax_details"]:
        detail["cancel_amount"] = detail["sales_amount"]
        detail["cancel_tax"] = detail["sales_tax"]
    result["payment_amount"] = 0
    result["payment_tax"] = 0
    result["readied_at"] = None
    for delivery in result["deliveries"]:
        delivery["canceled_at"] = canceled_at
    if refund:
        paid = result["transactions"][0]
        result["transactions"].append({**paid, "id": paid["id"] + "r", "amount": -paid["amount"],
                                       "deposit": -paid["amount"], "paid_at": canceled_at,
                                       "payment_fee": -paid["payment_fee"]})
        result["transactions"][-1].pop("payment_method_name", None)
    return result
