"""USEN store-days with chosen 入出金, for review-queue tests (written in the close bundle layout)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from acctsync_pipelines.lib.sample.usen_reji import Slip, StoreDay, write_bundle

DAY1 = dt.date(2025, 6, 2)
DAY2 = dt.date(2025, 6, 3)


def cash_entry(day: dt.date, movement_no: str = "001", store: str = "0001") -> str:
    return f"usen_reji:{store}:{day:%Y-%m-%d}:cash:{movement_no}"


def write_day(inbox: Path, day: dt.date, movements: list[tuple[str, str, int]], close_seq: int = 1,
              tender: str = "現金") -> Path:
    """One store-day: a 1,100 yen sale paid by ``tender`` and the movements (direction, reason, amount),
    numbered 001, 002, … in order."""
    noon = dt.datetime.combine(day, dt.time(12))
    sd = StoreDay("0001", "渋谷本店", day)
    sd.slips = [Slip(f"S{day:%d}", "通常", "", noon, [["P1", "ブレンドコーヒー", "ドリンク", 10, 1100, 1, 0, 1100]],
                     [[tender, "", 1100, "", ""]])]
    sd.movements = [[f"{n:03d}", noon, direction, reason, amount, "メモ"]
                    for n, (direction, reason, amount) in enumerate(movements, start=1)]
    return write_bundle(inbox, sd, close_seq)


def journal(home, entry_id: str) -> list[tuple]:
    """(line_no, side, account, sub_account, tax_category, amount, tax_amount, rule, status) of one entry."""
    return home.query(
        """SELECT line_no, side, account, sub_account, tax_category, amount, tax_amount, rule, status
           FROM ledger.journal_lines WHERE entry_id = ? AND status <> 'reversed' ORDER BY line_no""",
        [entry_id],
    )


def postings(home, entry_id: str) -> list[tuple]:
    return home.query(
        "SELECT action, action_seq FROM ledger.postings WHERE entry_id = ? ORDER BY action_seq", [entry_id]
    )


def warehouse_state(home) -> dict[str, list[tuple]]:
    """Everything a review command may change, to assert that a refused one changed nothing."""
    tables = ["ledger.journal_entry_lines", "ledger.review_approvals", "ledger.review_overrides",
              "ledger.learned_rules", "ledger.postings"]
    return {table: home.query(f"SELECT * FROM {table} ORDER BY ALL") for table in tables}
