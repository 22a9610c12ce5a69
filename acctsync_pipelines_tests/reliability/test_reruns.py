"""Re-runs of sample days change nothing: no duplicate posting, the warehouse identical apart from run
metadata, no new export file. Fast: a few USEN days twice; full: every sample day of every source 5×."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from acctsync_pipelines.lib.config import PROJECT_ROOT
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.reliability.conftest import FULL, scale
from acctsync_pipelines_tests.reliability.warehouse_snapshot import duplicate_postings, snapshot

SAMPLE = PROJECT_ROOT / "data" / "inbox"
FIRST, LAST = dt.date(2025, 6, 1), dt.date(2025, 6, 21)
SOURCES = ("usen_reji", "stores", "amazon_business") if FULL else ("usen_reji",)


def test_rerunning_sample_days_changes_nothing(home, figures):
    if not SAMPLE.is_dir():
        pytest.skip(f"the committed sample is not at {SAMPLE}")
    shutil.copytree(SAMPLE, home.root / "inbox")
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)] if FULL else \
        [dt.date(2025, 6, 2), dt.date(2025, 6, 11), dt.date(2025, 6, 12)]  # 11th: the sample's re-close
    last = max(days)
    for source in SOURCES:
        result = home.materialize(source, FIRST, last)
        assert result.success, failure_text(result)
    before = snapshot(home.warehouse)
    exports = {p.name: p.read_bytes() for p in home.export_files()}
    assert exports and before["ledger.postings"]
    runs = 0
    for _ in range(scale(1, 4)):
        for source in SOURCES:
            for day in days:
                result = home.materialize(source, day)
                assert result.success, failure_text(result)
                runs += 1
    after = snapshot(home.warehouse)
    changed = sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
    assert changed == []
    assert {p.name: p.read_bytes() for p in home.export_files()} == exports
    duplicates = duplicate_postings(home.warehouse)
    assert duplicates == 0
    figures.add("re-runs", f"day re-runs ({', '.join(SOURCES)})", runs)
    figures.add("re-runs", "duplicate postings", duplicates, 0)
    figures.add("re-runs", "warehouse tables changed (apart from run metadata)", len(changed), 0)
