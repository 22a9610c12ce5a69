"""USEN Reji close bundles for a café: split tenders, 8% take-out, cancellations, re-closes, 入出金."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field
from pathlib import Path

MENU = [
    # (code, name, category, price incl. tax when eaten in, take-out allowed)
    ("C001", "ブレンドコーヒー", "ドリンク", 480, True),
    ("C002", "カフェラテ", "ドリンク", 550, True),
    ("C003", "抹茶ラテ", "ドリンク", 600, True),
    ("C004", "アイスティー", "ドリンク", 450, True),
    ("F001", "クロワッサン", "フード", 320, True),
    ("F002", "サンドイッチ", "フード", 680, True),
    ("F003", "チーズケーキ", "フード", 520, True),
    ("F004", "ナポリタン", "フード", 980, False),
    ("G001", "コーヒー豆 200g", "物販", 1620, True),
    ("G002", "ドリップバッグ 5袋", "物販", 864, True),
]
STORES = [("0001", "渋谷本店"), ("0002", "駅前店")]
SLIP_HEADER = ["伝票番号", "伝票区分", "元伝票番号", "発行日時", "明細番号", "商品コード", "商品名", "商品カテゴリ",
               "税率", "単価", "数量", "値引額", "金額"]
PAY_HEADER = ["伝票番号", "支払区分", "支払名称", "金額", "預り金額", "釣銭"]
MOVE_HEADER = ["入出金番号", "日時", "区分", "理由", "金額", "摘要"]
CLOSE_HEADER = ["店舗コード", "店舗名", "営業日", "締め回数", "締め日時", "釣銭準備金", "理論現金在高", "実現金在高"]
FLOAT = 30000
NON_CASH = [("クレジット", "VISA"), ("クレジット", "JCB"), ("電子マネー", "交通系IC"), ("QR", "PayPay"), ("QR", "楽天ペイ")]


@dataclass
class Slip:
    no: str
    kind: str
    original: str
    issued: dt.datetime
    lines: list[list]          # [code, name, category, rate, unit, qty, discount, amount]
    payments: list[list]       # [tender, name, amount, tendered, change]

    @property
    def total(self) -> int:
        return sum(line[7] for line in self.lines)


@dataclass
class StoreDay:
    store_code: str
    store_name: str
    day: dt.date
    slips: list[Slip] = field(default_factory=list)
    movements: list[list] = field(default_factory=list)
    over_short: int = 0

    def cash_total(self) -> int:
        return sum(p[2] for s in self.slips for p in s.payments if p[0] == "現金")


def _taxed_price(price: int, rate: int) -> int:
    # Menu prices are eat-in (10%); take-out keeps the same tax-exclusive price at 8%.
    return price if rate == 10 else (price * 108 + 55) // 110


def _cash_payment(amount: int) -> list:
    tendered = amount if amount <= 0 else -(-amount // 1000) * 1000
    return ["現金", "", amount, tendered if amount > 0 else "", tendered - amount if amount > 0 else ""]


def _make_slip(rng: random.Random, store: str, day: dt.date, seq: int, at: dt.datetime) -> Slip:
    takeout = rng.random() < 0.3
    mixed = rng.random() < 0.08
    lines = []
    for line_no in range(1, rng.randint(1, 4) + 1):
        code, name, category, price, takeout_ok = rng.choice(MENU)
        rate = 8 if ((takeout or (mixed and line_no > 1)) and takeout_ok and category != "物販") else 10
        unit = _taxed_price(price, rate)
        qty = rng.choice([1, 1, 1, 2])
        discount = 50 * qty if rng.random() < 0.05 else 0
        lines.append([code, name, category, rate, unit, qty, discount, unit * qty - discount])
    total = sum(line[7] for line in lines)
    roll = rng.random()
    if roll < 0.5:
        payments = [_cash_payment(total)]
    elif roll < 0.92:
        tender, brand = rng.choice(NON_CASH)
        payments = [[tender, brand, total, "", ""]]
    else:
        voucher = min(1000, total)
        payments = [["商品券", "自社商品券", voucher, "", ""]]
        if total - voucher:
            payments.append(_cash_payment(total - voucher))
    return Slip(f"{day:%y%m%d}{store[-1]}{seq:04d}", "通常", "", at, lines, payments)


def _reverse(slip: Slip, no: str, at: dt.datetime) -> Slip:
    lines = [[*line[:5], -line[5], line[6], -line[7]] for line in slip.lines]
    payments = [[p[0], p[1], -p[2], "", ""] for p in slip.payments]
    return Slip(no, "取消", slip.no, at, lines, payments)


def generate_days(seed: int, start: dt.date, days: int, stores=STORES, slips_per_day=(15, 25)) -> list[StoreDay]:
    rng = random.Random(seed)
    result: list[StoreDay] = []
    previous: dict[str, StoreDay] = {}
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        for code, name in stores:
            sd = StoreDay(code, name, day)
            opening = dt.datetime.combine(day, dt.time(8, 0))
            count = rng.randint(*slips_per_day)
            for i in range(1, count + 1):
                at = opening + dt.timedelta(minutes=int(i * 720 / count))
                sd.slips.append(_make_slip(rng, code, day, i, at))
            seq = count
            # A same-day cancellation, sometimes with a corrected re-issue (訂正).
            if rng.random() < 0.5:
                target = rng.choice([s for s in sd.slips if s.kind == "通常"])
                seq += 1
                at = target.issued + dt.timedelta(minutes=5)
                sd.slips.append(_reverse(target, f"{day:%y%m%d}{code[-1]}{seq:04d}", at))
                if rng.random() < 0.5:
                    seq += 1
                    fixed = Slip(f"{day:%y%m%d}{code[-1]}{seq:04d}", "訂正", target.no, at, [l[:] for l in target.lines[:1]], [])
                    fixed.payments = [_cash_payment(fixed.total)]
                    sd.slips.append(fixed)
            # Now and then, a cancellation of yesterday's slip (books today).
            if code in previous and rng.random() < 0.25:
                target = rng.choice([s for s in previous[code].slips if s.kind == "通常"])
                seq += 1
                sd.slips.append(_reverse(target, f"{day:%y%m%d}{code[-1]}{seq:04d}", opening + dt.timedelta(minutes=30)))
            # 入出金
            move_no = 0
            for direction, reason, amount, memo, chance in [
                ("出金", "交通費", 420, "配達 電車代", 0.2),
                ("出金", "仕入代金", 3240, "牛乳 近所のスーパー", 0.3),
                ("入金", "釣銭補充", 10000, "", 0.1),
                ("出金", "銀行預入", 50000, "", 0.15),
                ("出金", "花代", 2200, "店内装飾", 0.05),
            ]:
                if rng.random() < chance:
                    move_no += 1
                    when = opening + dt.timedelta(hours=rng.randint(1, 10))
                    sd.movements.append([f"{move_no:03d}", when, direction, reason, amount, memo])
            sd.over_short = rng.choice([0] * 8 + [-100, 50, -10])
            previous[code] = sd
            result.append(sd)
    # One forced cross-day cancellation so even a short sample shows it.
    if days >= 2:
        first = next(sd for sd in result if sd.day == start)
        second = next(sd for sd in result if sd.day == start + dt.timedelta(days=1) and sd.store_code == first.store_code)
        target = next(s for s in first.slips if s.kind == "通常")
        if not any(s.original == target.no for s in second.slips):
            second.slips.append(_reverse(target, f"{second.day:%y%m%d}{second.store_code[-1]}9001",
                                         dt.datetime.combine(second.day, dt.time(9, 15))))
    return result


def _csv_bytes(header: list[str], rows: list[list], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    return ("\ufeff" + text).encode("utf-8") if encoding == "utf-8-sig" else text.encode(encoding)


def write_bundle(inbox: Path, sd: StoreDay, close_seq: int, encoding: str = "cp932") -> Path:
    folder = inbox / f"{sd.store_code}_{sd.day:%Y%m%d}_{close_seq}"
    folder.mkdir(parents=True, exist_ok=True)
    slip_rows, pay_rows = [], []
    for slip in sd.slips:
        for n, (code, name, category, rate, unit, qty, discount, amount) in enumerate(slip.lines, 1):
            slip_rows.append([slip.no, slip.kind, slip.original, f"{slip.issued:%Y-%m-%d %H:%M:%S}", n, code, name,
                              category, rate, unit, qty, discount, amount])
        for tender, name, amount, tendered, change in slip.payments:
            pay_rows.append([slip.no, tender, name, amount, tendered, change])
    moves = [[no, f"{when:%Y-%m-%d %H:%M:%S}", d, r, a, m] for no, when, d, r, a, m in sd.movements]
    net_moves = sum(a if d == "入金" else -a for _, _, d, _, a, _ in sd.movements)
    expected = FLOAT + sd.cash_total() + net_moves
    closed_at = dt.datetime.combine(sd.day + dt.timedelta(days=1), dt.time(0, 30 + close_seq))
    close = [[sd.store_code, sd.store_name, f"{sd.day:%Y-%m-%d}" if close_seq % 2 else f"{sd.day:%Y/%m/%d}", close_seq,
              f"{closed_at:%Y-%m-%d %H:%M:%S}", FLOAT, expected, expected + sd.over_short]]
    (folder / "slips.csv").write_bytes(_csv_bytes(SLIP_HEADER, slip_rows, encoding))
    (folder / "payments.csv").write_bytes(_csv_bytes(PAY_HEADER, pay_rows, encoding))
    (folder / "cash_movements.csv").write_bytes(_csv_bytes(MOVE_HEADER, moves, encoding))
    # close.csv last: its presence says the bundle is complete.
    (folder / "close.csv").write_bytes(_csv_bytes(CLOSE_HEADER, close, encoding))
    return folder


def write_sample(inbox: Path, seed: int = 20250601, start: dt.date = dt.date(2025, 6, 1), days: int = 21,
                 stores=STORES, slips_per_day=(15, 25)) -> list[StoreDay]:
    """Write the sample inbox. One store-day gets a re-close: close 1 without its late slips, close 2 with them."""
    store_days = generate_days(seed, start, days, stores, slips_per_day)
    reclosed = store_days[len(store_days) // 2] if days >= 3 else None
    for index, sd in enumerate(store_days):
        encoding = "utf-8-sig" if index % 7 == 3 else "cp932"
        if sd is reclosed:
            # close 1 lacks the last two slips, which close 2 (the re-close) adds
            early = StoreDay(sd.store_code, sd.store_name, sd.day, sd.slips[:-2], sd.movements, sd.over_short)
            write_bundle(inbox, early, 1, encoding)
            write_bundle(inbox, sd, 2, encoding)
        else:
            write_bundle(inbox, sd, 1, encoding)
    return store_days
