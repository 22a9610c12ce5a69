"""The Amazon Business demo sample: deterministic, committed as generated, and every scenario books."""

from __future__ import annotations

from acctsync_pipelines.lib.config import PROJECT_ROOT
from acctsync_pipelines.lib.sample import GENERATORS, SAMPLE_DAYS, SAMPLE_START
from acctsync_pipelines.lib.sample.amazon_business import write_sample
from acctsync_pipelines_tests.lib.amazon_business.builders import check_failures, lines, run_days

COMMITTED = PROJECT_ROOT / "data" / "inbox" / "amazon_business"


def test_the_sample_is_deterministic_and_committed_as_generated(tmp_path):
    first = write_sample(tmp_path / "a", SAMPLE_START, SAMPLE_DAYS)
    second = write_sample(tmp_path / "b", SAMPLE_START, SAMPLE_DAYS)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert sorted(p.name for p in COMMITTED.iterdir()) == sorted(p.name for p in first)
    for path in first:
        assert (COMMITTED / path.name).read_bytes() == path.read_bytes(), f"regenerate {path.name}: make sample"
    assert sum(p.stat().st_size for p in first) < 300_000
    assert "amazon_business" in [name for name, _ in GENERATORS]


def test_every_scenario_of_the_sample_books(home):
    write_sample(home.inbox("amazon_business"), SAMPLE_START, SAMPLE_DAYS)
    days = ["2025-06-02", "2025-06-05", "2025-06-06", "2025-06-08", "2025-06-13", "2025-06-17"]

    run_days(home, *days)

    for day in days:
        assert check_failures(home, day) == {"entries_balance": [], "payments_match_transactions": []}, day
    by_day = {d: lines(home, f"business_date = '{d}'") for d in days}
    # card + points + gift card: the items once, three credits
    assert sorted(x["account"] for x in by_day["2025-06-02"] if x["side"] == "credit") == ["前払金", "未払金", "雑収入"]
    # Kindle → 新聞図書費 by default (UNSPSC 55), waiting for review
    kindle = [x for x in by_day["2025-06-05"] if "Kindle" in x["description"]]
    assert [(x["account"], x["rule"], x["review_status"]) for x in kindle] == [
        ("新聞図書費", "default:unspsc=55", "needs_review")]
    # 8% food next to 10% goods
    assert {x["tax_category"] for x in by_day["2025-06-06"] if x["side"] == "debit"} == {"purchase_8r", "purchase_10"}
    # Amazon Pay: not in the journal, in the skipped table
    assert by_day["2025-06-08"] == []
    assert [r[0] for r in home.query("SELECT payment_instrument_type FROM staging.amazon_business_skipped "
                                     "WHERE business_date = '2025-06-08'")] == ["Amazon Pay"]
    # the refund of the June 4 order, on its own day, with the credit memo's registration number
    refund = by_day["2025-06-13"]
    assert {x["entry_id"].split(":")[2] for x in refund} == {"refund"}
    assert [x["qualified_invoice"] for x in refund if x["side"] == "credit"] == [True]
    # the Orders report's undelivered order is skipped
    assert home.query("SELECT reason LIKE 'not delivered yet:%' FROM staging.amazon_business_skipped "
                      "WHERE business_date = '2025-06-17'") == [(True,)]
