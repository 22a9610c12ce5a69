"""Transactions in the Reconciliation API's shape, and a direct run of the stages (no Dagster) for
the many small cases; end-to-end tests use ``home.materialize``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from acctsync_pipelines.lib import sources as stages
from acctsync_pipelines.lib.amazon_business.source import SOURCE
from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.warehouse import Warehouse


def money(amount: int | str, currency: str = "JPY") -> dict:
    return {"currencyCode": currency, "amount": str(amount)}


def item(order: str, number: int, title: str, total: int, *, rate: str = "0.10", asin: str | None = None,
         unspsc: str = "47131800", seller: str = "見本商事株式会社", shipment: str = "SHIP1", gl_code: str | None = None,
         tax: int | None = None, quantity: int = 1, shipped: bool = True) -> dict:
    line = {
        "totalAmount": money(f"{total}.0"),
        "principalAmount": money(f"{total}.0"),
        "tax": money(f"{tax if tax is not None else 0}.0"),
        "taxRate": rate,
        "orderId": order,
        "orderLineItemId": f"{order[-4:]}-{number}",
        "unspsc": unspsc,
        "asin": asin or f"B0TEST{number:04d}",
        "productTitle": title,
        "itemQuantity": quantity,
        "shipmentId": shipment,
        "merchantLegalName": seller,
    }
    if shipped:
        line["shipmentDate"] = "2025-06-01T00:00:00Z"
    else:
        del line["shipmentId"]
    if gl_code is not None:
        line["businessOrderInfo"] = {"GL code": gl_code, "Cost center": ""}
    return line


def txn(tid: str, at: str, amount: int, lines: list[dict], *, instrument: str = "Visa", kind: str = "CHARGE",
        associated: tuple[str, ...] = (), feed: str | None = None, currency: str = "JPY") -> dict:
    feed = feed or (dt.datetime.fromisoformat(at.replace("Z", "+00:00")) + dt.timedelta(hours=12)) \
        .isoformat().replace("+00:00", "Z")
    return {
        "marketplaceId": "A1VC38T7YXB528",
        "transactionDate": at,
        "feedDate": feed,
        "transactionType": kind,
        "transactionId": tid,
        "amount": money(f"{amount}.0", currency),
        "paymentInstrumentType": instrument,
        "associatedTransactionDetails": [{"associatedTransactionId": a} for a in associated],
        "transactionLineItems": lines,
    }


def write_json(inbox: Path, name: str, transactions: list[dict], invoices: list[dict] | None = None) -> Path:
    document: dict = {"transactions": transactions}
    if invoices is not None:
        document["invoiceDetailsByOrderLineItems"] = invoices
    path = inbox / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def run_days(home, *days: str | dt.date) -> None:
    """raw → normalized → journal for each day, on the home's warehouse, as the assets do (InputError propagates)."""
    settings = load_settings()
    with Warehouse(home.warehouse).connect() as conn:
        for day in days:
            day = dt.date.fromisoformat(str(day))
            stages.run_raw(conn, SOURCE, settings, home.root, day)
            stages.replace_day(conn, SOURCE, settings, day, "normalized_transactions")
            stages.replace_day(conn, SOURCE, settings, day, "journal_entries")


def check_failures(home, day: str) -> dict[str, list[dict]]:
    settings = load_settings()
    with Warehouse(home.warehouse).connect() as conn:
        SOURCE.register_config(conn, settings)
        return {c.name: c.failures(conn, "amazon_business", dt.date.fromisoformat(day)) for c in SOURCE.checks}


def lines(home, where: str = "true") -> list[dict]:
    with Warehouse(home.warehouse).connect(read_only=True) as conn:
        cursor = conn.execute(
            f"""SELECT entry_id, line_no, business_date, side, account, sub_account, tax_category, amount, tax_amount,
                       description, source_ref, rule, confidence, review_status, review_reason, qualified_invoice
                FROM ledger.journal_entry_lines WHERE source = 'amazon_business' AND {where}
                ORDER BY entry_id, line_no"""
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def post_days(home, *days: str | dt.date) -> None:
    """The posted_entries stage for each day to the Yayoi CSV target, as the asset does."""
    from acctsync_pipelines.lib.posting import post_day

    settings = load_settings()
    with Warehouse(home.warehouse).connect() as conn:
        for day in days:
            post_day(conn, settings, home.root, "amazon_business", dt.date.fromisoformat(str(day)), "yayoi_csv")
