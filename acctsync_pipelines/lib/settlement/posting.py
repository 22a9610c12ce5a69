"""Posting settlement entries through the common posting log (lib/posting), like every source's entries.

For freee a settlement is not a new document: each deal it settles gets a payment from the bank 口座
and the fee becomes an expense deal (freee_payments.py). Its actions are claimed under the target name
``freee_payments``, which this module adds to the posting module's targets.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.posting import TARGETS, PostingResult, post_day
from acctsync_pipelines.lib.settlement.freee_payments import FreeePaymentsTarget
from acctsync_pipelines.lib.settlement.matching import SOURCE

TARGETS.setdefault(FreeePaymentsTarget.name, FreeePaymentsTarget)
# settlement.targets name → the posting-log target that sends settlements there
POSTING_TARGET = {"freee": FreeePaymentsTarget.name}


def post_settlement_day(conn: duckdb.DuckDBPyConnection, settings: Settings, home: Path, day: dt.date,
                        target: str) -> PostingResult:
    return post_day(conn, settings, home, SOURCE, day, POSTING_TARGET.get(target, target))
