"""STORES sample data for a coffee roaster: an online shop (EC) and one STORES レジ counter.

Written exactly as the retail API v202211 answers (``{"orders": [...]}``, ``{"remittances": [...]}``,
``{"remittance_id": ..., "order_ids": [...]}``, ``{"sales_channels": [...]}``): weekly order files, each
holding the orders placed in the ten days before it as they stood then (so a later file carries a
newer version of an order that shipped or was cancelled in between), payouts (スピードキャッシュ)
with their order ids, and the store's name. Own synthetic data, deterministic for a seed.

Covered: 10% and 8% mixed, item and coupon discounts, a STORES負担 coupon paid back in a payout,
free shipping, gift wrapping, credit card, PayPay, convenience store (with its system fee), 代金引換
(with its fee), Amazon Pay, cash with change, 商品券 split tender, STORES 決済 terminal, cancellations
before and after shipping, refunds with negative payment fees, orders never shipped.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

JST = dt.timezone(dt.timedelta(hours=9))
SEED = 20250601
EC_ITEMS = [
    # (code, name, tax rate, price incl. tax)
    ("B01", "ブレンド豆 200g", 0.08, 1620),
    ("B02", "シングルオリジン豆 200g", 0.08, 2160),
    ("D01", "ドリップバッグ 10袋", 0.08, 1500),
    ("M01", "マグカップ", 0.1, 2750),
    ("K01", "コーヒーミル", 0.1, 6600),
]
COUNTER_ITEMS = [
    ("C01", "カフェラテ(店内)", 0.1, 550),
    ("C02", "ブレンド(テイクアウト)", 0.08, 440),
    ("B01", "ブレンド豆 200g", 0.08, 1620),
    ("S01", "焼き菓子(店内)", 0.1, 380),
]
STORE = {"id": "65a1c0ffee5a1e5c0ffee001", "name": "焙煎所 中目黒", "created_at": "2024-04-01T10:00:00+09:00"}
EC_TENDERS = [("credit_card", 55), ("paypay", 12), ("convenience_store_payment", 10), ("amazon_pay", 13),
              ("cash_on_delivery", 10)]
FEE_RATES = {"credit_card": 0.036, "paypay": 0.036, "convenience_store_payment": 0.036,
             "stores_terminal_credit_card": 0.0324}
SHIPPING_FEE = 600
FREE_SHIPPING_FROM = 5000
COD_FEE = 330
CONVENIENCE_SYSTEM_FEE = 165
GIFT_WRAPPING = 330
STORES_PAYOUT = {"credit_card", "paypay", "convenience_store_payment"}


def _stamp(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(JST).isoformat(timespec="seconds") if moment else None


def _tax(amount: int, rate: float) -> int:
    percent = round(rate * 100)
    return amount * percent // (100 + percent)


@dataclass
class Payment:
    tender: str
    amount: int
    paid_at: dt.datetime | None
    deposit: int | None = None
    method_name: str | None = None

    @property
    def fee(self) -> int:
        return math.ceil(self.amount * FEE_RATES.get(self.tender, 0))


@dataclass
class Order:
    order_id: str
    number: str
    channel: str                      # "ec" or the STORES レジ store's id
    ordered_at: dt.datetime
    lines: list[tuple]                # (code, name, rate, price, quantity, item discount)
    payments: list[Payment]
    delivery: str                     # shipping | counter
    options: list[dict] = field(default_factory=list)   # order-level: coupons, gift wrapping
    shipping_fee: int = 0
    cod_fee: int = 0
    shipped_at: dt.datetime | None = None
    canceled_at: dt.datetime | None = None
    stores_coupon: int = 0            # the part of the discounts STORES pays back

    def rate_amounts(self) -> dict[float, tuple[int, int]]:
        """Per tax rate: (sales_amount, sales_discount), order-level discounts on the largest rate."""
        amounts: dict[float, list[int]] = {}
        for _, _, rate, price, quantity, discount in self.lines:
            bucket = amounts.setdefault(rate, [0, 0])
            bucket[0] += price * quantity - discount
            bucket[1] += discount
        extras = self.shipping_fee + self.cod_fee + sum(o["price"] for o in self.options if o["price"] > 0)
        if extras:
            amounts.setdefault(0.1, [0, 0])[0] += extras
        for option in self.options:
            if option["price"] < 0:
                largest = max(amounts, key=lambda r: amounts[r][0])
                amounts[largest][0] += option["price"]
                amounts[largest][1] -= option["price"]
        return {rate: (a, d) for rate, (a, d) in sorted(amounts.items(), reverse=True)}

    @property
    def total(self) -> int:
        return sum(a for a, _ in self.rate_amounts().values())

    def snapshot(self, as_of: dt.datetime) -> dict | None:
        """The order as the API showed it at ``as_of`` (None before it was placed)."""
        if self.ordered_at > as_of:
            return None
        shipped = self.shipped_at if self.shipped_at and self.shipped_at <= as_of else None
        canceled = self.canceled_at if self.canceled_at and self.canceled_at <= as_of else None
        rates = self.rate_amounts()
        details = []
        for rate, (amount, discount) in rates.items():
            tax = _tax(amount, rate)
            details.append({"tax_class": "taxable", "tax_rate": rate, "sales_tax": tax,
                            "cancel_tax": tax if canceled else 0, "sales_amount": amount,
                            "sales_discount": discount, "cancel_amount": amount if canceled else 0,
                            "cancel_discount": discount if canceled else 0})
        transactions = []
        for index, payment in enumerate(self.payments):
            paid = payment.paid_at if payment.paid_at and payment.paid_at <= as_of else None
            transactions.append(self._transaction(f"{self.order_id[:-2]}{index:02d}", payment, payment.amount, paid))
            if canceled and (paid or payment.tender == "cash_on_delivery" and shipped):
                refund = self._transaction(f"{self.order_id[:-2]}{index + 50:02d}", payment, -payment.amount, canceled)
                refund.pop("payment_method_name", None)
                transactions.append(refund)
        sales = sum(d["sales_amount"] for d in details)
        system_fee = sum(CONVENIENCE_SYSTEM_FEE for p in self.payments if p.tender == "convenience_store_payment")
        items = [{"id": f"{self.order_id[:-4]}{i:02d}it", "type": "regular", "name": name, "item_id": f"item{code}",
                  "variation_id": None, "variation_name": "", "code": code, "barcode": None, "tax_rate": rate,
                  "regular_price": price, "quantity": quantity,
                  "option": ([{"id": f"{self.order_id[:-4]}{i:02d}op", "name": "10%割引", "price": -discount,
                               "quantity": 1}] if discount else [])}
                 for i, (code, name, rate, price, quantity, discount) in enumerate(self.lines)]
        delivery = {"id": f"{self.order_id[:-2]}dl", "type": self.delivery, "items": items,
                    "canceled_at": _stamp(canceled), "shipped_at": _stamp(shipped)}
        if self.delivery == "shipping":
            delivery |= {"shipping_fee": {"tax_class": "taxable", "tax_rate": 0.1, "amount": self.shipping_fee},
                         "delivery_method_name": "宅急便", "tracking_number": None}
        ready = all(t["paid_at"] for t in transactions if t["amount"] > 0 and t["type"] != "cash_on_delivery")
        return {
            "id": self.order_id, "number": self.number, "email": None, "sales_channel_id": self.channel,
            "sales_amount": sales, "sales_discount": sum(d["sales_discount"] for d in details),
            "cancel_amount": sales if canceled else 0,
            "cancel_discount": sum(d["sales_discount"] for d in details) if canceled else 0,
            "sales_tax": sum(d["sales_tax"] for d in details),
            "cancel_tax": sum(d["sales_tax"] for d in details) if canceled else 0,
            "tax_details": details,
            "payment_amount": 0 if canceled else sales + system_fee,
            "payment_tax": 0 if canceled else sum(d["sales_tax"] for d in details),
            "transactions": transactions,
            "deliveries": [delivery],
            "option": self.options,
            "note": "", "remarks": "", "receipt_address": None,
            "ordered_at": _stamp(self.ordered_at),
            "readied_at": None if canceled or not ready else _stamp(self.payments[0].paid_at or self.ordered_at),
            "billing_address": None,
        }

    def _transaction(self, tx_id: str, payment: Payment, amount: int, paid_at: dt.datetime | None) -> dict:
        fee = payment.fee if amount > 0 else -payment.fee
        tx = {"id": tx_id, "type": payment.tender,
              "sales_channel_id": None if self.channel == "ec" else self.channel,
              "amount": amount, "deposit": payment.deposit if payment.deposit and amount > 0 else amount,
              "change": (payment.deposit - amount) if payment.deposit and amount > 0 else 0,
              "payment_fee": fee if paid_at or payment.tender == "cash_on_delivery" else 0,
              "payment_fee_rate": FEE_RATES.get(payment.tender, 0),
              "fee": ({"tax_class": "taxable", "tax_rate": 0.1, "amount": self.cod_fee}
                      if payment.tender == "cash_on_delivery" else None),
              "system_fee": ({"tax_class": "taxable", "tax_rate": 0.1, "amount": CONVENIENCE_SYSTEM_FEE}
                             if payment.tender == "convenience_store_payment" else None)}
        if payment.tender != "cash_on_delivery":
            tx["paid_at"] = _stamp(paid_at)
        if payment.method_name:
            tx["payment_method_name"] = payment.method_name
        return tx


def _hex(rng: random.Random, length: int = 24) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def _moment(day: dt.date, rng: random.Random, first_hour: int, last_hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(first_hour, last_hour), rng.randint(0, 59),
                                            rng.randint(0, 59)), JST)


def _lines(rng: random.Random, catalogue: list[tuple], most: int) -> list[tuple]:
    chosen = rng.sample(catalogue, rng.randint(1, most))
    lines = []
    for code, name, rate, price in chosen:
        quantity = rng.choice([1, 1, 1, 2])
        discount = (price * quantity) // 10 if rng.random() < 0.1 else 0
        lines.append((code, name, rate, price, quantity, discount))
    return lines


def _ec_order(rng: random.Random, day: dt.date, numbers: set[str], stores_coupon: bool = False,
              free_shipping: bool = False) -> Order:
    ordered = _moment(day, rng, 7, 23)
    tender = rng.choices([t for t, _ in EC_TENDERS], weights=[w for _, w in EC_TENDERS])[0]
    lines = [(*EC_ITEMS[0], 1, 0)] if free_shipping else _lines(rng, EC_ITEMS, 3)
    goods = sum(price * quantity - discount for *_, price, quantity, discount in lines)
    options = []
    if stores_coupon:
        options.append({"id": _hex(rng), "type": "coupon_discount", "name": "STORES負担クーポン", "price": -500})
    elif rng.random() < 0.08:
        options.append({"id": _hex(rng), "type": "coupon_discount", "name": "初回300円引き", "price": -300})
    if rng.random() < 0.08:
        options.append({"id": _hex(rng), "type": "gift_wrapping", "name": "ギフトラッピング", "price": GIFT_WRAPPING})
    shipping = 0 if goods >= FREE_SHIPPING_FROM else SHIPPING_FEE
    if shipping and (free_shipping or rng.random() < 0.05):
        options.append({"id": _hex(rng), "type": "coupon_discount", "name": "送料無料クーポン", "price": -shipping})
    order = Order(_hex(rng), _number(rng, numbers), "ec", ordered, lines, [], "shipping", options, shipping,
                  COD_FEE if tender == "cash_on_delivery" else 0, stores_coupon=500 if stores_coupon else 0)
    if tender == "convenience_store_payment":
        paid = ordered + dt.timedelta(hours=rng.randint(2, 40)) if rng.random() < 0.85 else None
    elif tender == "cash_on_delivery":
        paid = None
    else:
        paid = ordered + dt.timedelta(seconds=rng.randint(1, 30))
    order.payments = [Payment(tender, order.total, paid)]
    ready = paid or (ordered if tender == "cash_on_delivery" else None)
    if ready and rng.random() < 0.93:
        ship_day = ready.date() + dt.timedelta(days=rng.randint(1, 3))
        order.shipped_at = dt.datetime.combine(ship_day, dt.time(16, rng.randint(0, 59)), JST)
    roll = rng.random()
    if roll < 0.04:  # cancelled before shipping (an unpaid order simply lapses)
        order.canceled_at = ordered + dt.timedelta(hours=rng.randint(1, 20))
        order.shipped_at = None
    elif roll < 0.07 and order.shipped_at:  # returned and refunded after shipping
        order.canceled_at = order.shipped_at + dt.timedelta(days=rng.randint(2, 6), hours=1)
    return order


def _counter_order(rng: random.Random, day: dt.date, numbers: set[str]) -> Order:
    ordered = _moment(day, rng, 10, 18)
    paid = ordered + dt.timedelta(minutes=rng.randint(1, 4))
    lines = _lines(rng, COUNTER_ITEMS, 3)
    order = Order(_hex(rng), _number(rng, numbers), STORE["id"], ordered, lines, [], "counter")
    total = order.total
    roll = rng.random()
    if roll < 0.55:
        order.payments = [Payment("cash", total, paid, deposit=-(-total // 1000) * 1000)]
    elif roll < 0.85:
        order.payments = [Payment("stores_terminal_credit_card", total, paid)]
    else:
        voucher = min(500, total)
        order.payments = [Payment("custom", voucher, paid, method_name="商品券")]
        if total > voucher:
            order.payments.append(Payment("cash", total - voucher, paid + dt.timedelta(seconds=20),
                                          deposit=-(-(total - voucher) // 1000) * 1000))
    order.shipped_at = paid + dt.timedelta(minutes=2)
    if rng.random() < 0.03:
        order.canceled_at = order.shipped_at + dt.timedelta(minutes=rng.randint(5, 90))
    return order


def _number(rng: random.Random, numbers: set[str]) -> str:
    while True:
        number = f"{rng.randint(0, 9_999_999_999):010d}"
        if number not in numbers:
            numbers.add(number)
            return number


def generate_orders(seed: int, start: dt.date, days: int, orders_per_day: int = 3,
                    counter_per_day: tuple[int, int] = (1, 2)) -> list[Order]:
    rng = random.Random(seed)
    numbers: set[str] = set()
    orders = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        for i in range(orders_per_day):
            orders.append(_ec_order(rng, day, numbers, stores_coupon=offset == 2 and i == 0,
                                    free_shipping=offset == 4 and i == 1))
        for _ in range(rng.randint(*counter_per_day)):
            orders.append(_counter_order(rng, day, numbers))
    orders.sort(key=lambda o: o.ordered_at)
    return orders


def _payouts(orders: list[Order], start: dt.date, days: int) -> list[tuple[dict, list[str]]]:
    """Weekly スピードキャッシュ payouts six days after each week: STORES-settled orders paid that week."""
    payouts = []
    for week_start in range(0, days - 7, 7):
        first = start + dt.timedelta(days=week_start)
        last = first + dt.timedelta(days=6)
        transferred = last + dt.timedelta(days=6)
        paid = [o for o in orders if o.channel == "ec" and o.canceled_at is None
                and o.payments[0].tender in STORES_PAYOUT and o.payments[0].paid_at
                and first <= o.payments[0].paid_at.date() <= last]
        if not paid:
            continue
        sales = sum(o.total for o in paid)
        payment_fee = sum(p.fee for o in paid for p in o.payments)
        transfer_fee = 275
        speedcash_fee = math.ceil(sales * 0.035)
        coupon = sum(o.stores_coupon for o in paid)
        payout_id = f"{transferred:%Y%m%d}{week_start:04d}c0ffee00000000"
        remittance = {
            "id": payout_id, "transferred_date": transferred.isoformat(),
            "transfer_amount": sales - payment_fee - transfer_fee - speedcash_fee,
            "transfer_fee": transfer_fee, "sales_amount": sales, "payment_fee": payment_fee,
            "speedcash_payment_fee": speedcash_fee, "used_speedcash": True, "chargeback_amount": 0,
            "deduction_amount": 0, "campaign_coupon_fee": coupon,
            "fee_detail": {
                "total_amount": transfer_fee + payment_fee + speedcash_fee,
                "total_amount_including_tax": transfer_fee + speedcash_fee,
                "total_tax_amount": _tax(transfer_fee + speedcash_fee, 0.1),
                "transfer_fee": transfer_fee, "payment_fee": payment_fee, "speedcash_payment_fee": speedcash_fee,
                "chargeback_amount": 0, "taxable_deduction_amount": 0, "non_taxable_deduction_amount": 0,
            },
        }
        payouts.append((remittance, [o.order_id for o in paid]))
    return payouts


def _write(path: Path, body: dict) -> Path:
    path.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return path


def write_sample(inbox: Path, seed: int = SEED, start: dt.date = dt.date(2025, 6, 1), days: int = 21,
                 orders_per_day: int = 3) -> list[Path]:
    """Write the sample under ``inbox`` (``$ACCTSYNC_HOME/inbox/stores``); returns the files written."""
    inbox.mkdir(parents=True, exist_ok=True)
    orders = generate_orders(seed, start, days, orders_per_day)
    written = []
    # A weekly fetch the morning after each week (and after the last day): orders placed in the
    # ten days before it, as they stood then.
    fetches = sorted({start + dt.timedelta(days=d) for d in range(7, days + 1, 7)} | {start + dt.timedelta(days=days)})
    for fetch_day in fetches:
        as_of = dt.datetime.combine(fetch_day, dt.time(6, 0), JST)
        window_start = as_of - dt.timedelta(days=10)
        listed = [s for o in orders if o.ordered_at >= window_start and (s := o.snapshot(as_of))]
        written.append(_write(inbox / f"orders_{fetch_day:%Y%m%d}.json", {"orders": listed}))
    payouts = _payouts(orders, start, days)
    if payouts:
        written.append(_write(inbox / f"remittances_{start:%Y%m%d}.json",
                              {"remittances": sorted((r for r, _ in payouts),
                                                     key=lambda r: r["transferred_date"], reverse=True)}))
        for remittance, order_ids in payouts:
            written.append(_write(inbox / f"remittance_{remittance['id']}_order_ids.json",
                                  {"remittance_id": remittance["id"], "order_ids": order_ids}))
    written.append(_write(inbox / "sales_channels.json", {"sales_channels": [STORE]}))
    return written
