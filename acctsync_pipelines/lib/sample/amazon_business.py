"""Amazon Business purchases of a café: office supplies, consumables, books and Kindle, 8% food.

Writes the two file inputs acctsync reads: the Reconciliation API's transactions JSON (with the
invoice details of some orders) and an Orders report CSV. Every 21 days the same scenarios recur:
split payments (card + points + gift card, and a card + points pair), Pay by Invoice, a refund,
an Amazon Pay purchase, a purchase just after midnight in Tokyo (the day before in UTC) and an
undelivered order in the report. Sellers and registration numbers are fictional.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

JST = dt.timezone(dt.timedelta(hours=9))

# (asin, title, unspsc, category, tax-inclusive unit price, tax rate %, seller)
CATALOG = [
    ("B0SAMPLE01", "キャンパスノート B5 5冊パック", "14111514", "Office Product", 748, 10, "株式会社サンプル文具"),
    ("B0SAMPLE02", "油性ボールペン 黒 10本", "44121704", "Office Product", 550, 10, "株式会社サンプル文具"),
    ("B0SAMPLE03", "コピー用紙 A4 500枚×5冊", "14111507", "Office Product", 2980, 10, "株式会社サンプル文具"),
    ("B0SAMPLE04", "食器用洗剤 詰め替え 1.5L", "47131807", "Health and Household", 698, 10, "見本日用品合同会社"),
    ("B0SAMPLE05", "紙コップ 8オンス 500個", "48101710", "Kitchen", 3480, 10, "見本日用品合同会社"),
    ("B0SAMPLE06", "キッチンペーパー 12ロール", "14111704", "Health and Household", 1280, 10, "見本日用品合同会社"),
    ("B0SAMPLE07", "カフェ開業の教科書", "55101509", "Book", 1980, 10, "アマゾンサンプル書店"),
    ("B0SAMPLE08", "珈琲抽出の科学 Kindle版", "55111510", "Digital Ebook Purchase", 1320, 10, "アマゾンサンプル書店"),
    ("B0SAMPLE09", "コーヒー豆 ブラジル 中煎り 1kg", "50201706", "Grocery", 3240, 8, "見本珈琲商店"),
    ("B0SAMPLE10", "グラニュー糖 1kg", "50161509", "Grocery", 324, 8, "見本珈琲商店"),
    ("B0SAMPLE11", "ドリップフィルター 100枚", "52151504", "Kitchen", 429, 10, "見本日用品合同会社"),
]
REGISTRATION = {
    "株式会社サンプル文具": "T0000000000001",
    "見本日用品合同会社": "T0000000000002",
    "アマゾンサンプル書店": "T0000000000003",
}
CARD = ("Visa", "4242")
CYCLE = 21

CSV_HEADER = [
    "Order Date", "Order ID", "Account Group", "PO Number", "Order Quantity", "Currency", "Order Subtotal",
    "Order Shipping & Handling", "Order Promotion", "Order Tax", "Order Net Total", "Order Status", "Approver",
    "Account User", "Payment Reference ID", "Payment Date", "Payment Amount", "Payment Instrument Type",
    "Payment Identifier", "Amazon-Internal Product Category", "ASIN", "Title", "UNSPSC", "Segment", "Family",
    "Item Quantity", "Item Subtotal", "Item Tax", "Item Net Total", "GL Code", "Seller Name",
]


@dataclass
class Line:
    item: tuple
    quantity: int

    @property
    def total(self) -> int:
        return self.item[4] * self.quantity

    @property
    def rate(self) -> int:
        return self.item[5]

    @property
    def tax(self) -> int:
        return self.total * self.rate // (100 + self.rate)


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.transactions: list[dict] = []
        self.invoices: list[dict] = []
        self.csv_rows: list[list] = []
        self._serial = 0

    def _id(self, prefix: str, width: int = 10) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:0{width}d}"

    def order_id(self) -> str:
        return f"250-{self.rng.randint(1000000, 9999999)}-{self.rng.randint(1000000, 9999999)}"

    def lines(self, *names: str, count: int = 0) -> list[Line]:
        picked = [next(i for i in CATALOG if i[1] == n) for n in names]
        picked += self.rng.sample([i for i in CATALOG if i[6] != "アマゾンサンプル書店"], count)
        return [Line(item, self.rng.choice([1, 1, 2])) for item in picked]

    def charge(self, order: str, lines: list[Line], at: dt.datetime, parts: list[tuple[str, str, int]],
               kind: str = "CHARGE", reason: str | None = None, invoice: bool = False) -> list[dict]:
        """Transactions for one order event: one per payment part (instrument, last4, amount), linked."""
        ids = [self._id("ABTX") for _ in parts]
        sign = -1 if kind != "CHARGE" else 1
        shipment = self._id("SHP", 6)
        items = []
        for n, line in enumerate(lines, start=1):
            asin, title, unspsc, _, _, rate, seller = line.item
            item = {
                "totalAmount": {"currencyCode": "JPY", "amount": f"{sign * line.total}.0"},
                "principalAmount": {"currencyCode": "JPY", "amount": f"{sign * line.total}.0"},
                "tax": {"currencyCode": "JPY", "amount": f"{sign * line.tax}.0"},
                "unitPrice": {"currencyCode": "JPY", "amount": f"{line.item[4]}.0"},
                "taxRate": f"0.{rate:02d}",
                "orderId": order,
                "unspsc": unspsc,
                "orderLineItemId": f"{order[-7:]}{n:03d}",
                "asin": asin,
                "productTitle": title,
                "itemQuantity": line.quantity,
                "shipmentId": shipment,
                "shipmentDate": (at - dt.timedelta(minutes=5)).astimezone(dt.timezone.utc).isoformat()
                    .replace("+00:00", "Z"),
                "merchantLegalName": seller,
                "businessOrderInfo": {"GL code": "", "Cost center": "本店"},
            }
            if reason:
                item["refundReason"] = reason
            items.append(item)
        made = []
        for tid, (instrument, last4, amount) in zip(ids, parts):
            made.append({
                "marketplaceId": "A1VC38T7YXB528",
                "transactionDate": at.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                "feedDate": (at + dt.timedelta(days=1)).astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                "transactionType": kind,
                "transactionId": tid,
                "chargeIdentifier": self._id("CHG", 8),
                "legalEntityName": "カフェ見本 合同会社",
                "amount": {"currencyCode": "JPY", "amount": f"{sign * amount}.0"},
                "paymentInstrumentType": instrument,
                **({"paymentInstrumentLast4Digits": last4} if last4 else {}),
                "associatedTransactionDetails": [{"associatedTransactionId": o} for o in ids if o != tid],
                "transactionLineItems": items,
            })
        self.transactions.extend(made)
        if invoice:
            self._invoice(order, items, at, "STANDARD" if kind == "CHARGE" else "CREDIT_MEMO")
        return made

    def _invoice(self, order: str, items: list[dict], at: dt.datetime, invoice_type: str) -> None:
        by_seller: dict[str, list[dict]] = {}
        for item in items:
            by_seller.setdefault(item["merchantLegalName"], []).append(item)
        for seller, seller_items in by_seller.items():
            number = self._id("JPINV", 8)
            rates: dict[str, list[int]] = {}
            for item in seller_items:
                total = abs(int(float(item["totalAmount"]["amount"])))
                rates.setdefault(item["taxRate"], []).append(total)
            taxes = []
            for rate, totals in sorted(rates.items()):
                inclusive = sum(totals)
                percent = int(rate[2:])
                tax = inclusive * percent // (100 + percent)
                taxes.append({"rate": rate, "inclusiveTotal": {"currencyCode": "JPY", "amount": f"{inclusive}.0"},
                              "exclusiveTotal": {"currencyCode": "JPY", "amount": f"{inclusive - tax}.0"},
                              "amount": {"currencyCode": "JPY", "amount": f"{tax}.0"}})
            detail = {
                "invoiceNumber": number,
                "invoiceDate": at.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                "invoiceType": invoice_type,
                "invoiceIssuer": {"name": seller, "registrationNumber": REGISTRATION.get(seller, "")},
                "sellerInformation": {"name": seller, "registrationNumber": REGISTRATION.get(seller, "")},
                "currencyCode": "JPY",
                "invoiceTotal": f"{sum(sum(t) for t in rates.values())}.0",
                "tax": taxes,
            }
            for item in seller_items:
                self.invoices.append({
                    "orderLineItem": {"orderId": order, "orderLineItemId": item["orderLineItemId"],
                                      "shipmentId": item["shipmentId"]},
                    "invoiceDetails": [detail],
                })

    def csv_order(self, day: dt.date, lines: list[Line], payments: list[tuple[str, int]], status: str = "Closed",
                  gl_code: str = "") -> None:
        """Orders report rows: each item once per payment (a split payment repeats the items)."""
        order = self.order_id()
        total = sum(line.total for line in lines)
        tax = sum(line.tax for line in lines)
        for reference, (instrument, amount) in zip([self._id("PAY", 8) for _ in payments], payments):
            for line in lines:
                asin, title, unspsc, category, price, _, seller = line.item
                self.csv_rows.append([
                    day.strftime("%m/%d/%Y"), order, "カフェ見本", "", sum(x.quantity for x in lines), "JPY",
                    total - tax, 0, 0, tax, total, status, "", "店長",
                    reference if status == "Closed" else "", day.strftime("%m/%d/%Y") if status == "Closed" else "",
                    amount if status == "Closed" else "", instrument, "", category, asin, title, unspsc,
                    unspsc[:2] + "000000", unspsc[:4] + "0000", line.quantity, line.total - line.tax, line.tax,
                    line.total, gl_code, seller,
                ])


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=JST)


def generate(start: dt.date, days: int, seed: int = 20250601) -> Generator:
    g = Generator(seed)
    earlier: dict[int, tuple[str, list[Line]]] = {}
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        step = offset % CYCLE
        order = g.order_id()
        if step == 1:
            # card + Amazonポイント + Amazonギフトカード for one order: the items once, three credits
            lines = g.lines("コピー用紙 A4 500枚×5冊", "油性ボールペン 黒 10本")
            total = sum(x.total for x in lines)
            g.charge(order, lines, _at(day, 10, 12),
                     [(CARD[0], CARD[1], total - 800 - 500), ("Amazon Points", "", 800),
                      ("Amazon Gift Card Balance", "", 500)], invoice=True)
        elif step == 3:
            lines = g.lines("紙コップ 8オンス 500個", "キッチンペーパー 12ロール")
            earlier[3] = (order, lines)
            g.charge(order, lines, _at(day, 14, 40), [(CARD[0], CARD[1], sum(x.total for x in lines))],
                     invoice=True)
        elif step == 4:
            lines = [Line(next(i for i in CATALOG if i[1].endswith("Kindle版")), 1)]
            g.charge(order, lines, _at(day, 22, 5), [(CARD[0], CARD[1], lines[0].total)])
        elif step == 5:
            # 8% food and 10% goods in one order: tax once per rate
            lines = g.lines("コーヒー豆 ブラジル 中煎り 1kg", "グラニュー糖 1kg", "ドリップフィルター 100枚")
            g.charge(order, lines, _at(day, 9, 30), [(CARD[0], CARD[1], sum(x.total for x in lines))])
        elif step == 7:
            lines = g.lines(count=1)
            g.charge(order, lines, _at(day, 11, 0), [("Amazon Pay", "", sum(x.total for x in lines))])
        elif step == 9:
            # 00:20 in Tokyo is 15:20 UTC the day before: booked on the Tokyo day
            lines = g.lines("カフェ開業の教科書")
            g.charge(order, lines, _at(day, 0, 20), [(CARD[0], CARD[1], sum(x.total for x in lines))])
        elif step == 11:
            lines = g.lines(count=2)
            g.charge(order, lines, _at(day, 16, 0), [("Pay by Invoice", "", sum(x.total for x in lines))])
        elif step == 12 and 3 in earlier:
            # one returned item of the order from step 3, refunded to the card on its own day
            refunded_order, lines = earlier.pop(3)
            returned = [Line(lines[0].item, 1)]
            g.charge(refunded_order, returned, _at(day, 13, 15), [(CARD[0], CARD[1], returned[0].total)],
                     kind="REFUND", reason="Customer return", invoice=True)
        elif step == 14:
            lines = g.lines("コーヒー豆 ブラジル 中煎り 1kg")
            total = sum(x.total for x in lines)
            g.charge(order, lines, _at(day, 19, 45), [(CARD[0], CARD[1], total - 300), ("Amazon Points", "", 300)])
        elif step in (0, 2, 6, 8, 10, 13, 15, 16, 17, 18, 19, 20) and g.rng.random() < 0.6:
            lines = g.lines(count=g.rng.randint(1, 3))
            g.charge(order, lines, _at(day, g.rng.randint(8, 20), g.rng.randint(0, 59)),
                     [(CARD[0], CARD[1], sum(x.total for x in lines))], invoice=g.rng.random() < 0.5)
        # The Orders report carries a few other orders (placed by another buyer group).
        if step == 2:
            lines = g.lines("ドリップフィルター 100枚", "グラニュー糖 1kg")
            g.csv_order(day, lines, [("Visa", sum(x.total for x in lines))])
        elif step == 8:
            lines = g.lines("食器用洗剤 詰め替え 1.5L", "キャンパスノート B5 5冊パック")
            total = sum(x.total for x in lines)
            g.csv_order(day, lines, [("Visa", total - 200), ("Amazon Points", 200)])
        elif step == 16:
            g.csv_order(day, g.lines(count=1), [("Visa", 0)], status="Pending")
    return g


def write_sample(inbox: Path, start: dt.date, days: int, seed: int = 20250601) -> list[Path]:
    """Write the transactions JSON and the Orders report CSV for ``days`` days from ``start``."""
    g = generate(start, days, seed)
    inbox.mkdir(parents=True, exist_ok=True)
    end = start + dt.timedelta(days=days - 1)
    json_path = inbox / f"transactions_{start:%Y%m%d}_{end:%Y%m%d}.json"
    document = {"transactions": g.transactions, "invoiceDetailsByOrderLineItems": g.invoices}
    json_path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    csv_path = inbox / f"orders_report_{start:%Y%m%d}_{end:%Y%m%d}.csv"
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(g.csv_rows)
    csv_path.write_bytes(buffer.getvalue().encode("utf-8"))
    return [json_path, csv_path]
