"""Shared fixtures: a temporary ACCTSYNC_HOME with a real DuckDB warehouse, real Dagster runs."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from acctsync_pipelines.lib.config import PROJECT_ROOT

VENDOR_DIR = Path(os.environ.get("ACCTSYNC_VENDOR_DIR") or PROJECT_ROOT.parent / "shared" / "vendor")


class Home:
    """A temporary data root: write inputs and configuration, run the pipeline, read the warehouse."""

    def __init__(self, root: Path):
        self.root = root

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def inbox(self, source: str) -> Path:
        path = self.root / "inbox" / source
        path.mkdir(parents=True, exist_ok=True)
        return path

    def exports(self, target: str = "yayoi") -> Path:
        return self.root / "exports" / target

    def configure(self, config: dict) -> Path:
        path = self.root / "acctsync.yaml"
        path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        return path

    def materialize(self, source: str, start: str | dt.date, end: str | dt.date | None = None,
                    raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
        """Run the source's job (all four stages) for one day, or for a range in one run."""
        from acctsync_pipelines.definitions import defs

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            job = defs().resolve_job_def(f"{source}_daily")
        start, end = str(start), str(end) if end else None
        if end and end != start:
            kwargs = {"tags": {"dagster/asset_partition_range_start": start,
                               "dagster/asset_partition_range_end": end}}
        else:
            kwargs = {"partition_key": start}
        return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=raise_on_error,
                                      **kwargs)

    def query(self, sql: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

    def export_files(self, target: str = "yayoi") -> list[Path]:
        directory = self.exports(target)
        return sorted(p for p in directory.glob("*.csv")) if directory.exists() else []


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    root = tmp_path / "acctsync_home"
    root.mkdir()
    monkeypatch.setenv("ACCTSYNC_HOME", str(root))
    monkeypatch.delenv("ACCTSYNC_CONFIG", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return Home(root)


@contextlib.contextmanager
def module_home(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Home]:
    """A Home for a module-scoped fixture: ACCTSYNC_HOME points at it (and no outside configuration or
    DAGSTER_HOME applies) for as long as the context is open."""
    root = tmp_path_factory.mktemp(name) / "acctsync_home"
    root.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACCTSYNC_HOME", str(root))
        patch.delenv("ACCTSYNC_CONFIG", raising=False)
        patch.delenv("DAGSTER_HOME", raising=False)
        yield Home(root)


# A second process, as an analyst's notebook would be: opens a DuckDB file and keeps it open, answering
# each line on stdin with the journal's line count (same connection) until its stdin closes.
ANALYST = textwrap.dedent("""
    import sys, duckdb
    path, mode = sys.argv[1], sys.argv[2]
    try:
        conn = duckdb.connect(path, read_only=(mode == "ro"))
    except duckdb.Error as exc:
        print("refused", type(exc).__name__, flush=True)
        conn = duckdb.connect(path, read_only=True)
    print("ready", flush=True)
    for line in sys.stdin:
        print(conn.execute("SELECT count(*) FROM ledger.journal_lines").fetchone()[0], flush=True)
""")


class Analyst:
    """The ANALYST process holding ``database`` open (``mode`` 'ro' or 'rw'); ``count()`` asks it."""

    def __init__(self, database: Path, mode: str = "ro"):
        self.process = subprocess.Popen([sys.executable, "-c", ANALYST, str(database), mode], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env={**os.environ})
        first = self.process.stdout.readline()
        self.refused = first.startswith("refused")  # a read-write open of the read-only copy (not as root)
        if self.refused:
            first = self.process.stdout.readline()
        assert first.strip() == "ready", first

    def count(self) -> int:
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def vendor_dir() -> Path:
    if not VENDOR_DIR.is_dir():
        pytest.skip(f"vendor material not found at {VENDOR_DIR} (set ACCTSYNC_VENDOR_DIR to ../shared/vendor)")
    return VENDOR_DIR


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """All step-failure descriptions of a run, joined."""
    texts = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data.user_failure_data and data.user_failure_data.description:
                texts.append(data.user_failure_data.description)
            elif data.error:
                texts.append(data.error.message)
    return "\n".join(texts)
