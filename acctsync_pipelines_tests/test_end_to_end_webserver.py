"""End to end through the real Dagster webserver and daemon, the way a user operates acctsync.

``dagster dev -w workspace.yaml`` on 127.0.0.1 (a free port) with a temporary DAGSTER_HOME and an
ACCTSYNC_HOME holding a copy of the sample inbox. Through the webserver's GraphQL API (what the UI
calls) the test checks what the code location loaded, launches a partition-range backfill of every
source from the asset graph, waits for it, and checks the warehouse and the analysts' copy. The
server's whole process group is stopped at the end, also when the test fails.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml

from acctsync_pipelines.lib.config import PROJECT_ROOT

START, END = "2025-06-01", "2025-06-03"
DAYS = ["2025-06-01", "2025-06-02", "2025-06-03"]
STAGES = ("raw_orders", "normalized_transactions", "journal_entries", "posted_entries")
LOAD_TIMEOUT_S = 180
BACKFILL_TIMEOUT_S = 240
PUBLISH_TIMEOUT_S = 90
DAGSTER = Path(sys.executable).parent / "dagster"  # the dagster CLI of the environment running the tests

LOCATION_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
REPOSITORY_QUERY = """
{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name location { name }
    assetNodes { assetKey { path } groupName isPartitioned hasAssetChecks }
    schedules { name cronSchedule executionTimezone scheduleState { status } }
    sensors { name sensorState { status } }
    jobs { name } } } } }
