"""Faults at 20%: the loopback fakes answer a seeded random fifth of the requests with 429 (Retry-After),
500, a timeout (answer held past the client's timeout, nothing done) or a lost answer (the document
created, then the connection dropped, a 500, or the answer held past the timeout).

Targets (freee, QuickBooks, Zoho Books): sample USEN days are posted through the real Dagster job and
the real target code, re-running the job until it succeeds (as the schedule would): every entry is at
the target exactly once, with its amounts, nothing missing. Source APIs (STORES, Amazon Business): a day
read through the real client with faults books exactly what the same day books without faults.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from acctsync_pipelines.lib.sample.usen_reji import write_sample
from acctsync_pipelines.lib.targets.api_base import short_key
from acctsync_pipelines_tests.conftest import Home, failure_text
from acctsync_pipelines_tests.fakes.faults import KINDS, RandomFaults
from acctsync_pipelines_tests.fakes.stores_api import FakeStoresApi
from acctsync_pipelines_tests.lib.amazon_business.test_api_pipeline import _fake as amazon_fake
from acctsync_pipelines_tests.lib.stores.conftest import (  # noqa: F401 (fixtures)
    run_stores, stores_job, vendor_orders, vendor_remittances)
from acctsync_pipelines_tests.lib.targets.conftest import running_fake, target_settings
from acctsync_pipelines_tests.reliability.conftest import scale
from acctsync_pipelines_tests.reliability.warehouse_snapshot import duplicate_postings, snapshot

RATE = 0.2
FIRST = dt.date(2025, 6, 1)
DAYS = scale(7, 21)          # sample days posted per target
MAX_RUNS = 12                # job runs allowed until a day range is fully posted
CLIENT_TIMEOUT = 0.4         # the client's timeout; the fake holds a "timed out" answer longer
HOLD = 1.0
FAULTY_RETRY = {"max_attempts": 4, "backoff_seconds": 0.0, "max_wait_seconds": 1, "timeout_seconds": CLIENT_TIMEOUT}
SEEDS = {"freee": 11, "quickbooks": 12, "zoho_books": 13, "stores": 14, "amazon_business": 15}


def record_figures(figures, area: str, faults: RandomFaults, runs: int, duplicates: int, missing: int,
                   objects: str) -> None:
    kinds = faults.by_kind()
    figures.add(area, "requests (attempts)", faults.attempts)
    figures.add(area, "faults injected (429/500/timeout/lost)",
                f"{faults.total_injected} ({'/'.join(str(kinds[k]) for k in KINDS)})", f"~{RATE:.0%} of attempts")
    figures.add(area, "retries of a faulted request", faults.retries)
    figures.add(area, "job runs until done", runs)
    figures.add(area, objects, "ok")
    figures.add(area, "duplicates", duplicates, 0)
    figures.add(area, "missing", missing, 0)


def assert_faults_were_real(faults: RandomFaults) -> None:
    kinds = faults.by_kind()
    assert all(kinds[k] > 0 for k in KINDS), f"not every kind was injected: {faults.describe()}"
    assert 0.1 <= faults.total_injected / faults.attempts <= 0.35, faults.describe()
    assert faults.retries > 0


# --- targets ------------------------------------------------------------------------------------------

def documents_by_entry(target: str, fake, entries: list[str]) -> dict[str, list[tuple]]:
    """entry_id → the documents the target holds for it, as (sorted (side, account, amount) lines)."""
    found: dict[str, list[tuple]] = {}
    if target == "freee":
        by_ref = {"AS" + short_key("freee", e, length=18): e for e in entries}
        for deal in fake.live_deals():
            side = "credit" if deal["type"] == "income" else "debit"
            lines = tuple(sorted((side, fake.account_name(d["account_item_id"]), d["amount"]) for d in deal["details"]))
            found.setdefault(by_ref.get(deal["ref_number"], deal["ref_number"]), []).append(lines)
        for journal in fake.live_journals():
            lines = tuple(sorted((d["entry_side"], fake.account_name(d["account_item_id"]), d["amount"])
                                 for d in journal["details"]))
            found.setdefault(by_ref.get(journal["ref_number"], journal["ref_number"]), []).append(lines)
    elif target == "quickbooks":
        for entry in fake.live_entries():
            lines = tuple(sorted((line["JournalEntryLineDetail"]["PostingType"].lower(),
                                  fake.account_name(line["JournalEntryLineDetail"]["AccountRef"]["value"]),
                                  line["Amount"]) for line in entry["Line"]))
            found.setdefault(entry["PrivateNote"].split()[1], []).append(lines)
    else:
        for journal in fake.live_journals():
            lines = tuple(sorted((item["debit_or_credit"], fake.account_name(item["account_id"]), item["amount"])
                                 for item in journal["line_items"]))
            found.setdefault(journal["reference_number"], []).append(lines)
    return found


def expected_lines(home: Home, entry_id: str) -> list[tuple]:
    """The entry's journal lines, summed per side and account."""
    rows = home.query("SELECT side, account, sum(amount)::BIGINT FROM ledger.journal_entry_lines WHERE entry_id = ? "
                      "GROUP BY ALL", [entry_id])
    return sorted(rows)


