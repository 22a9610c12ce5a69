"""docs/warehouse.md is the analysts' contract: every relation documented, every example query runs.

The queries run against the published copy of a warehouse built from the sample data, as an
analyst would run them.
"""

import datetime as dt
import re

import duckdb
import pytest

from acctsync_pipelines.lib.config import PROJECT_ROOT
from acctsync_pipelines.lib.publish import SCHEMAS, publish
from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.conftest import module_home

DOC = PROJECT_ROOT / "docs" / "warehouse.md"


def sql_blocks(text: str) -> list[str]:
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    with module_home(tmp_path_factory, "docs") as home:
        write_sample(home.inbox("usen_reji"), start=dt.date(2025, 6, 1), days=3)
        assert home.materialize("usen_reji", "2025-06-01", "2025-06-03").success
    root = home.root
    result = publish(Warehouse(root / "warehouse.duckdb"), root)
    conn = duckdb.connect(str(result.database), read_only=True)
    yield conn
    conn.close()


def test_every_relation_is_documented_and_every_documented_one_exists(published):
    text = DOC.read_text(encoding="utf-8")
    relations = {f"{s}.{t}" for s, t in published.execute(
        """SELECT table_schema, table_name FROM information_schema.tables
           WHERE table_catalog = current_database() AND list_contains(?, table_schema)""",
        [list(SCHEMAS)]).fetchall()}
    headings = set(re.findall(r"^### `([a-z_]+\.[a-z_0-9]+)`$", text, flags=re.M))
    assert sorted(relations - headings) == [], "tables or views missing from docs/warehouse.md"
    assert sorted(headings - relations) == [], "docs/warehouse.md documents relations that do not exist"
    for schema in ("raw", "staging", "ledger", "ops"):
        assert any(r.startswith(schema + ".") for r in relations)


def test_every_example_query_runs_and_returns_rows(published):
    blocks = sql_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    for block in blocks:
        rows = published.execute(block).fetchall()
        assert rows, f"no rows from:\n{block}"


def query(published, heading: str) -> tuple[list[str], list[tuple]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1].split("\n### ", 1)[0]
    cursor = published.execute(sql_blocks(section)[0])
    return [d[0] for d in cursor.description], cursor.fetchall()


def test_the_trial_balance_balances_every_month(published):
    names, rows = query(published, "A trial balance by month")
    assert names == ["month", "account", "debit", "credit", "balance"]
    assert {r[0] for r in rows} == {"2025-06"}
    assert sum(r[4] for r in rows) == 0
    assert sum(r[2] or 0 for r in rows) == sum(r[3] or 0 for r in rows) > 0


def test_daily_sales_by_tender_and_rate_add_up_to_the_journal(published):
    names, rows = query(published, "Daily sales by tender and tax rate")
    assert names[:6] == ["business_date", "source", "tender", "tax_rate", "documents", "sales_incl_tax"]
    assert {str(r[0]) for r in rows} == {"2025-06-01", "2025-06-02", "2025-06-03"}
    (revenue,) = published.execute(
        """SELECT sum(CASE side WHEN 'credit' THEN amount ELSE -amount END) FROM ledger.journal_lines
           WHERE account = '売上高' AND status <> 'reversed'""").fetchone()
    assert sum(r[5] for r in rows) == revenue
    assert "現金" in {r[2] for r in rows} and len({r[2] for r in rows}) > 2
    assert all(r[6] is not None for r in rows if r[3] in (8, 10))


def test_unsettled_receivables_are_the_non_cash_tenders(published):
    names, rows = query(published, "Unsettled receivables")
    assert names[:4] == ["source", "tender", "store_code", "open_amount"]
    tenders = {r[1] for r in rows}
    assert "【POS Reg】クレジット" in tenders and all(t.startswith("【POS Reg】") for t in tenders)
    (receivable,) = published.execute(
        """SELECT sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) FROM ledger.journal_lines
           WHERE account = '売掛金' AND status <> 'reversed'""").fetchone()
    assert sum(r[3] for r in rows) == receivable > 0


def test_a_journal_line_leads_to_its_csv_rows_and_the_yayoi_file(published):
    names, rows = query(published, "A journal line → its source rows → the target's reference")
    assert rows
    line_amount = rows[0][names.index("amount")]
    # the slips behind a tender line of the daily summary: their payments add up to the line
    files = {r[names.index("source_file")] for r in rows}
    assert files == {"inbox/usen_reji/0001_20250602_1/slips.csv"}
    assert {r[names.index("target_ref")] for r in rows} == {"usen_reji_20250602_001.csv"}
    assert {r[names.index("status")] for r in rows} == {"posted"}
    assert line_amount > 0
