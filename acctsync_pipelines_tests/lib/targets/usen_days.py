"""USEN store-days with exact amounts for the target tests (built with the sample writer)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from acctsync_pipelines.lib.sample.usen_reji import Slip, StoreDay, write_bundle

DAY = dt.date(2025, 6, 2)


def slip(no: str, day: dt.date, lines: list[tuple[int, int]], payments: list[tuple[str, int]]) -> Slip:
    """lines: (tax rate, amount); payments: (支払区分, amount)."""
    at = dt.datetime.combine(day, dt.time(12, 0))
    return Slip(no, "通常", "", at, [["P1", "商品", "フード", rate, amount, 1, 0, amount] for rate, amount in lines],
                [[tender, "", amount, "", ""] for tender, amount in payments])


def store_day(day: dt.date = DAY, late_slip: bool = False) -> StoreDay:
    """Cash and non-cash sales at 10% and 8%, a transport expense paid from the drawer, a deposit, a shortage.

    Daily summary: 現金 1100 + 2160 (+ 550 late), クレジット 3300 + 1080, 商品券 1000 at 10%.
    """
    sd = StoreDay("0001", "渋谷本店", day)
    sd.slips = [
        slip("A", day, [(10, 1100)], [("現金", 1100)]),
        slip("B", day, [(10, 3300), (8, 1080)], [("クレジット", 4380)]),
        slip("C", day, [(8, 2160)], [("現金", 2160)]),
        slip("D", day, [(10, 1000)], [("商品券", 1000)]),
    ]
    if late_slip:
        sd.slips.append(slip("E", day, [(10, 550)], [("現金", 550)]))
    sd.movements = [
        ["001", dt.datetime.combine(day, dt.time(10)), "出金", "交通費", 420, "配達"],
        ["002", dt.datetime.combine(day, dt.time(11)), "出金", "銀行預入", 3000, ""],
    ]
    sd.over_short = -100
    return sd


def write(inbox: Path, sd: StoreDay, close_seq: int = 1) -> Path:
    return write_bundle(inbox, sd, close_seq)
