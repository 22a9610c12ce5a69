"""``python -m acctsync_pipelines.bench [--size full|small]``: the pipeline against the floor.

1. writes (or reuses) a synthetic inbox from the seeded sample generators under ``bench/<size>/home``;
2. the floor: DuckDB alone loading the backfill's inbox files, one row per input line (child process);
3. the pipeline: the backfill through Dagster into a fresh warehouse, posting to yayoi_csv (child process);
   then Dagster's own floor: the same runs of four no-op assets (``bench.dagster_floor``), what recording
   a materialization per partition and asset costs before any work;
4. the analysts' copy of the backfilled warehouse (``acctsync publish``, a whole copy), as a deployment
   has it after every run;
5. one ordinary day, all sources, with ``acctsync run`` in a fresh process (start-up and the refresh of
   the analysts' copy included).

Prints a table, machine-readable ``BENCH …`` lines and ``RATIO pipeline_vs_floor=<float>``. Benchmarks
report; nothing here fails on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from acctsync_pipelines.bench.inbox import BENCH_START, SIZES, BenchSize, ensure_inbox
from acctsync_pipelines.lib.config import PROJECT_ROOT, SOURCE_NAMES

TARGET = "yayoi_csv"
STAGES = ("raw_orders", "normalized_transactions", "journal_entries", "posted_entries")


def available_sources() -> tuple[list[str], dict[str, str]]:
    """Sources with a Dagster module and a sample generator; the others with the reason they are skipped."""
    present, skipped = [], {}
    for source in SOURCE_NAMES:
        if not (PROJECT_ROOT / "acctsync_pipelines" / "defs" / "sources" / f"{source}.py").exists():
            skipped[source] = "no source module in acctsync_pipelines/defs/sources/ yet"
        elif not (PROJECT_ROOT / "acctsync_pipelines" / "lib" / "sample" / f"{source}.py").exists():
            skipped[source] = "no sample generator in acctsync_pipelines/lib/sample/ yet"
        else:
            present.append(source)
    return present, skipped


def _backfill_files(home: Path, source: str, size: BenchSize) -> list[Path]:
    """The inbox files the backfill reads: USEN's bundles of the backfill days; every file of the other
    sources (their files span date ranges, the single day's included)."""
    inbox = home / "inbox" / source
    single = f"_{size.single_day:%Y%m%d}_"
    return [p for p in sorted(inbox.rglob("*"))
            if p.is_file() and not (source == "usen_reji" and single in p.parent.name + "_")]


def _child(module: str, request: dict, workdir: Path, env: dict[str, str]) -> tuple[dict, float, int]:
    """Run ``python -m module request result`` and return (result, wall seconds, peak RSS kB of the child)."""
    request_path, result_path = workdir / f"{module.rsplit('.', 1)[-1]}_request.json", workdir / "result.json"
    request_path.write_text(json.dumps(request, default=str))
    result_path.unlink(missing_ok=True)
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", module, str(request_path), str(result_path)], env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench: {module} failed with exit code {process.returncode}")
    return json.loads(result_path.read_text()), wall, usage.ru_maxrss


def _timed_process(cli_args: list[str], env: dict[str, str]) -> tuple[str, float, float, float, int]:
    """``acctsync <cli_args>`` in a fresh process: output, wall s, CPU s, peak RSS (kB), exit code."""
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "acctsync_pipelines.cli", *cli_args],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.stdout.close()
    return (output, time.perf_counter() - began, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
            os.waitstatus_to_exitcode(status))


def _fresh_state(home: Path, dagster_home: Path) -> None:
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (home / name).unlink(missing_ok=True)
    shutil.rmtree(home / "exports", ignore_errors=True)
    shutil.rmtree(home / "published", ignore_errors=True)
    shutil.rmtree(dagster_home, ignore_errors=True)
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")