@pytest.mark.parametrize("target", ["freee", "quickbooks", "zoho_books"])
def test_a_target_with_20_percent_faults_gets_every_entry_exactly_once(target, home, monkeypatch, request, figures):
    vendor = request.getfixturevalue("vendor_dir") if target == "freee" else None
    fakes = running_fake(target, monkeypatch, vendor)
    fake = next(fakes)
    try:
        write_sample(home.inbox("usen_reji"), start=FIRST, days=DAYS)
        extra = {"create_sections": True} if target == "freee" else {}
        if target == "zoho_books":
            extra["requests_per_minute"] = 100_000
        home.configure({"sources": {"usen_reji": {"targets": [target]}},
                        "targets": {target: target_settings(target, fake, FAULTY_RETRY, **extra)}})
        faults = RandomFaults(RATE, seed=SEEDS[target], hold_seconds=HOLD)
        fake.random_faults = faults
        last = FIRST + dt.timedelta(days=DAYS - 1)
        runs, result = 0, None
        while runs < MAX_RUNS:
            runs += 1
            result = home.materialize("usen_reji", FIRST, last)
            if result.success:
                break
        assert result is not None and result.success, f"still failing after {runs} runs: {failure_text(result)}"
        fake.random_faults = None

        # Entries waiting for review must not reach the target; every other entry exactly once.
        waiting = [e for (e,) in home.query(
            "SELECT DISTINCT entry_id FROM ledger.journal_lines WHERE status = 'needs_review' ORDER BY 1")]
        entries = [e for (e,) in home.query(
            "SELECT DISTINCT entry_id FROM ledger.journal_lines WHERE status <> 'needs_review' ORDER BY 1")]
        documents = documents_by_entry(target, fake, entries + waiting)
        duplicates = sum(len(docs) - 1 for docs in documents.values())
        missing = [e for e in entries if e not in documents]
        strangers = sorted(set(documents) - set(entries))
        assert getattr(fake, "problems", []) == []
        assert (duplicates, missing, strangers) == (0, [], [])
        for entry in entries:  # amounts per side and account (freee deals hold their P/L side only)
            (lines,) = documents[entry]
            totals: Counter = Counter()
            for side, account, amount in lines:
                totals[(side, account)] += amount
            expected = {(side, account): amount for side, account, amount in expected_lines(home, entry)}
            if target != "freee":
                assert dict(totals) == expected, entry
            assert {key: expected.get(key) for key in totals} == dict(totals), entry
        # the posting log agrees: every claimed action finished once, no entry posted twice
        assert duplicate_postings(home.warehouse) == 0
        assert home.query(
            """SELECT count(*) FROM ledger.postings p WHERE p.target = ? AND NOT EXISTS (
                   SELECT 1 FROM ledger.posting_results r WHERE r.target = p.target AND r.entry_id = p.entry_id
                   AND r.action_seq = p.action_seq AND r.status IN ('done', 'skipped'))""", [target]) == [(0,)]
        assert_faults_were_real(faults)
        record_figures(figures, f"faults: {target}", faults, runs, duplicates, len(missing),
                       f"entries at the target = journal ({len(entries)})")
    finally:
        fakes.close()


# --- source APIs ----------------------------------------------------------------------------------------

BOOKED_TABLES = ("staging.normalized_transactions", "ledger.journal_entry_lines", "ledger.postings",
                 "ledger.posted_lines")


def booked(home: Home) -> dict[str, list[tuple]]:
    """What a run booked and posted (timestamps left out)."""
    tables = snapshot(home.warehouse)
    return {name: tables[name] for name in BOOKED_TABLES}


def compare_booked(reference: dict, faulty: dict) -> tuple[int, int]:
    """(duplicates, missing) rows of the faulty run against the reference, over the booked tables."""
    duplicates = missing = 0
    for name in BOOKED_TABLES:
        expected, got = Counter(reference[name]), Counter(faulty[name])
        duplicates += sum((got - expected).values())
        missing += sum((expected - got).values())
    return duplicates, missing