"""
LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack } ... on InvalidSubsetError { message }
    ... on PartitionSetNotFoundError { message } ... on UnauthorizedError { message } } }
"""
BACKFILL_STATUS = """
query Backfill($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
    ... on PartitionBackfill { status numPartitions } ... on PythonError { message } } }
"""
BACKFILL_RUNS = """
query Runs($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) { __typename
    ... on Runs { results { runId status jobName tags { key value } } } } }
"""
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterDev:
    """``dagster dev`` in its own process group; ``stop`` ends the webserver, daemon and code servers."""

    def __init__(self, dagster_home: Path, acctsync_home: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.log_path = log
        env = {k: v for k, v in os.environ.items() if k not in {"ACCTSYNC_CONFIG", "DAGSTER_HOME"}}
        env.update(DAGSTER_HOME=str(dagster_home), ACCTSYNC_HOME=str(acctsync_home), PYTHONUNBUFFERED="1")
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=PROJECT_ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.client = httpx.Client(timeout=60)

    def query(self, text: str, variables: dict | None = None) -> dict:
        response = self.client.post(self.url, json={"query": text, "variables": variables or {}})
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait_until_loaded(self) -> list[dict]:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"dagster dev exited:\n{self.tail()}"
            try:
                entries = self.query(LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
            except (httpx.HTTPError, KeyError, AssertionError):  # not serving yet
                time.sleep(1)
                continue
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return entries
            time.sleep(1)
        raise AssertionError(f"the code location did not load in {LOAD_TIMEOUT_S}s:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        try:  # anything of the group still alive (code servers, run workers)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


@pytest.fixture
def dagster_dev(tmp_path, monkeypatch):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "data" / "dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    acctsync_home = tmp_path / "acctsync_home"
    shutil.copytree(PROJECT_ROOT / "data" / "inbox", acctsync_home / "inbox")
    # The inbox sensor would also book all 21 sample days; this test drives the backfill alone.
    (acctsync_home / "acctsync.yaml").write_text(yaml.safe_dump(
        {"sensors": {"inbox": {"default_status": "stopped"}}, "publish": {"interval_seconds": 5}}), encoding="utf-8")
    monkeypatch.setenv("ACCTSYNC_HOME", str(acctsync_home))
    monkeypatch.delenv("ACCTSYNC_CONFIG", raising=False)
    server = DagsterDev(dagster_home, acctsync_home, tmp_path / "dagster_dev.log")
    try:
        yield server, acctsync_home
    finally:
        server.stop()


def available() -> tuple[list[str], set[str]]:
    """The sources that should be loaded, and the polling sensors they should have."""
    from acctsync_pipelines.defs.available import available_sources
    from acctsync_pipelines.defs.sensors import POLLING_SOURCES
    from acctsync_pipelines.lib.config import load_settings
    from acctsync_pipelines.lib.polling import polls_activity

    sources = available_sources(load_settings())
    polling = {f"{s.name}_api_poll" for s in sources if s.name in POLLING_SOURCES and polls_activity(s)}
    return [s.name for s in sources], polling


def test_webserver_loads_everything_and_a_ui_backfill_books_every_source(dagster_dev):
    server, home = dagster_dev
    sources, polling_sensors = available()
    assert "usen_reji" in sources

    (entry,) = server.wait_until_loaded()
    assert entry["name"] == "acctsync_pipelines"
    (repo,) = server.query(REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    assets = {"/".join(a["assetKey"]["path"]): a for a in repo["assetNodes"]}
    for source in sources:
        for stage in STAGES:
            asset = assets[f"{source}/{stage}"]
            assert asset["groupName"] == source and asset["isPartitioned"]
        assert assets[f"{source}/journal_entries"]["hasAssetChecks"]
    assert "analysts/published_warehouse" in assets
    schedules = {s["name"]: s for s in repo["schedules"]}
    assert schedules.pop("settlement_nightly")["cronSchedule"] == "0 4 * * *"  # an hour after the sources'
    assert set(schedules) == {f"{s}_nightly" for s in sources}
    assert all(s["executionTimezone"] == "Asia/Tokyo" and s["cronSchedule"] == "0 3 * * *" for s in schedules.values())
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert sensors["inbox_sensor"] == "STOPPED"  # as configured for this test
    assert sensors["publish_after_ledger_runs"] == "RUNNING"
    assert {name: sensors.get(name) for name in polling_sensors} == {name: "STOPPED" for name in polling_sensors}
    assert {f"{s}_daily" for s in sources} <= {j["name"] for j in repo["jobs"]}

    # What the UI sends for "Materialize → partitions" on the asset graph, for every source at once.
    params = {
        "title": "end-to-end test",
        "partitionsByAssets": [
            {"assetKey": {"path": [source, stage]}, "partitions": {"range": {"start": START, "end": END}}}
            for source in sources for stage in STAGES
        ],
    }
    launched = server.query(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    status = None
    while time.monotonic() < deadline:
        status = server.query(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]
        if status in DONE:
            break
        time.sleep(2)
    runs = server.query(BACKFILL_RUNS, {"id": backfill_id})["runsOrError"]["results"]
    assert status in {"COMPLETED", "COMPLETED_SUCCESS"}, f"backfill {status}; runs {runs}\n{server.tail()}"
    assert runs and all(r["status"] == "SUCCESS" for r in runs), runs
    # The backfill policy holds: three days of a source are one run per source, not one run per day.
    assert len(runs) <= len(sources), [(r["jobName"], r["tags"]) for r in runs]

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM ops.day_errors").fetchone() == (0,)
        booked = conn.execute(
            """SELECT source, count(DISTINCT business_date) FROM ledger.journal_lines
               WHERE business_date BETWEEN ? AND ? GROUP BY ALL""", [START, END]).fetchall()
        unbalanced = conn.execute(
            """SELECT count(*) FROM (SELECT entry_id FROM ledger.journal_entry_lines GROUP BY entry_id
               HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0)""").fetchone()
        posted = dict(conn.execute("SELECT source, count(*) FROM ledger.posted_lines GROUP BY ALL").fetchall())
        outside = conn.execute("SELECT count(*) FROM ledger.journal_entry_lines WHERE business_date NOT BETWEEN ? AND ?",
                               [START, END]).fetchone()
    assert dict(booked)["usen_reji"] == 3
    assert unbalanced == (0,) and outside == (0,)
    assert posted["usen_reji"] > 0
    exports = sorted(p.name for p in (home / "exports" / "yayoi").glob("usen_reji_*.csv"))
    assert exports == [f"usen_reji_{day.replace('-', '')}_001.csv" for day in DAYS]

    # The publish sensor follows the ledger runs with one publish run: the analysts' copy appears.
    manifest = home / "published" / "manifest.json"
    deadline = time.monotonic() + PUBLISH_TIMEOUT_S
    while time.monotonic() < deadline and not manifest.exists():
        time.sleep(2)
    assert manifest.exists(), f"no published copy after {PUBLISH_TIMEOUT_S}s\n{server.tail()}"
    rows = json.loads(manifest.read_text(encoding="utf-8"))["rows"]
    with duckdb.connect(str(home / "published" / "acctsync.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM ledger.journal_lines").fetchone() == (rows["ledger.journal_lines"],)
