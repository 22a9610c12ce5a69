"""The posting process SIGKILLed at random moments, then restarted until it finishes: every entry posted
exactly once, nothing missing, each batch's Yayoi file complete, no partial file left or taken for a batch."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time

from acctsync_pipelines.lib.config import PROJECT_ROOT, load_settings
from acctsync_pipelines.lib.targets.yayoi_csv import YayoiCsvTarget
from acctsync_pipelines.lib.warehouse import Warehouse
from acctsync_pipelines_tests.reliability.conftest import scale
from acctsync_pipelines_tests.reliability.test_posting_properties import write_version
from acctsync_pipelines_tests.reliability.warehouse_snapshot import duplicate_postings

DAYS = scale(40, 120)
KILLS = scale(3, 20)


def seed_journal(home) -> None:
    with Warehouse(home.warehouse).connect() as conn:
        for offset in range(DAYS):
            day = dt.date(2025, 4, 1) + dt.timedelta(days=offset)
            write_version(conn, {f"e{n}": ([(("現金", ""), ("売上高", ""), 100 * (offset + 1) + n)], "ready")
                                 for n in range(4)}, day)


def start_worker(home) -> subprocess.Popen:
    env = {**os.environ, "ACCTSYNC_HOME": str(home.root)}
    return subprocess.Popen([sys.executable, "-m", "acctsync_pipelines_tests.reliability.posting_worker",
                             str(home.root)], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkilled_posting_resumes_exactly_once(home, figures):
    seed_journal(home)
    rng = random.Random(20250602)
    kills = 0
    killed_with_partial = 0
    progress = []
    while True:
        worker = start_worker(home)
        if kills < KILLS:
            # first wait for the worker to post something, then kill it somewhere in the middle
            first = worker.stdout.readline()
            time.sleep(rng.uniform(0.0, 0.4))
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait()
                kills += 1
                progress.append(first.strip())
                killed_with_partial += bool(list(home.exports().glob(".*.partial")))
                continue
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        if kills >= KILLS:
            break
    settings = load_settings()
    target = YayoiCsvTarget(settings, home.root)
    with Warehouse(home.warehouse).connect() as conn:
        mismatched = conn.execute(
            """WITH journal AS (SELECT entry_id, account, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS n
                                FROM ledger.journal_entry_lines GROUP BY ALL),
                    posted AS (SELECT entry_id, account, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS n
                               FROM ledger.posted_lines GROUP BY ALL)
               SELECT count(*) FROM journal FULL JOIN posted USING (entry_id, account)
               WHERE journal.n IS DISTINCT FROM posted.n""").fetchone()[0]
        batches = [b for (b,) in conn.execute("SELECT batch_id FROM ledger.posting_batches ORDER BY 1").fetchall()]
        posts = conn.execute("SELECT count(*) FROM ledger.postings").fetchone()[0]
        files_match = all(target.path_for(b).read_bytes() == target.render(conn, b) for b in batches)
    files = sorted(p.name for p in home.exports().glob("*.csv"))
    partials = list(home.exports().glob(".*"))
    assert mismatched == 0
    assert posts == DAYS * 4  # every entry exactly once, nothing missing
    assert duplicate_postings(home.warehouse) == 0
    assert files == sorted(f"{b}.csv" for b in batches) and len(batches) == DAYS
    assert files_match
    assert partials == []
    figures.add("crashes", "SIGKILLs during posting, then restarted", kills, KILLS)
    figures.add("crashes", "entries posted (expected exactly once each)", posts, DAYS * 4)
    figures.add("crashes", "entries missing or doubled", mismatched, 0)
    figures.add("crashes", "partial Yayoi files left / seen right after a kill", f"{len(partials)} / {killed_with_partial}",
                "0 / any")
