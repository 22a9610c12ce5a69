"""The café's bank statement for the sample weeks, as internet banking exports it (CP932, CRLF, lines
above the header): deposits that pay the USEN and STORES sample's receivables, and a few others.

What the statement shows (the settlement rules that go with it are in ``demo_config.yaml``):
- card: each sale day's card total (both stores) five days later, less a 3.24% fee; one deposit
  3 yen short of that (within the rule's tolerance);
- e-money: one deposit a week for the previous week's sale days, exactly (its fee is billed monthly);
- QR: each sale day two days later, less 1.98%, until the payer stops paying (sales never paid);
- what sources booked themselves: STORES remittances (and a STORES-paid coupon), the registers' 銀行預入;
- a transfer from a customer that pays no sale, cash withdrawals for change and a utility bill.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path

from acctsync_pipelines.lib.sample import stores as stores_sample
from acctsync_pipelines.lib.sample import usen_reji as usen_sample

HEADER = ["日付", "摘要", "お預入れ", "お引出し", "残高"]
OPENING_BALANCE = 1_234_567
CARD_PAYER, EMONEY_PAYER, QR_PAYER = "ﾌﾘｺﾐ ｶ)ｻﾝﾌﾟﾙｶｰﾄﾞｻｰﾋﾞｽ", "ﾌﾘｺﾐ ｶ)ｻﾝﾌﾟﾙｺｳﾂｳﾍﾟｲ", "ﾌﾘｺﾐ ｻﾝﾌﾟﾙQRｹｯｻｲ(ｶ"
CARD_DAYS_AFTER, CARD_FEE = 5, 0.0324
QR_DAYS_AFTER, QR_FEE, QR_LAST_PAID_SALE_DAY = 2, 0.0198, 10   # QR sale days after the 10th are never paid


def _tender_totals(start: dt.date, days: int) -> Counter:
    """(支払区分, sale day) → what the registers took in it, both stores (the USEN sample's slips)."""
    totals: Counter = Counter()
    for store_day in usen_sample.generate_days(20250601, start, days):
        for slip in store_day.slips:
            for tender, _name, amount, _tendered, _change in slip.payments:
                totals[(tender, store_day.day)] += amount
    return totals


def _less_fee(gross: int, rate: float) -> int:
    return gross - round(gross * rate)


def statement_lines(start: dt.date, days: int) -> list[tuple[dt.date, str, int, int]]:
    """(value date, description, deposit, withdrawal) in statement order, within the sample's days."""
    end = start + dt.timedelta(days=days - 1)
    totals = _tender_totals(start, days)
    lines: list[tuple[dt.date, str, int, int]] = []

    def sale_days(last: dt.date):
        return [start + dt.timedelta(days=i) for i in range((last - start).days + 1)]

    for n, sale_day in enumerate(sale_days(end - dt.timedelta(days=CARD_DAYS_AFTER))):
        gross = totals[("クレジット", sale_day)]
        # the acquirer rounded one day's fee differently: 3 yen less arrives
        short = 3 if n == 8 else 0
        lines.append((sale_day + dt.timedelta(days=CARD_DAYS_AFTER), CARD_PAYER, _less_fee(gross, CARD_FEE) - short, 0))
    week = 7
    for week_start in range(0, days - week, week):
        paid_days = [start + dt.timedelta(days=week_start + i) for i in range(week)]
        gross = sum(totals[("電子マネー", d)] for d in paid_days)
        lines.append((paid_days[-1] + dt.timedelta(days=3), EMONEY_PAYER, gross, 0))
    for sale_day in sale_days(start + dt.timedelta(days=QR_LAST_PAID_SALE_DAY - 1)):
        gross = totals[("QR", sale_day)]
        if gross:
            lines.append((sale_day + dt.timedelta(days=QR_DAYS_AFTER), QR_PAYER, _less_fee(gross, QR_FEE), 0))

    orders = stores_sample.generate_orders(stores_sample.SEED, start, days)
    for remittance, _order_ids in stores_sample._payouts(orders, start, days):
        day = dt.date.fromisoformat(remittance["transferred_date"])
        lines.append((day, "ﾌﾘｺﾐ ｽﾄｱｰｽﾞ(ｶ", remittance["transfer_amount"], 0))
        if remittance["campaign_coupon_fee"]:
            lines.append((day, "ﾌﾘｺﾐ ｽﾄｱｰｽﾞ(ｶ ｸｰﾎﾟﾝ", remittance["campaign_coupon_fee"], 0))
    for store_day in usen_sample.generate_days(20250601, start, days):
        for _no, _when, direction, reason, amount, _memo in store_day.movements:
            if reason == "銀行預入":
                lines.append((store_day.day, f"ｹﾞﾝｷﾝ ｱｽﾞｹｲﾚ {store_day.store_name}", amount, 0))
            elif reason == "釣銭補充":
                lines.append((store_day.day, "ATM ﾋｷﾀﾞｼ", 0, amount))
    lines.append((start + dt.timedelta(days=17), "ﾌﾘｺﾐ ﾔﾏﾀﾞ ﾊﾅｺ", 27_500, 0))
    lines.append((start + dt.timedelta(days=19), "ｺｳｻﾞﾌﾘｶｴ ﾃﾞﾝｷﾘﾖｳｷﾝ", 0, 18_920))
    ordered = sorted((line for line in lines if start <= line[0] <= end), key=lambda line: (line[0], line[3] > 0))
    return ordered


def write_sample(inbox: Path, start: dt.date = dt.date(2025, 6, 1), days: int = 21) -> list[Path]:
    """Write ``inbox/statement_<first>_<last>.csv`` (``$ACCTSYNC_HOME/inbox/bank``); returns the file."""
    inbox.mkdir(parents=True, exist_ok=True)
    end = start + dt.timedelta(days=days - 1)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["口座", "サンプル銀行 渋谷支店 普通 1234567"])
    writer.writerow(["照会期間", f"{start:%Y/%m/%d}～{end:%Y/%m/%d}"])
    writer.writerow([])
    writer.writerow(HEADER)
    balance = OPENING_BALANCE
    for day, description, deposit, withdrawal in statement_lines(start, days):
        balance += deposit - withdrawal
        writer.writerow([f"{day:%Y/%m/%d}", description, f"{deposit:,}" if deposit else "",
                         f"{withdrawal:,}" if withdrawal else "", f"{balance:,}"])
    path = inbox / f"statement_{start:%Y%m%d}_{end:%Y%m%d}.csv"
    path.write_bytes(buffer.getvalue().encode("cp932"))
    return [path]
