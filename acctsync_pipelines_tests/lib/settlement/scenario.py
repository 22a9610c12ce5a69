"""Building blocks for the settlement tests: USEN days with exact tenders, bank exports, rules."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from acctsync_pipelines.lib.sample.usen_reji import StoreDay, write_bundle
from acctsync_pipelines_tests.lib.usen_reji.bundles import slip

CARD = "【POS Reg】クレジット"
EMONEY = "【POS Reg】電子マネー"
TAB = "【POS Reg】売掛"
HEADER = ["日付", "摘要", "お預入れ", "お引出し", "残高"]


def sales_day(home, day: dt.date, tenders: dict[str, int], store: str = "0001", cash: int = 1100) -> StoreDay:
    """A closed USEN store-day: one cash slip and one slip per non-cash tender (支払区分 → amount), at 10%."""
    sd = StoreDay(store, f"店{store}", day)
    sd.slips = [slip(f"C{day:%d}{store}", day, [(10, cash)], [("現金", cash)])]
    for n, (tender, amount) in enumerate(tenders.items(), 1):
        sd.slips.append(slip(f"N{day:%d}{store}{n}", day, [(10, amount)], [(tender, amount)]))
    write_bundle(home.inbox("usen_reji"), sd, 1)
    return sd


def write_statement(home, name: str, rows: list[tuple], header: list[str] = HEADER, encoding: str = "cp932",
                    preamble: list[list[str]] = ()) -> Path:
    """A bank export: optional lines above the header, then one row per line (values as the bank prints them)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(preamble)
    writer.writerow(header)
    writer.writerows(rows)
    path = home.root / "inbox" / "bank" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def deposit(day: dt.date, payer: str, amount: int, balance: int = 1_000_000) -> tuple:
    return (f"{day:%Y/%m/%d}", payer, f"{amount:,}", "", f"{balance:,}")


def card_rule(**overrides) -> dict:
    rule = {"name": "card", "sub_accounts": [CARD], "payer": ["ｶ)ｶｰﾄﾞｼｭｳﾉｳ"], "cycle": {"days_after": 2},
            "window_days": 1, "grace_days": 3}
    return rule | overrides


def configure(home, *rules: dict, **settlement) -> None:
    home.configure({"settlement": {"start_date": "2025-06-01", "rules": list(rules), **settlement}})


def settle(home, start: str | dt.date, end: str | dt.date | None = None):
    return home.materialize("settlement", start, end)


def entry_lines(home, day: str | dt.date) -> list[tuple]:
    return home.query(
        """SELECT side, account, sub_account, department, tax_category, amount
           FROM ledger.journal_lines WHERE source = 'settlement' AND business_date = ? AND status <> 'reversed'
           ORDER BY entry_id, line_no""", [str(day)])


def matches(home) -> list[tuple]:
    return home.query(
        """SELECT value_date, amount, status, match_kind, rule, fee, first_cycle_date, last_cycle_date
           FROM ledger.deposit_matches ORDER BY value_date, source_file, source_row""")
