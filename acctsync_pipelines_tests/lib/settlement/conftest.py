"""A USEN warehouse booked once from the committed sample's generator (two stores, three weeks, through
the real Dagster job), copied into each test's home so settlement tests start from real receivables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import warnings
from pathlib import Path

import dagster as dg
import pytest

from acctsync_pipelines.lib.sample.usen_reji import StoreDay, write_sample

SAMPLE_START = dt.date(2025, 6, 1)
SAMPLE_DAYS = 21


@dataclasses.dataclass(frozen=True)
class BookedSample:
    warehouse: Path
    store_days: list[StoreDay]

    def tender_total(self, tender: str, day: dt.date, store: str | None = None) -> int:
        """What the register took in a tender on a day (the close bundle's truth: the last close)."""
        return sum(p[2] for sd in self.store_days if sd.day == day and store in (None, sd.store_code)
                   for s in sd.slips for p in s.payments if p[0] == tender)


@pytest.fixture(scope="session")
def booked_sample(tmp_path_factory) -> BookedSample:
    root = tmp_path_factory.mktemp("usen_sample_home")
    store_days = write_sample(root / "inbox" / "usen_reji", start=SAMPLE_START, days=SAMPLE_DAYS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCTSYNC_HOME", str(root))
        patch.delenv("ACCTSYNC_CONFIG", raising=False)
        patch.delenv("DAGSTER_HOME", raising=False)
        from acctsync_pipelines.definitions import defs

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            job = defs().resolve_job_def("usen_reji_daily")
        last = SAMPLE_START + dt.timedelta(days=SAMPLE_DAYS - 1)
        result = job.execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=True,
            tags={"dagster/asset_partition_range_start": str(SAMPLE_START),
                  "dagster/asset_partition_range_end": str(last)})
        assert result.success
    return BookedSample(root / "warehouse.duckdb", store_days)


@pytest.fixture
def sample_home(home, booked_sample):
    """``home`` holding the booked USEN sample's warehouse."""
    shutil.copy(booked_sample.warehouse, home.warehouse)
    return home