def other_home(tmp_path, monkeypatch, name: str) -> Home:
    root = tmp_path / name
    root.mkdir()
    monkeypatch.setenv("ACCTSYNC_HOME", str(root))
    return Home(root)


STORES_TOKEN = "stores-faults-token-2d8e"
STORES_CHANNELS = [
    {"id": "62e3a2aca05cb9341aea49d1", "name": "本店レジ", "created_at": "2022-07-29T10:00:00+09:00"},
    {"id": "62e3a275a05cb9341aea49cd", "name": "二号店レジ", "created_at": "2022-07-29T10:00:00+09:00"},
]
STORES_DAYS = ("2022-07-29", "2022-06-30")


def assert_books_as_without_faults(book, source: str, area: str, home: Home, tmp_path, monkeypatch, figures) -> None:
    """``book(home, faults)`` in a fault-free home and, with seeded faults, in ``home``: the same rows booked
    and posted, none twice, and the faults really happened."""
    reference, _ = book(other_home(tmp_path, monkeypatch, "reference"), None)
    faults = RandomFaults(RATE, seed=SEEDS[source], hold_seconds=HOLD)
    faulty, runs = book(home, faults)
    duplicates, missing = compare_booked(reference, faulty)
    assert reference["ledger.journal_entry_lines"] and reference["ledger.postings"]
    assert (duplicates, missing) == (0, 0)
    assert faulty == reference
    assert duplicate_postings(home.warehouse) == 0
    assert_faults_were_real(faults)
    record_figures(figures, area, faults, runs, duplicates, missing,
                   f"booked and posted = fault-free run ({len(reference['ledger.journal_entry_lines'])} lines)")


def test_the_stores_api_with_20_percent_faults_books_what_it_books_without(
        home, run_stores, vendor_orders, vendor_remittances, monkeypatch, tmp_path, figures):
    monkeypatch.setenv("STORES_API_TOKEN", STORES_TOKEN)

    def book(target: Home, faults: RandomFaults | None) -> tuple[dict, int]:
        monkeypatch.setenv("ACCTSYNC_HOME", str(target.root))
        with FakeStoresApi(orders=vendor_orders, remittances=vendor_remittances, sales_channels=STORES_CHANNELS,
                           order_ids={"62e2591363eb58003fd5c2ea": ["0000testorder0000id0001"]},
                           token=STORES_TOKEN) as fake:
            fake.random_faults = faults
            target.configure({"sources": {
                "stores": {"input": "api", "recognition": "ordered", "start_date": "2021-11-01",
                           "api": {"base_url": fake.base_url, "page_size": 2, "lookback_days": 10,
                                   "timeout_seconds": CLIENT_TIMEOUT, "max_attempts": 6, "backoff_seconds": 0.0,
                                   "max_wait_seconds": 0.05, "min_interval_seconds": 0}},
                "usen_reji": {"enabled": False}, "amazon_business": {"enabled": False}}})
            runs = 0
            for day in STORES_DAYS:
                for runs in range(runs + 1, runs + MAX_RUNS + 1):
                    if run_stores(day, expect_success=False).success:
                        break
            return booked(target), runs

    assert_books_as_without_faults(book, "stores", "faults: STORES API", home, tmp_path, monkeypatch, figures)


def test_the_amazon_business_api_with_20_percent_faults_books_what_it_books_without(
        home, monkeypatch, tmp_path, figures):
    def book(target: Home, faults: RandomFaults | None) -> tuple[dict, int]:
        monkeypatch.setenv("ACCTSYNC_HOME", str(target.root))
        with amazon_fake() as fake:
            fake.random_faults = faults
            for name, value in fake.env().items():
                monkeypatch.setenv(name, value)
            target.configure({"sources": {"amazon_business": {
                "inputs": ["api"],
                "api": {"base_url": fake.base_url, "token_url": fake.token_url, "backoff_seconds": 0.0,
                        "max_retries": 5, "timeout_seconds": CLIENT_TIMEOUT, "rate_per_second": 1000, "burst": 1000},
                "rules": [{"unspsc": "47", "account": "事務用品費"}],
            }}})
            for runs in range(1, MAX_RUNS + 1):
                if target.materialize("amazon_business", "2025-06-01", "2025-06-02").success:
                    break
            return booked(target), runs

    assert_books_as_without_faults(book, "amazon_business", "faults: Amazon Business API", home, tmp_path,
                                   monkeypatch, figures)
