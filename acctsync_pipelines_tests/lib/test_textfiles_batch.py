"""stage_csv_batch (many files, one DuckDB read) gives exactly what read_csv_columns gives file by file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acctsync_pipelines.lib.errors import InputError
from acctsync_pipelines.lib.textfiles import CsvBatchUnsupported, read_csv_columns, stage_csv_batch

COLUMNS = {"slip_no": "伝票番号", "name": "商品名", "amount": "金額"}


def per_file(tmp_path: Path, texts: list[str]) -> list[list[tuple]]:
    """What read_csv_columns (pandas, one file at a time) gives for each text."""
    result = []
    for i, text in enumerate(texts):
        path = tmp_path / f"one_{i}.csv"
        path.write_bytes(text.encode("utf-8"))
        frame = read_csv_columns(path, COLUMNS)
        result.append([(int(r.source_row), r.slip_no, r.name, r.amount) for r in frame.itertuples()])
    return result


def batched(tmp_path: Path, texts: list[str]) -> list[list[tuple]]:
    with duckdb.connect() as conn:
        stage_csv_batch(conn, "staged", texts, COLUMNS, tmp_path / "scratch")
        rows = conn.execute(
            "SELECT file_index, source_row, slip_no, name, amount FROM staged ORDER BY file_index, source_row"
        ).fetchall()
    return [[tuple(r[1:]) for r in rows if r[0] == i] for i in range(len(texts))]


def test_layouts_that_occur_in_exports(tmp_path):
    texts = [
        # CRLF, a quoted comma
        "伝票番号,商品名,金額\r\nA,ブレンド,480\r\nB,\"ラテ, L\",550\r\n",
        # other column order, an extra column, LF
        "金額,伝票番号,備考,商品名\nC1,x,memo,サンド\n120,D,,\n",
        # header only
        "伝票番号,商品名,金額\r\n",
        # a quoted line break, quoted comma, blank line, spaces, a short row, empty fields, doubled quotes, no EOL
        "伝票番号,商品名,金額\nE,\"改行\nあり\",\"1,000\"\n\nF, space ,  7\nG\n,,\nH,\"\"\"q\"\"\",9",
        # padded header names
        " 伝票番号 , 商品名,金額 \r\nI,名,1\r\n",
    ]
    assert batched(tmp_path, texts) == per_file(tmp_path, texts)


FIELD = st.text(alphabet=st.sampled_from(list("ab 1,\"\n日本-")), max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(
    st.tuples(st.permutations(["伝票番号", "商品名", "金額"]), st.sampled_from(["\n", "\r\n"]),
              st.lists(st.lists(FIELD, min_size=1, max_size=3), max_size=5)),
    min_size=1, max_size=4))
def test_any_well_formed_csv_reads_the_same(tmp_path, files):
    texts = []
    for header, newline, rows in files:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerow(header)
        # a row that csv.writer renders as an empty line is a blank line, which neither reader counts
        writer.writerows(r for r in rows if r != [""])
        texts.append(buffer.getvalue())
    try:
        expected = per_file(tmp_path, texts)
    except InputError:
        return  # pandas refuses it (e.g. more fields than the header): nothing to compare
    try:
        assert batched(tmp_path, texts) == expected
    except CsvBatchUnsupported:
        pass  # allowed: the caller then reads the files one by one


@pytest.mark.parametrize("bad", [
    "伝票番号,商品名,金額\nA,x,1,extra\n",          # more fields than the header
    "伝票番号,商品名,金額\nA,\"unterminated,1\n",   # a quote that never closes
    "伝票番号,商品名,金額\rA,x,1\r",                 # bare CR line ends
    "\"伝票番号\",商品名,金額\nA,x,1\n",             # quoted header
])
def test_malformed_or_unusual_files_are_left_to_the_file_by_file_reader(tmp_path, bad):
    good = "伝票番号,商品名,金額\nA,x,1\n"
    with duckdb.connect() as conn:
        with pytest.raises(CsvBatchUnsupported):
            stage_csv_batch(conn, "staged", [good, bad], COLUMNS, tmp_path / "scratch")
        assert conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'staged'").fetchone() == (0,)
