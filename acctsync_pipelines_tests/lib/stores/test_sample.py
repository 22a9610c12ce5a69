"""The STORES demo sample: deterministic, small, the API's own shape, and booked cleanly end to end."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from acctsync_pipelines.lib.config import PROJECT_ROOT
from acctsync_pipelines.lib.sample import GENERATORS, SAMPLE_DAYS, SAMPLE_START
from acctsync_pipelines.lib.sample.stores import write_sample

COMMITTED = PROJECT_ROOT / "data" / "inbox" / "stores"


def test_the_committed_sample_is_what_the_generator_writes(tmp_path):
    written = write_sample(tmp_path / "stores", start=SAMPLE_START, days=SAMPLE_DAYS)
    assert sorted(p.name for p in written) == sorted(p.name for p in COMMITTED.iterdir())
    for path in written:
        assert path.read_bytes() == (COMMITTED / path.name).read_bytes(), path.name
    assert sum(p.stat().st_size for p in written) < 300_000
    assert "stores" in [source for source, _ in GENERATORS]


def test_the_sample_is_in_the_api_shape_and_covers_the_patterns():
    orders = {}
    for path in sorted(COMMITTED.glob("orders_*.json")):
        for order in json.loads(path.read_text(encoding="utf-8"))["orders"]:
            orders[order["id"]] = order  # files are in fetch order: the later version replaces
    types = {t["type"] for o in orders.values() for t in o["transactions"]}
    assert {"credit_card", "paypay", "convenience_store_payment", "amazon_pay", "cash_on_delivery", "cash",
            "custom", "stores_terminal_credit_card"} <= types
    assert any(len(o["tax_details"]) == 2 for o in orders.values())
    assert any(t["amount"] < 0 for o in orders.values() for t in o["transactions"])
    assert any(d["canceled_at"] and not d["shipped_at"] for o in orders.values() for d in o["deliveries"])
    assert any(not d["shipped_at"] and not d["canceled_at"] for o in orders.values() for d in o["deliveries"])
    assert {op["type"] for o in orders.values() for op in o["option"]} == {"coupon_discount", "gift_wrapping"}
    for order in orders.values():
        assert sum(d["sales_amount"] for d in order["tax_details"]) == order["sales_amount"]
        assert sum(t["amount"] for t in order["transactions"] if t["amount"] > 0) == order["sales_amount"]
    remittances = json.loads((COMMITTED / "remittances_20250601.json").read_text(encoding="utf-8"))["remittances"]
    for r in remittances:
        assert r["transfer_amount"] == (r["sales_amount"] - r["payment_fee"] - r["transfer_fee"]
                                        - r["speedcash_payment_fee"] - r["chargeback_amount"] - r["deduction_amount"])


def test_the_sample_books_and_posts_cleanly(home, run_stores):
    shutil.copytree(COMMITTED, home.inbox("stores"), dirs_exist_ok=True)
    home.configure({"sources": {"usen_reji": {"enabled": False}, "amazon_business": {"enabled": False}}})
    end = SAMPLE_START + dt.timedelta(days=SAMPLE_DAYS - 1)
    run_stores(SAMPLE_START.isoformat(), end.isoformat())
    assert home.query("SELECT DISTINCT status FROM ledger.journal_lines WHERE source = 'stores'") == [("posted",)]
    assert home.query("SELECT count(*) FROM (SELECT entry_id FROM ledger.journal_lines GROUP BY entry_id "
                      "HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0)") == [(0,)]
    kinds = dict(home.query("SELECT split_part(entry_id, ':', 3), count(DISTINCT entry_id) FROM ledger.journal_lines "
                            "WHERE entry_id NOT LIKE 'stores:remittance:%' GROUP BY ALL"))
    assert kinds["sale"] > 50 and kinds["cancel"] >= 2
    assert home.query("SELECT DISTINCT business_date FROM ledger.journal_lines "
                      "WHERE entry_id LIKE 'stores:remittance:%' ORDER BY 1") == [
        (dt.date(2025, 6, 13),), (dt.date(2025, 6, 20),)]
    # each payout clears only sales already booked: STORES決済 never goes negative
    (receivable,) = home.query("SELECT sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) "
                               "FROM ledger.journal_lines WHERE account = '売掛金' AND sub_account = 'STORES決済'")[0]
    assert receivable > 0
    # orders fetched twice: the later version (shipped or cancelled since) is what was booked
    (changed,) = home.query("SELECT count(*) FROM (SELECT record_id FROM raw.stores_snapshots "
                            "WHERE kind = 'order' GROUP BY record_id HAVING count(*) > 1)")[0]
    assert changed > 0
    assert len(home.export_files()) == SAMPLE_DAYS
