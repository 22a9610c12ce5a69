"""Property tests of the posting diff (lib/posting) on a real DuckDB file.

For random sequences of versions of one day's entries (added, changed, vanished, waiting for review),
after every post_day: the net posted (posted_lines, debit − credit per entry/account/sub_account) equals
what should be posted by then, each entry is posted at most once net, no version is re-posted while it is
posted, and every claimed batch has its Yayoi file (no stray .partial).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from acctsync_pipelines.lib.config import load_settings
from acctsync_pipelines.lib.posting import post_day
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.reliability.conftest import FIGURES, scale

DAY = dt.date(2025, 6, 2)
SOURCE = "usen_reji"
ENTRIES = ("e1", "e2", "e3", "e4")
ACCOUNTS = (("現金", ""), ("売掛金", "【POS Reg】クレジット"), ("売上高", ""), ("旅費交通費", ""))

line = st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1, 50_000))
entry_version = st.tuples(st.lists(line, min_size=1, max_size=3), st.sampled_from(["ready", "ready", "needs_review"]))
day_version = st.dictionaries(st.sampled_from(ENTRIES), entry_version, max_size=len(ENTRIES))


def lines_of(pairs) -> list[tuple]:
    """Each pair books debit A / credit B of one amount: an entry always balances."""
    out = []
    for (debit, credit, amount) in pairs:
        out += [("debit", *debit, amount), ("credit", *credit, amount)]
    return out


def content_hash(lines: list[tuple]) -> str:
    return hashlib.sha256(json.dumps(lines, ensure_ascii=False).encode()).hexdigest()[:16]


def net(lines: list[tuple]) -> Counter:
    totals: Counter = Counter()
    for side, account, sub_account, amount in lines:
        totals[(account, sub_account)] += amount if side == "debit" else -amount
    return totals


def write_version(conn, version: dict, day: dt.date = DAY) -> None:
    """Replace the day's journal lines with ``version`` (entry key → (pairs, review status))."""
    conn.execute("DELETE FROM ledger.journal_entry_lines WHERE source = ? AND business_date = ?", [SOURCE, day])
    rows = []
    for entry_id, (pairs, status) in sorted(version.items()):
        lines = lines_of(pairs)
        digest = content_hash(lines)
        for number, (side, account, sub_account, amount) in enumerate(lines, 1):
            rows.append([f"{SOURCE}:{day}:{entry_id}", number, SOURCE, day, side, account, sub_account, "", "out_of_scope",
                         amount, 0, f"{entry_id} line {number}", entry_id, "test", 1.0, status,
                         None if status == "ready" else "test", False, "0001", None, digest])
    if rows:
        conn.executemany("INSERT INTO ledger.journal_entry_lines VALUES (" + ", ".join(["?"] * 21) + ")", rows)


def posted_net(conn) -> dict[str, Counter]:
    found: dict[str, Counter] = {}
    for entry_id, account, sub_account, amount in conn.execute(
        "SELECT source_ref, account, sub_account, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) "
        "FROM ledger.posted_lines WHERE target = 'yayoi_csv' GROUP BY ALL"
    ).fetchall():
        if amount:
            found.setdefault(entry_id, Counter())[(account, sub_account)] = amount
    return found


@settings(max_examples=scale(25, 400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(day_version, min_size=1, max_size=scale(5, 8)))
def test_net_posted_follows_the_latest_postable_facts(versions):
    app = load_settings()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        expected: dict[str, list[tuple]] = {}  # what should be posted: entry → lines of the posted version
        with Warehouse(home / "warehouse.duckdb").connect() as conn:
            for version in versions:
                write_version(conn, version)
                post_day(conn, app, home, SOURCE, DAY, "yayoi_csv")
                for entry_id in list(expected):
                    if entry_id not in version:
                        del expected[entry_id]  # vanished: reversed
                for entry_id, (pairs, status) in version.items():
                    if status == "ready":
                        expected[entry_id] = lines_of(pairs)  # otherwise what was posted stays posted

                want = {e: Counter({k: v for k, v in net(lines).items() if v}) for e, lines in expected.items()}
                want = {e: c for e, c in want.items() if c}
                assert posted_net(conn) == want

                actions = conn.execute(
                    "SELECT entry_id, action, content_hash FROM ledger.postings WHERE target = 'yayoi_csv' "
                    "ORDER BY entry_id, action_seq").fetchall()
                by_entry: dict[str, list[tuple[str, str]]] = {}
                for entry_id, action, digest in actions:
                    by_entry.setdefault(entry_id, []).append((action, digest))
                for entry_id, sequence in by_entry.items():
                    # post, reverse, post, … : never two posts without the reversal between them
                    assert [a for a, _ in sequence] == ["post", "reverse"] * (len(sequence) // 2) + \
                        ["post"] * (len(sequence) % 2), (entry_id, sequence)
                    # a reversal takes back exactly the version posted before it; a re-post is a new version
                    for (a1, h1), (a2, h2) in zip(sequence, sequence[1:]):
                        assert h1 == h2 if a2 == "reverse" else True
                (batches,) = conn.execute("SELECT count(*) FROM ledger.posting_batches").fetchone()
                exports = home / "exports" / "yayoi"
                files = sorted(p.name for p in exports.glob("*.csv")) if exports.exists() else []
                assert len(files) == batches
                assert not list(exports.glob(".*.partial")) if exports.exists() else True
    FIGURES_COUNTS["examples"] += 1
    FIGURES_COUNTS["versions"] += len(versions)


FIGURES_COUNTS = Counter()


def test_property_figures():
    """Runs after the property test (file order): reports how much was tried."""
    FIGURES.add("posting diff", "hypothesis examples (day versions)",
                f"{FIGURES_COUNTS['examples']} ({FIGURES_COUNTS['versions']})", "net posted = latest facts")
    assert FIGURES_COUNTS["examples"] > 0
