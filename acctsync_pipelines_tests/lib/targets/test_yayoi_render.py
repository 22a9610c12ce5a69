"""The set-based Yayoi renderer (SQL quoting, column order, CRLF, one encode, the byte cut only for values
that may be too long) against the renderer it replaced, kept here as the reference: the same rows, then a
Python cut of every description and memo, csv.writer and an encode. Files must be byte-identical.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.posting import post_day
from acctsync_pipelines.lib.sql import sql_text
from acctsync_pipelines.lib.targets import yayoi_csv
from acctsync_pipelines.lib.targets.yayoi_csv import YayoiCsvTarget
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.reliability.test_posting_properties import write_version

DAY = dt.date(2025, 6, 2)
# A class no character is in: the reference's rows keep their whitespace, and its own cut collapses it.
NO_SPACES = "[^\\x{0}-\\x{10ffff}]"
COLUMNS = ["flag", "slip_no", "settlement", "date", "dr_account", "dr_sub", "dr_dept", "dr_tax", "dr_amount",
           "dr_tax_amount", "cr_account", "cr_sub", "cr_dept", "cr_tax", "cr_amount", "cr_tax_amount",
           "description", "number", "due", "kind", "origin", "memo", "sticky1", "sticky2", "adjustment"]


def reference_fit(text: str, limit: int, encoding: str) -> str:
    """The cut as it was: collapse whitespace, cut to ``limit`` bytes without splitting a character."""
    text = " ".join(str(text).split())
    encoded = text.encode(encoding, errors="replace")
    if len(encoded) <= limit:
        return encoded.decode(encoding)
    return encoded[:limit].decode(encoding, errors="ignore")


def reference_render(conn, target: YayoiCsvTarget, batch_id: str) -> bytes:
    """The renderer as it was: rows to pandas, a Python cut per row, csv.writer, one encode."""
    import pandas as pd

    from acctsync_pipelines.lib.config_tables import replace_temp_table

    taxes = target.settings.tax_categories
    replace_temp_table(conn, "cfg_yayoi_tax", pd.DataFrame({"category": list(taxes),
                                                            "tax_string": list(taxes.values())}))
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM ({sql_text(yayoi_csv.__file__, 'yayoi_rows.sql')}) "
        "ORDER BY entry_id, action_seq, row_no",
        {"target": "yayoi_csv", "batch_ids": [batch_id], "first_day": DAY, "last_day": DAY,
         "qualified_suffix": target.settings.qualified_suffix, "out_of_scope": taxes.get("out_of_scope", "対象外"),
         "sticky": target.settings.guessed_sticky_note, "spaces": NO_SPACES},
    ).df()
    encoding = target.settings.encoding
    rows["description"] = rows["description"].map(lambda s: reference_fit(s, yayoi_csv.DESCRIPTION_BYTES, encoding))
    rows["memo"] = rows["memo"].map(lambda s: reference_fit(s, yayoi_csv.MEMO_BYTES, encoding))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows.itertuples(index=False))
    return buffer.getvalue().encode(encoding, errors="replace")


AWKWARD = [*',"\'\r\n\t \u3000\x85\xa0\x0b\x0c\x1c\x1f\u2028\u200b\ufeff',
           *'ｱｶﾞﾟ｡髙﨑①～〜−‖¥\\~😀👍🏽\U00020b9f한é€',
           "\r\n", "  ", " \u3000 ", "a\u3000b", "\t\n", '""', ",,", "売上 ", "ｶﾞｲﾄﾞ"]
awkward_text = st.lists(st.one_of(st.sampled_from(AWKWARD), st.text(st.characters(exclude_categories=["Cs"],
                                                                                exclude_characters="\x00"),
                                                                  max_size=3)),
                        max_size=12).map("".join)
long_text = st.builds(lambda unit, n, tail: unit * n + tail,
                      st.sampled_from(["あ", "ｱ", "a", "😀", "a,", '"', "あa", " \t", "漢字,\"", "é"]),
                      st.integers(20, 120), awkward_text)
text = st.one_of(awkward_text, long_text)
line = st.fixed_dictionaries({
    "account": text, "sub_account": text, "department": text, "description": text,
    "tax_category": st.one_of(st.sampled_from(["sales_10", "purchase_10", "out_of_scope"]), text),
    "amount": st.integers(0, 10**12), "tax_amount": st.integers(0, 10**9),
    "qualified_invoice": st.booleans(), "guessed": st.booleans(),
})
entry = st.tuples(st.one_of(st.sampled_from(["e1", "e 2", "e,3"]), text.filter(bool)),
                  st.lists(line, min_size=1, max_size=4))
batch = st.lists(entry, min_size=1, max_size=4, unique_by=lambda e: e[0])


def insert_batch(conn, batch_id: str, entries, first_seq: int = 1) -> None:
    rows = []
    for seq, (entry_id, lines) in enumerate(entries, first_seq):
        for number, l in enumerate(lines, 1):
            side = "debit" if number % 2 else "credit"
            rows.append(["yayoi_csv", batch_id, entry_id, "post", seq, "usen_reji", DAY, number, l["account"],
                         l["sub_account"], l["department"], side, l["amount"], l["tax_category"], l["tax_amount"],
                         l["description"], "ref", l["qualified_invoice"], l["guessed"]])
    conn.executemany("INSERT INTO ledger.posted_lines VALUES (" + ", ".join(["?"] * 19) + ")", rows)
    conn.execute("INSERT INTO ledger.posting_batches VALUES ('yayoi_csv', ?, 'usen_reji', ?, now(), ?, ?, ?)",
                 [batch_id, DAY, f"{batch_id}.csv", len(entries), len(rows)])


def clear(conn) -> None:
    conn.execute("DELETE FROM ledger.posted_lines")
    conn.execute("DELETE FROM ledger.posting_batches")


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as folder:
        with Warehouse(Path(folder) / "warehouse.duckdb").connect() as conn:
            yield Path(folder), conn


def target_for(home: Path, encoding: str) -> YayoiCsvTarget:
    target = YayoiCsvTarget(load_settings(), home)
    target.settings = target.settings.model_copy(update={"encoding": encoding})
    return target


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(batch, min_size=1, max_size=3), st.sampled_from(["cp932", "shift_jis", "utf-8"]))
def test_set_based_render_is_byte_identical_to_the_reference(scratch, batches, encoding):
    home, conn = scratch
    clear(conn)
    ids = [f"usen_reji_20250602_{n:03d}" for n in range(1, len(batches) + 1)]
    for number, (batch_id, entries) in enumerate(zip(ids, batches)):
        insert_batch(conn, batch_id, entries, first_seq=10 * number + 1)  # an entry may recur in a later batch
    target = target_for(home, encoding)
    rendered = target.render_batches(conn, ids)
    assert list(rendered) == ids
    for batch_id in ids:
        expected = reference_render(conn, target, batch_id)
        assert rendered[batch_id] == expected
        assert target.render(conn, batch_id) == expected


def test_a_cut_never_splits_a_character_and_long_values_are_cut(scratch):
    home, conn = scratch
    clear(conn)
    description = "ｱ" + "あ" * 40  # 81 bytes in CP932: cut to 63, the 64th byte would split あ
    insert_batch(conn, "b1", [("e1", [dict(account="現金", sub_account="", department="", description=description,
                                          tax_category="out_of_scope", amount=1, tax_amount=0,
                                          qualified_invoice=False, guessed=False)] * 2)])
    (row,) = list(csv.reader(io.StringIO(target_for(home, "cp932").render(conn, "b1").decode("cp932"))))
    assert row[16] == "ｱ" + "あ" * 31 and len(row[16].encode("cp932")) == 63
    (row,) = list(csv.reader(io.StringIO(target_for(home, "utf-8").render(conn, "b1").decode("utf-8"))))
    assert row[16] == "ｱ" + "あ" * 20 and len(row[16].encode("utf-8")) == 63


def test_a_batch_without_rows_renders_empty(scratch):
    home, conn = scratch
    clear(conn)
    assert target_for(home, "cp932").render_batches(conn, ["none"]) == {"none": b""}


def test_the_space_class_is_what_str_split_splits_on(scratch):
    _, conn = scratch
    (matched,) = conn.execute(
        "SELECT list(c ORDER BY c) FROM (SELECT range AS c FROM range(1, 55296) UNION ALL "
        "SELECT range FROM range(57344, 1114112)) WHERE regexp_full_match(chr(c::INTEGER), ?)",  # no surrogates
        [yayoi_csv.SPACES]).fetchone()
    assert matched == [c for c in range(1, sys.maxunicode + 1) if chr(c).isspace()]
    assert len(matched) > 20 and 0x3000 in matched and 0x85 in matched
