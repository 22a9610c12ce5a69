"""Concurrency against one warehouse: a Dagster run of every source on the real multiprocess executor
(each step its own process, several at once, no pool limit in the test instance) while two
``acctsync run`` processes book other days of two sources, and an analyst's process holds the published
copy open throughout. No DuckDB lock failure, every day booked once and posted once, and the analyst's
open copy never changes under it (a new copy replaces it whole).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading

import dagster as dg
import pytest

from acctsync_pipelines.lib.config import PROJECT_ROOT
from acctsync_pipelines.lib.publish import publish
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.conftest import Analyst, failure_text
from acctsync_pipelines_tests.reliability.conftest import scale
from acctsync_pipelines_tests.reliability.every_source_job import SOURCES, every_source_job
from acctsync_pipelines_tests.reliability.warehouse_snapshot import duplicate_postings

SAMPLE = PROJECT_ROOT / "data" / "inbox"
SEED_DAY = dt.date(2025, 6, 1)
SPAN = scale(1, 7)                                                   # days per concurrent run
MULTI_DAYS = (dt.date(2025, 6, 2), dt.date(2025, 6, 1) + dt.timedelta(days=SPAN))
CLI_DAYS = (MULTI_DAYS[1] + dt.timedelta(days=1), MULTI_DAYS[1] + dt.timedelta(days=SPAN))
CLI_SOURCES = ("stores", "amazon_business")


def cli_run(source: str, first: dt.date, last: dt.date) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    return subprocess.Popen([sys.executable, "-m", "acctsync_pipelines.cli", "run", "--source", source,
                             "--start", str(first), "--end", str(last)], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_runs_of_days_and_sources_book_everything_once(home, tmp_path, figures):
    if not SAMPLE.is_dir():
        pytest.skip(f"the committed sample is not at {SAMPLE}")
    shutil.copytree(SAMPLE, home.root / "inbox")
    seeded = home.materialize("usen_reji", SEED_DAY)
    assert seeded.success, failure_text(seeded)
    copy = publish(Warehouse(home.warehouse), home.root).database
    analyst = Analyst(copy, "ro")
    try:
        seen_before = analyst.count()

        (tmp_path / "dagster_home").mkdir()
        instance = dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home"))
        outcome: dict = {}

        def multiprocess_run() -> None:
            result = dg.execute_job(
                dg.reconstructable(every_source_job), instance=instance,
                tags={"dagster/asset_partition_range_start": str(MULTI_DAYS[0]),
                      "dagster/asset_partition_range_end": str(MULTI_DAYS[1])})
            with result:
                outcome["success"] = result.success
                outcome["failures"] = [e.step_failure_data.error.message for e in result.all_events
                                       if e.is_step_failure and e.step_failure_data.error]
                outcome["step_processes"] = len({e.pid for e in result.all_events
                                                 if e.is_step_start and e.pid is not None})

        runner = threading.Thread(target=multiprocess_run)
        runner.start()
        clis = [cli_run(source, *CLI_DAYS) for source in CLI_SOURCES]
        cli_results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in clis]
        runner.join(timeout=600)
        for p in clis:
            p.stdout.close()
            p.stderr.close()

        # the analyst's process still reads its copy, undisturbed
        assert analyst.alive
        assert analyst.count() == seen_before
    finally:
        analyst.close()
        instance.dispose() if "instance" in locals() else None

    texts = "\n".join(outcome.get("failures", []) + [out + err for _, out, err in cli_results])
    assert outcome.get("success"), texts
    assert [code for code, _, _ in cli_results] == [0, 0], texts
    assert "lock" not in texts.lower()
    assert outcome["step_processes"] > 1  # the steps really ran in their own processes

    # every day of every run booked, and posted exactly once
    ran = ({(s, d) for s in SOURCES for d in _days(*MULTI_DAYS)}
           | {(s, d) for s in CLI_SOURCES for d in _days(*CLI_DAYS)})
    booked = set(home.query("SELECT DISTINCT source, business_date FROM ledger.journal_entry_lines"))
    unposted = home.query(
        """SELECT count(*) FROM (SELECT DISTINCT entry_id FROM ledger.journal_lines WHERE status <> 'needs_review')
           WHERE entry_id NOT IN (SELECT entry_id FROM ledger.postings WHERE target = 'yayoi_csv')""")[0][0]
    errors = home.query("SELECT source, business_date, message FROM ops.day_errors")
    duplicates = duplicate_postings(home.warehouse)
    assert errors == []
    assert {s for s, _ in ran} <= {s for s, _ in booked}
    assert {(s, d) for s, d in booked if s != "usen_reji" or d != SEED_DAY} <= ran
    assert unposted == 0
    assert duplicates == 0
    assert home.query("SELECT count(*) FROM (SELECT entry_id FROM ledger.postings WHERE action = 'post' "
                      "GROUP BY entry_id, content_hash HAVING count(*) > 1)") == [(0,)]
    # the copy the analyst held was replaced whole by a newer one
    with Warehouse(copy).connect(read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM ledger.journal_lines").fetchone()[0] > seen_before

    figures.add("concurrency", f"multiprocess run ({len(SOURCES)} sources) + 2 `acctsync run` processes, days",
                f"{len(_days(*MULTI_DAYS))} + {len(_days(*CLI_DAYS))}")
    figures.add("concurrency", "step processes in the multiprocess run", outcome["step_processes"], "> 1")
    figures.add("concurrency", "DuckDB lock failures / failed days", f"0 / {len(errors)}", "0 / 0")
    figures.add("concurrency", "entries not posted / posted twice", f"{unposted} / {duplicates}", "0 / 0")
    figures.add("concurrency", "analyst's open copy changed", 0, 0)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