def _write_config(home: Path, sources: list[str]) -> Path:
    config = {"sources": {s: ({"start_date": BENCH_START.isoformat()} if s in sources else {"enabled": False})
                          for s in SOURCE_NAMES}}
    path = home / "acctsync.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def _mb(kb: float) -> float:
    return kb / 1024


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
             for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acctsync_pipelines.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT / "bench", help="work folder (git-ignored)")
    parser.add_argument("--skip-floor", action="store_true", help="measure the pipeline only")
    parser.add_argument("--sources", default="", help="comma-separated subset of the available sources")
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    from acctsync_pipelines.defs.pipeline import BACKFILL

    per_run = BACKFILL.max_partitions_per_run or size.days

    work = (args.root / size.name).resolve()
    home, dagster_home = work / "home", work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    print(f"acctsync benchmark ({size.name}): {size.days} days from {BENCH_START} + 1 single day; "
          f"machine: {_machine()}")

    sources, skipped = available_sources()
    if args.sources:
        wanted = set(args.sources.split(","))
        skipped |= {s: "not in --sources" for s in sources if s not in wanted}
        sources = [s for s in sources if s in wanted]
    for source, reason in skipped.items():
        print(f"SKIPPED {source}: {reason}")

    print("\n== inbox")
    for report in ensure_inbox(home, size, sources):
        how = "reused (generated earlier in" if report.reused else "generated in"
        print(f"  {report.source}: {report.description}; {report.files} files, {report.bytes / 1e6:.0f} MB; "
              f"{how} {report.seconds:.1f}s{')' if report.reused else ''}")
        print(f"BENCH generate source={report.source} reused={int(report.reused)} wall_s={report.seconds:.2f} "
              f"files={report.files} bytes={report.bytes}")
    sources = [s for s in sources if (home / "inbox" / s).is_dir()]
    config = _write_config(home, sources)
    env = {**os.environ, "ACCTSYNC_HOME": str(home), "ACCTSYNC_CONFIG": str(config), "DAGSTER_HOME": str(dagster_home),
           "PYTHONWARNINGS": "ignore"}

    floor = None
    if not args.skip_floor:
        print("\n== floor: DuckDB alone, decode + read_csv of the same files into tables")
        files = [[s, str(p)] for s in sources for p in _backfill_files(home, s, size)]
        floor, floor_wall, floor_rss = _child("acctsync_pipelines.bench.floor",
                                              {"files": files, "scratch": str(work / "floor_scratch")}, work, env)
        floor["peak_rss_kb"] = max(floor["peak_rss_kb"], floor_rss)
        print(f"  {floor['rows']} rows from {len(files)} files in {floor['wall_s']:.1f}s "
              f"(decoding {floor['decode_s']:.1f}s), peak RSS {_mb(floor['peak_rss_kb']):.0f} MB")

    print(f"\n== pipeline: backfill {BENCH_START}..{size.backfill_end} through Dagster, {per_run} days per run, "
          f"into a fresh warehouse, posting to {TARGET}")
    _fresh_state(home, dagster_home)
    request = {"sources": sources, "start": BENCH_START, "end": size.backfill_end, "per_run": per_run,
               "warehouse": str(home / "warehouse.duckdb")}
    pipeline, pipeline_wall, pipeline_rss = _child("acctsync_pipelines.bench.backfill", request, work, env)
    pipeline["peak_rss_kb"] = max(pipeline["peak_rss_kb"], pipeline_rss)
    failed = [r for r in pipeline["runs"] if not r["success"]]

    print("\n== Dagster's own floor: the same runs of four no-op assets (fresh instance, same storage)")
    floor_home = work / "dagster_floor_home"
    shutil.rmtree(floor_home, ignore_errors=True)
    floor_home.mkdir(parents=True)
    (floor_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster_floor, _, _ = _child("acctsync_pipelines.bench.dagster_floor",
                                 {"sources": len(sources), "start": BENCH_START, "end": size.backfill_end,
                                  "per_run": per_run, "timezone": "Asia/Tokyo"},
                                 work, {**env, "DAGSTER_HOME": str(floor_home)})
    print(f"  {dagster_floor['events']:,} partition materializations in {dagster_floor['runs']} run(s): "
          f"{dagster_floor['wall_s']:.1f}s wall, {dagster_floor['cpu_s']:.1f}s CPU")

    # A deployment refreshes the analysts' copy after every run (acctsync run, the publish sensor), so an
    # ordinary day finds yesterday's copy in place: make it once here, timed on its own (a whole copy).
    print("\n== the analysts' copy of the backfilled warehouse: acctsync publish (fresh process, a whole copy)")
    output, publish_wall, publish_cpu, publish_rss, publish_exit = _timed_process(["publish"], env)
    for line in output.strip().splitlines():
        print(f"  | {line}")

    # The copy retires an older Parquet version; a detached process deletes its files. An ordinary day comes
    # long after that, so wait for it rather than time the day against it.
    versions = home / "published" / "parquet-versions"
    deadline = time.monotonic() + 300
    while versions.is_dir() and any(p.name.startswith(".removing-") for p in versions.iterdir()) \
            and time.monotonic() < deadline:
        time.sleep(0.5)

    print(f"\n== one ordinary day: acctsync run --source all --start {size.single_day} --end {size.single_day} "
          "(fresh process, on the backfilled warehouse; refreshes the analysts' copy)")
    output, day_wall, day_cpu, day_rss, day_exit = _timed_process(
        ["run", "--source", "all", "--start", size.single_day.isoformat(), "--end", size.single_day.isoformat()], env)
    for line in output.strip().splitlines():
        print(f"  | {line}")
    # The CLI's summary times its runs; the rest of the process is start-up and what follows the runs.
    runs_s = next((float(m.group(1)) for m in re.finditer(r"failed in ([0-9.]+)s", output)), None)

    # -- report --------------------------------------------------------------------------------------
    print("\n== results")
    rows = []
    machine_lines = []
    for source in sources:
        source_runs = [r for r in pipeline["runs"] if r["source"] == source]
        for stage in STAGES:
            wall = sum(r["stages"].get(stage, {}).get("wall_s", 0.0) for r in source_runs)
            cpu = sum(r["stages"].get(stage, {}).get("cpu_s", 0.0) for r in source_runs)
            rss = max((r["stages"].get(stage, {}).get("peak_rss_kb", 0) for r in source_runs), default=0)
            count = pipeline["rows"][source][stage]
            rate = count / wall if wall else 0.0
            rows.append([f"{source}/{stage}", f"{count:,}", f"{wall:.1f}", f"{cpu:.1f}", f"{rate:,.0f}",
                         f"{_mb(rss):.0f}"])
            machine_lines.append(f"BENCH stage source={source} stage={stage} rows={count} wall_s={wall:.3f} "
                                 f"cpu_s={cpu:.3f} rows_per_s={rate:.0f} peak_rss_mb={_mb(rss):.0f}")
    total_rows = sum(pipeline["rows"][s]["raw_orders"] for s in sources)
    rows.append(["pipeline (all runs, incl. Dagster)", f"{total_rows:,}", f"{pipeline['wall_s']:.1f}",
                 f"{pipeline['cpu_s']:.1f}", f"{total_rows / pipeline['wall_s']:,.0f}",
                 f"{_mb(pipeline['peak_rss_kb']):.0f}"])
    if floor:
        rows.append(["floor (DuckDB alone)", f"{floor['rows']:,}", f"{floor['wall_s']:.1f}", f"{floor['cpu_s']:.1f}",
                     f"{floor['rows'] / floor['wall_s']:,.0f}", f"{_mb(floor['peak_rss_kb']):.0f}"])
    rows.append(["Dagster's floor (no-op assets)", f"{dagster_floor['events']:,}", f"{dagster_floor['wall_s']:.1f}",
                 f"{dagster_floor['cpu_s']:.1f}", "", ""])
    rows.append(["analysts' copy, whole (process)", "", f"{publish_wall:.1f}", f"{publish_cpu:.1f}", "",
                 f"{_mb(publish_rss):.0f}"])
    rows.append(["one day, acctsync run (process)", "", f"{day_wall:.1f}", f"{day_cpu:.1f}", "", f"{_mb(day_rss):.0f}"])
    if runs_s is not None:
        rows.append(["  of which its Dagster runs", "", f"{runs_s:.1f}", "", "", ""])
    print(_table(rows, ["stage", "rows", "wall s", "cpu s", "rows/s", "peak RSS MB"]))
    print("(cpu s: process CPU time, all threads; on a busy machine it is steadier than wall time)")

    print("\nper run, start: peak RSS / wall (memory and time per run should stay flat as the warehouse grows):")
    for source in sources:
        print(f"  {source}: " + "  ".join(f"{r['start'][5:]}:{_mb(r['peak_rss_kb']):.0f}MB/{r['wall_s']:.0f}s"
                                          for r in pipeline["runs"] if r["source"] == source))

    print()
    for line in machine_lines:
        print(line)
    for r in pipeline["runs"]:
        print(f"BENCH run source={r['source']} start={r['start']} end={r['end']} success={int(r['success'])} "
              f"wall_s={r['wall_s']:.3f} peak_rss_mb={_mb(r['peak_rss_kb']):.0f}")
    print(f"BENCH pipeline wall_s={pipeline['wall_s']:.3f} cpu_s={pipeline['cpu_s']:.3f} "
          f"load_s={pipeline['load_s']:.3f} rows={total_rows} "
          f"peak_rss_mb={_mb(pipeline['peak_rss_kb']):.0f} failed_runs={len(failed)}")
    posting = sum(r["stages"].get("posted_entries", {}).get("wall_s", 0.0) for r in pipeline["runs"])
    print(f"BENCH posting target={TARGET} wall_s={posting:.3f} "
          f"lines={sum(pipeline['rows'][s]['posted_entries'] for s in sources)}")
    if floor:
        print(f"BENCH floor wall_s={floor['wall_s']:.3f} cpu_s={floor['cpu_s']:.3f} decode_s={floor['decode_s']:.3f} "
              f"rows={floor['rows']} "
              f"peak_rss_mb={_mb(floor['peak_rss_kb']):.0f}")
    print(f"BENCH dagster_floor events={dagster_floor['events']} runs={dagster_floor['runs']} "
          f"wall_s={dagster_floor['wall_s']:.3f} cpu_s={dagster_floor['cpu_s']:.3f}")
    print(f"BENCH publish_whole exit={publish_exit} wall_s={publish_wall:.3f} cpu_s={publish_cpu:.3f} "
          f"peak_rss_mb={_mb(publish_rss):.0f}")
    print(f"BENCH one_day day={size.single_day} exit={day_exit} wall_s={day_wall:.3f} cpu_s={day_cpu:.3f} "
          f"runs_s={runs_s if runs_s is not None else -1:.3f} peak_rss_mb={_mb(day_rss):.0f}")
    if floor:
        print(f"BENCH ratio_cpu pipeline_vs_floor={pipeline['cpu_s'] / floor['cpu_s']:.2f}")
        both = floor["wall_s"] + dagster_floor["wall_s"]
        print(f"BENCH ratio pipeline_vs_duckdb_and_dagster_floors={pipeline['wall_s'] / both:.2f}")
        print(f"RATIO pipeline_vs_floor={pipeline['wall_s'] / floor['wall_s']:.2f}")
    if failed:
        print("\nFAILED runs (the numbers above are not comparable):", file=sys.stderr)
        for r in failed:
            print(f"- {r['source']} {r['start']}..{r['end']}: {r['failure']}", file=sys.stderr)
        return 1
    return 0 if day_exit == 0 and publish_exit == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
