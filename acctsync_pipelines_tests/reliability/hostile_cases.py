"""Broken and hostile USEN close bundles: each case turns a good bundle into a bad one.

``expect`` lists what the day's error must say, after the bundle folder: the file, the row, the column
(its header in the file) and the value.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from acctsync_pipelines.lib.sample.usen_reji import Slip, StoreDay
from acctsync_pipelines_tests.lib.usen_reji.bundles import event_day, slip, write
from acctsync_pipelines_tests.reliability.conftest import scale

BIG_FILE_LINES = scale(100_000, 1_000_000)


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Path, dt.date], None]
    expect: tuple[str, ...]
    build: Callable[[dt.date], StoreDay] = event_day


def edit(file: str, old: str, new: str, count: int = 1) -> Callable[[Path, dt.date], None]:
    def mutate(folder: Path, day: dt.date) -> None:
        path = folder / file
        text = path.read_bytes().decode("cp932")
        old_text, new_text = old.replace("DAY", f"{day:%Y-%m-%d}"), new.replace("DAY", f"{day:%Y-%m-%d}")
        assert old_text in text, (file, old_text)
        path.write_bytes(text.replace(old_text, new_text, count).encode("cp932"))
    return mutate


def raw(file: str, change: Callable[[bytes], bytes]) -> Callable[[Path, dt.date], None]:
    def mutate(folder: Path, day: dt.date) -> None:
        path = folder / file
        path.write_bytes(change(path.read_bytes()))
    return mutate


def reencode(file: str, encoding: str) -> Callable[[Path, dt.date], None]:
    return raw(file, lambda data: data.decode("cp932").encode(encoding))


def cut_before_last(marker: str, keep: int, chars: bool = False) -> Callable[[bytes], bytes]:
    """Truncate the file ``keep`` bytes (or characters) into the last occurrence of ``marker`` (cp932)."""
    def change(data: bytes) -> bytes:
        if chars:
            text = data.decode("cp932")
            return text[: text.rindex(marker) + keep].encode("cp932")
        at = data.rindex(marker.encode("cp932"))
        return data[: at + keep]
    return change


def drop_column(file: str, header: str) -> Callable[[Path, dt.date], None]:
    def mutate(folder: Path, day: dt.date) -> None:
        path = folder / file
        rows = [line.split(",") for line in path.read_bytes().decode("cp932").splitlines()]
        index = rows[0].index(header)
        path.write_bytes("".join(",".join(r[:index] + r[index + 1:]) + "\r\n" for r in rows).encode("cp932"))
    return mutate


def remove(file: str) -> Callable[[Path, dt.date], None]:
    return lambda folder, day: (folder / file).unlink()


def replace_with_directory(file: str) -> Callable[[Path, dt.date], None]:
    def mutate(folder: Path, day: dt.date) -> None:
        (folder / file).unlink()
        (folder / file).mkdir()
    return mutate


def symlink_outside(file: str) -> Callable[[Path, dt.date], None]:
    def mutate(folder: Path, day: dt.date) -> None:
        outside = folder.parent.parent.parent / "outside_the_inbox"
        outside.mkdir(exist_ok=True)
        target = outside / f"{folder.name}_{file}"
        shutil.move(folder / file, target)
        os.symlink(target, folder / file)
    return mutate


def big_day(day: dt.date) -> StoreDay:
    """One slip of BIG_FILE_LINES lines of 1 yen each, paid in cash."""
    sd = StoreDay("0001", "渋谷本店", day)
    at = dt.datetime.combine(day, dt.time(12))
    lines = [["P1", "商品", "フード", 10, 1, 1, 0, 1] for _ in range(BIG_FILE_LINES)]
    sd.slips = [Slip("BIG", "通常", "", at, lines, [["現金", "", BIG_FILE_LINES, "", ""]])]
    return sd


def both(*mutations: Callable[[Path, dt.date], None]) -> Callable[[Path, dt.date], None]:
    def mutate(folder: Path, day: dt.date) -> None:
        for m in mutations:
            m(folder, day)
    return mutate


def break_big_last_row(folder: Path, day: dt.date) -> None:
    path = folder / "slips.csv"
    data = path.read_bytes()
    assert data.endswith(b",1\r\n")
    path.write_bytes(data[:-4] + b",1y\r\n")


S = "slips.csv: "
P = "payments.csv: "
C = "close.csv: "
M = "cash_movements.csv: "

CASES = [
    # truncated files
    Case("truncated_mid_row", raw("slips.csv", cut_before_last("D,取消", 40, chars=True)),
         (S + "row 6: column 数量: value ''",)),
    Case("truncated_mid_character", raw("slips.csv", cut_before_last("商品,フード", 3)),
         (S + "row 6: column 商品名: the file is neither UTF-8 nor CP932",)),
    Case("truncated_in_quoted_field", raw("payments.csv", lambda d: d + '"D,現金,,-1'.encode("cp932")),
         (P + "malformed CSV: row 7: a quoted field is never closed",)),
    Case("truncated_to_header", raw("slips.csv", lambda d: d[: d.index(b"\r\n") + 2]),
         (P + "row 2: column 伝票番号: value 'A': slip A: payment for a slip that has no lines",)),
    Case("close_without_data_row", raw("close.csv", lambda d: d[: d.index(b"\r\n") + 2]),
         ("close.csv: close.csv must have exactly one data row, found 0",)),
    # encodings
    Case("latin1_bytes", raw("payments.csv", lambda d: d.replace("B,クレジット,,".encode("cp932"),
                                                          "B,クレジット,".encode("cp932") + b"Caf\xe9,")),
         (P + "row 3: column 支払名称: the file is neither UTF-8 nor CP932 (Shift_JIS); undecodable bytes b'\\xe9,10'",)),
    Case("utf16_file", reencode("slips.csv", "utf-16"),
         (S + "row 1: the file is neither UTF-8 nor CP932",)),
    Case("euc_jp_file", reencode("payments.csv", "euc_jp"),
         (P + "row 1, field 1: the file is neither UTF-8 nor CP932",)),
    # columns
    Case("missing_column_renamed", edit("payments.csv", "支払区分", "支払方法"),
         (P + "row 1: missing column(s) 支払区分",)),
    Case("missing_column_dropped", drop_column("slips.csv", "金額"),
         (S + "row 1: missing column(s) 金額",)),
    Case("extra_field_in_a_row", edit("slips.csv", "8,1080,1,0,1080", "8,1080,1,0,1080,999"),
         (S + "malformed CSV: row 3: 14 fields where the header has 13; column 14 (no header): value '999'",)),
    # amounts
    Case("non_numeric_amount", edit("payments.csv", "B,クレジット,,1080", "B,クレジット,,1O80"),
         (P + "row 3: column 金額: value '1O80': slip B: not an integer amount",)),
    Case("full_width_digits", edit("slips.csv", "8,1080,1,0,1080", "8,1080,1,0,１０８０"),
         (S + "row 3: column 金額: value '１０８０': slip B: not an integer",)),
    Case("decimal_amount", edit("payments.csv", "B,クレジット,,1080", "B,クレジット,,1080.4"),
         (P + "row 3: column 金額: value '1080.4': slip B: not an integer amount",)),
    Case("exponent_amount", edit("slips.csv", "8,1080,1,0,1080", "8,1080,1,0,1.08e3"),
         (S + "row 3: column 金額: value '1.08e3': slip B: not an integer",)),
    Case("overflowing_amount", edit("slips.csv", "8,1080,1,0,1080", "8,1080,1,0,99999999999999999999"),
         (S + "row 3: column 金額: value '99999999999999999999': slip B: not an integer",)),
    Case("absurd_amount", both(edit("slips.csv", "8,1080,1,0,1080", "8,1080,1,0,9000000000000000000"),
                               edit("payments.csv", "B,クレジット,,1080", "B,クレジット,,9000000000000000000")),
         (S + "row 3: column 金額: value '9000000000000000000': slip B: amount out of range",)),
    Case("negative_cash_movement", edit("cash_movements.csv", "交通費,420", "交通費,-420"),
         (M + "row 3: column 金額: value '-420': not a positive integer amount",)),
    Case("non_numeric_counted_cash", edit("close.csv", ",38030,37930", ",38030,三万"),
         (C + "row 2: column 実現金在高: value '三万': not an integer amount",)),
    # slips and payments
    Case("duplicate_slip_number", edit("slips.csv", "C,通常,,DAY 12:00:00,1", "B,通常,,DAY 12:00:00,1"),
         (S + "row 3: column 明細番号: value '1': slip B: duplicate line 1 on slip B (2 times)",)),
    Case("slip_number_reused_by_cancellation", edit("slips.csv", "D,取消,A", "C,取消,A"),
         (S + "row 4: column 伝票区分: value '取消/通常': slip C: slip number used by more than one 伝票区分",)),
    Case("duplicate_movement_number", edit("cash_movements.csv", "003,", "002,"),
         (M + "row 3: column 入出金番号: value '002': duplicate movement number",)),
    Case("payments_not_summing", edit("payments.csv", "B,クレジット,,1080", "B,クレジット,,1000"),
         (P + "row 3: column 金額: value '1000': slip B: payments sum to 1000 but the slip's lines sum to 1080",)),
    Case("slip_without_payment", edit("payments.csv", "B,クレジット,,1080,,\r\n", ""),
         (S + "row 3: column 伝票番号: value 'B': slip B: slip has no payments in payments.csv",)),
    Case("payment_for_unknown_slip", raw("payments.csv", lambda d: d + "Z,現金,,500,,\r\n".encode("cp932")),
         (P + "row 7: column 伝票番号: value 'Z': slip Z: payment for a slip that has no lines in slips.csv",)),
    Case("unknown_tender", edit("payments.csv", "B,クレジット", "B,ツケ払い"),
         (P + "row 3: column 支払区分: value 'ツケ払い': slip B: unknown 支払区分",)),
    Case("unknown_tax_rate", edit("slips.csv", ",10,1100,1,0,1100", ",5,1100,1,0,1100"),
         (S + "row 2: column 税率: value '5': slip A: unknown tax rate",)),
    Case("unknown_slip_kind", edit("slips.csv", "B,通常", "B,返品"),
         (S + "row 3: column 伝票区分: value '返品': slip B: unknown 伝票区分",)),
    Case("cancellation_without_original", edit("slips.csv", "D,取消,A", "D,取消,"),
         (S + "row 6: column 元伝票番号: value '': slip D: a 取消 slip must name the slip it cancels",)),
    Case("empty_slip_number", edit("slips.csv", "B,通常", ",通常"),
         (S + "row 3: column 伝票番号: value '': empty slip number",)),
    Case("unknown_movement_direction", edit("cash_movements.csv", "出金,交通費", "出入,交通費"),
         (M + "row 3: column 区分: value '出入': unknown 区分",)),
    # dates
    Case("slip_in_the_future", edit("slips.csv", "B,通常,,DAY 12:00:00", "B,通常,,2099-06-02 12:00:00"),
         (S + "row 3: column 発行日時: value '2099-06-02 12:00:00': slip B: outside the business day",)),
    Case("slip_before_partition_start", edit("slips.csv", "B,通常,,DAY 12:00:00", "B,通常,,2024-12-31 12:00:00"),
         (S + "row 3: column 発行日時: value '2024-12-31 12:00:00': slip B: outside the business day",)),
    Case("close_date_in_the_future", edit("close.csv", ",DAY,1,", ",2099-01-01,1,"),
         (C + "row 2: column 営業日: value '2099-01-01': does not match the business day",)),
    Case("close_date_before_partition_start", edit("close.csv", ",DAY,1,", ",2024-12-31,1,"),
         (C + "row 2: column 営業日: value '2024-12-31': does not match the business day",)),
    Case("impossible_date", edit("close.csv", ",DAY,1,", ",2025-02-30,1,"),
         (C + "row 2: column 営業日: value '2025-02-30': not a date",)),
    Case("close_store_code_differs", edit("close.csv", "0001,渋谷本店", "0002,渋谷本店"),
         (C + "row 2: column 店舗コード: value '0002': does not match the store code 0001",)),
    Case("close_sequence_differs", edit("close.csv", ",DAY,1,", ",DAY,3,"),
         (C + "row 2: column 締め回数: value '3': does not match the close sequence 1",)),
    # files
    Case("empty_file", raw("slips.csv", lambda d: b""), (S + "row 1: the file is empty",)),
    Case("whitespace_only_file", raw("payments.csv", lambda d: b" \r\n\r\n"), (P + "row 1: the file is empty",)),
    Case("missing_file", remove("payments.csv"), ("payments.csv: missing file payments.csv",)),
    Case("file_is_a_directory", replace_with_directory("slips.csv"), ("slips.csv: missing file slips.csv",)),
    Case("file_is_a_symlink_to_outside", symlink_outside("slips.csv"), ("slips.csv: missing file slips.csv",)),
    Case("huge_file_bad_last_row", break_big_last_row,
         (S + f"row {BIG_FILE_LINES + 1}: column 金額: value '1y': slip BIG: not an integer",), build=big_day),
]


def write_case(inbox: Path, case: Case, day: dt.date) -> Path:
    folder = write(inbox, case.build(day))
    case.mutate(folder, day)
    return folder


def good_day(day: dt.date) -> StoreDay:
    sd = StoreDay("0001", "渋谷本店", day)
    sd.slips = [slip("G1", day, [(10, 1100)], [("現金", 1100)]), slip("G2", day, [(8, 540)], [("クレジット", 540)])]
    return sd
