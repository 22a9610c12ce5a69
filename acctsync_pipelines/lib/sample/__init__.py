"""Deterministic sample data: a small café chain's sources, in the vendors' own layouts.

The same generators write the committed demo data (``data/inbox``) and the benchmark's
large synthetic inbox (``make bench``), from a seed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from acctsync_pipelines.lib.sample import amazon_business, bank, stores, usen_reji

SAMPLE_START = dt.date(2025, 6, 1)
SAMPLE_DAYS = 21
SAMPLE_END = SAMPLE_START + dt.timedelta(days=SAMPLE_DAYS - 1)

# (source, writer(inbox_dir, start, days) -> short description)
GENERATORS = [
    ("usen_reji", lambda inbox, start, days: f"{len(usen_reji.write_sample(inbox, start=start, days=days))} store-days"),
    ("amazon_business", lambda inbox, start, days: f"{len(amazon_business.write_sample(inbox, start=start, days=days))} files"),
    ("stores", lambda inbox, start, days: f"{len(stores.write_sample(inbox, start=start, days=days))} files"),
    # the bank statement whose deposits pay the sources' receivables (settlement rules: sample/demo_config.yaml)
    ("bank", lambda inbox, start, days: f"{len(bank.write_sample(inbox, start=start, days=days))} statement file"),
]


def write_all(home: Path, start: dt.date = SAMPLE_START, days: int = SAMPLE_DAYS) -> list[str]:
    """Write every source's sample under ``home/inbox/<source>/``; returns one line per source."""
    lines = []
    for source, writer in GENERATORS:
        inbox = home / "inbox" / source
        inbox.mkdir(parents=True, exist_ok=True)
        lines.append(f"{source}: {writer(inbox, start, days)} in {inbox}")
    return lines
