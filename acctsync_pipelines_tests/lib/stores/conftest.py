"""STORES fixtures: the vendor's samples (skipped with the reason when ../shared/vendor is absent)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import dagster as dg
import pytest

from acctsync_pipelines_tests.conftest import failure_text


@pytest.fixture
def vendor_orders(vendor_dir: Path) -> list[dict]:
    return json.loads((vendor_dir / "stores" / "orders.json").read_text(encoding="utf-8"))["orders"]


@pytest.fixture
def vendor_remittances(vendor_dir: Path) -> list[dict]:
    return json.loads((vendor_dir / "stores" / "remittances.json").read_text(encoding="utf-8"))["remittances"]


@pytest.fixture(scope="session")
def stores_job(tmp_path_factory):
    """The real ``stores_daily`` job, loaded once for the session (loading the code location takes a
    while). Its partitions start in 2021-11 so the vendor samples' days exist; each test's own
    ACCTSYNC_HOME and configuration still decide what a run reads and how it books."""
    config = tmp_path_factory.mktemp("stores_definitions") / "acctsync.yaml"
    config.write_text("sources:\n  stores:\n    start_date: '2021-11-01'\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.setenv("ACCTSYNC_CONFIG", str(config))
        warnings.simplefilter("ignore")
        from acctsync_pipelines.definitions import defs

        return defs().resolve_job_def("stores_daily")


@pytest.fixture
def run_stores(stores_job, home):
    """Materialize the four STORES stages for one day or a range (one run), asserting success unless told."""

    def run(start: str, end: str | None = None, expect_success: bool = True) -> dg.ExecuteInProcessResult:
        if end and end != start:
            kwargs = {"tags": {"dagster/asset_partition_range_start": start,
                               "dagster/asset_partition_range_end": end}}
        else:
            kwargs = {"partition_key": start}
        result = stores_job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
                                               **kwargs)
        if expect_success:
            assert result.success, failure_text(result)
        return result

    return run
