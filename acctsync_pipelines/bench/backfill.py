"""The pipeline side of the benchmark: a backfill through Dagster, as a UI backfill of the assets runs it.

The assets' policy (``defs.pipeline.BACKFILL``) decides the runs: ``single_run()`` makes a backfill one
run per source tagged with its partition range (``multi_run(n)``: one per n consecutive days). This runs
exactly those runs of each source's job, in process, against a Dagster instance with real (SQLite)
storage, into the warehouse of ``$ACCTSYNC_HOME``. Per stage it reads wall time from the run's step events and peak RSS from the
sampler (``bench.rss``).

Run as a child process: ``python -m acctsync_pipelines.bench.backfill <request.json> <result.json>``;
the environment carries ``ACCTSYNC_HOME`` and ``DAGSTER_HOME``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import warnings
from pathlib import Path

from acctsync_pipelines.bench.rss import RssSampler, peak_rss_kb

STAGES = ("raw_orders", "normalized_transactions", "journal_entries", "posted_entries")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def chunks(start: dt.date, end: dt.date, size: int) -> list[tuple[dt.date, dt.date]]:
    """Consecutive inclusive ranges of ``size`` days, as the backfill policy makes the runs."""
    result = []
    first = start
    while first <= end:
        last = min(first + dt.timedelta(days=size - 1), end)
        result.append((first, last))
        first = last + dt.timedelta(days=1)
    return result


def _step_windows(instance, run_id: str) -> dict[str, tuple[float, float]]:
    windows: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        stage = event.step_key.split("__")[-1]
        if event.event_type_value == "STEP_START":
            windows[stage] = [entry.timestamp, entry.timestamp]
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and stage in windows:
            windows[stage][1] = entry.timestamp
    return {stage: (w[0], w[1]) for stage, w in windows.items()}


def _row_counts(warehouse: Path, source: str, target: str) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        raw_tables = [name for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name LIKE ? "
            "AND table_name NOT LIKE '%bundles' AND table_name NOT LIKE '%\\_file%' ESCAPE '\\'",
            [f"{source}%"]).fetchall()]  # bundles and kept inbox files describe inputs; they are not input rows
        raw = sum(conn.execute(f'SELECT count(*) FROM raw."{t}"').fetchone()[0] for t in raw_tables)
        one = lambda sql: conn.execute(sql, [source]).fetchone()[0]  # noqa: E731
        return {
            "raw_orders": raw,
            "normalized_transactions": one("SELECT count(*) FROM staging.normalized_transactions WHERE source = ?"),
            "journal_entries": one("SELECT count(*) FROM ledger.journal_entry_lines WHERE source = ?"),
            "posted_entries": conn.execute(
                "SELECT count(*) FROM ledger.posted_lines WHERE source = ? AND target = ?", [source, target]
            ).fetchone()[0],
        }


def run_backfill(sources: list[str], start: dt.date, end: dt.date, per_run: int, warehouse: Path) -> dict:
    sampler = RssSampler().start()
    began, cpu_began = time.perf_counter(), time.process_time()
    import dagster as dg

    warnings.filterwarnings("ignore")
    from acctsync_pipelines.definitions import defs

    definitions = defs()
    instance = dg.DagsterInstance.get()
    loaded_s = time.perf_counter() - began
    runs = []
    for source in sources:
        job = definitions.resolve_job_def(f"{source}_daily")
        for first, last in chunks(start, end, per_run):
            t0, w0 = time.perf_counter(), time.time()
            result = job.execute_in_process(
                instance=instance, raise_on_error=False,
                tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat(), "acctsync/trigger": "bench"},
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
            wall = time.perf_counter() - t0
            steps = _step_windows(instance, result.run_id)
            runs.append({
                "source": source, "start": first.isoformat(), "end": last.isoformat(), "days": (last - first).days + 1,
                "success": result.success, "wall_s": wall,
                "peak_rss_kb": sampler.peak_between(w0, time.time()),
                "stages": {stage: {"wall_s": e - s, "cpu_s": sampler.cpu_between(s, e),
                                   "peak_rss_kb": sampler.peak_between(s, e)}
                           for stage, (s, e) in steps.items()},
                "failure": None if result.success else _failure(result),
            })
            print(f"  {source} {first}..{last}: {'ok' if result.success else 'FAILED'} in {wall:.1f}s", flush=True)
    wall = time.perf_counter() - began
    sampler.stop()
    rows = {source: _row_counts(warehouse, source, "yayoi_csv") for source in sources}
    return {"wall_s": wall, "load_s": loaded_s, "runs": runs, "rows": rows, "cpu_s": time.process_time() - cpu_began,
            "peak_rss_kb": max(sampler.overall_peak_kb, peak_rss_kb())}


def _failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                return data.user_failure_data.description[:2000]
            if data.error:
                return data.error.message[:2000]
    return "run failed"


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text())
    result = run_backfill(request["sources"], dt.date.fromisoformat(request["start"]),
                          dt.date.fromisoformat(request["end"]), request["per_run"], Path(request["warehouse"]))
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
