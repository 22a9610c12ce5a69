"""Hand-built USEN close bundles with exact amounts, written in the spec's layout."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from acctsync_pipelines.lib.sample.usen_reji import Slip, StoreDay, write_bundle

DAY1 = dt.date(2025, 6, 2)
DAY2 = dt.date(2025, 6, 3)


def slip(no: str, day: dt.date, lines: list[tuple[int, int]], payments: list[tuple[str, int]], kind: str = "通常",
         original: str = "") -> Slip:
    """lines: (tax rate, amount); payments: (支払区分, amount)."""
    at = dt.datetime.combine(day, dt.time(12, 0))
    slip_lines = [["P1", "商品", "フード", rate, amount, 1 if amount >= 0 else -1, 0, amount] for rate, amount in lines]
    pays = [[tender, "", amount, "", ""] for tender, amount in payments]
    return Slip(no, kind, original, at, slip_lines, pays)


def event_day(day: dt.date = DAY1) -> StoreDay:
    """Every USEN event on one store-day (see test_booking.py for the expected journal)."""
    sd = StoreDay("0001", "渋谷本店", day)
    sd.slips = [
        slip("A", day, [(10, 1100)], [("現金", 1100)]),
        slip("B", day, [(8, 1080)], [("クレジット", 1080)]),
        slip("C", day, [(10, 1100), (8, 550)], [("商品券", 1000), ("現金", 650)]),
        slip("D", day, [(10, -1100)], [("現金", -1100)], kind="取消", original="A"),
    ]
    sd.movements = [
        ["001", dt.datetime.combine(day, dt.time(9)), "入金", "釣銭補充", 10000, ""],
        ["002", dt.datetime.combine(day, dt.time(10)), "出金", "交通費", 420, "配達"],
        ["003", dt.datetime.combine(day, dt.time(11)), "出金", "花代", 2200, "装飾"],
    ]
    sd.over_short = -100
    return sd


def write(inbox: Path, sd: StoreDay, close_seq: int = 1, encoding: str = "cp932") -> Path:
    return write_bundle(inbox, sd, close_seq, encoding)


def simple_day(day: dt.date, store: str = "0001", cash: int = 1100) -> StoreDay:
    sd = StoreDay(store, f"店{store}", day)
    sd.slips = [slip(f"S{day:%d}", day, [(10, cash)], [("現金", cash)])]
    return sd
