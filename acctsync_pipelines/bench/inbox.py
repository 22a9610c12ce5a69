"""The benchmark's synthetic inbox: the sample generators at a chain's volume, written once and reused.

An inbox is reused when its manifest (sizes, seed, start, and a digest of the generator code) matches;
anything else rewrites it. Generation time is recorded in the manifest so a reused inbox still reports it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import inspect
import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from acctsync_pipelines.lib.sample import usen_reji as usen_sample

BENCH_START = dt.date(2024, 4, 1)  # a fiscal year; every day is long finished, as `acctsync run` requires
SEED = 20240401


@dataclass(frozen=True)
class BenchSize:
    name: str
    days: int                       # the backfill; one more day is written for the single-day run
    usen_stores: int
    usen_slips_per_day: tuple[int, int]   # about 2.5 lines per slip plus cancellations: ~400 lines a store-day
    stores_orders_per_day: int
    amazon_transactions_per_day: int

    @property
    def inbox_days(self) -> int:
        return self.days + 1

    @property
    def backfill_end(self) -> dt.date:
        return BENCH_START + dt.timedelta(days=self.days - 1)

    @property
    def single_day(self) -> dt.date:
        return BENCH_START + dt.timedelta(days=self.days)


SIZES = {
    "full": BenchSize("full", 365, 20, (150, 170), 200, 50),
    # a tenth of the chain's stores; the other sources scaled alike, so the run stays about a minute
    "small": BenchSize("small", 60, 2, (150, 170), 20, 5),
}


def usen_stores(count: int) -> list[tuple[str, str]]:
    return [(f"{i:04d}", f"店舗{i:02d}") for i in range(1, count + 1)]


def _write_usen(inbox: Path, size: BenchSize) -> str:
    # One store at a time keeps the generator's in-memory days to one store's year.
    store_days = lines = 0
    for index, store in enumerate(usen_stores(size.usen_stores)):
        for sd in usen_sample.generate_days(SEED + index, BENCH_START, size.inbox_days, stores=[store],
                                            slips_per_day=size.usen_slips_per_day):
            usen_sample.write_bundle(inbox, sd, 1, "cp932")
            store_days += 1
            lines += sum(len(s.lines) for s in sd.slips)
    return f"{store_days} store-days, {lines} slip lines"


def _write_stores(inbox: Path, size: BenchSize) -> str:
    from acctsync_pipelines.lib.sample import stores

    written = stores.write_sample(inbox, seed=SEED, start=BENCH_START, days=size.inbox_days,
                                  orders_per_day=size.stores_orders_per_day)
    return f"{len(written)} files, {size.stores_orders_per_day} EC orders a day"


def _write_amazon(inbox: Path, size: BenchSize) -> str:
    """The generator models one buyer (about one transaction a day); the chain's volume is that many
    buyers' exports side by side, each in its own folder, seeded apart."""
    from acctsync_pipelines.lib.sample import amazon_business

    per_buyer = len(amazon_business.generate(BENCH_START, size.inbox_days, SEED).transactions) / size.inbox_days
    copies = max(1, round(size.amazon_transactions_per_day / per_buyer))
    for n in range(copies):
        amazon_business.write_sample(inbox / f"buyer_{n + 1:02d}", start=BENCH_START, days=size.inbox_days,
                                     seed=SEED + n)
    transactions = sum(len(json.loads(p.read_text(encoding="utf-8"))["transactions"])
                       for p in inbox.rglob("transactions_*.json"))
    return f"{copies} buyers' exports, {transactions / size.inbox_days:.0f} transactions a day"


def _writers(size: BenchSize):
    return {
        "usen_reji": lambda inbox: _write_usen(inbox, size),
        "stores": lambda inbox: _write_stores(inbox, size),
        "amazon_business": lambda inbox: _write_amazon(inbox, size),
    }


_WRITER_FUNCTIONS = {"usen_reji": _write_usen, "stores": _write_stores, "amazon_business": _write_amazon}


def _generator_digest(source: str) -> str | None:
    try:
        module = importlib.import_module(f"acctsync_pipelines.lib.sample.{source}")
    except ModuleNotFoundError:
        return None
    return hashlib.sha256(Path(inspect.getfile(module)).read_bytes()).hexdigest()[:16]


@dataclass
class InboxReport:
    source: str
    reused: bool
    seconds: float
    description: str
    files: int
    bytes: int


def ensure_inbox(home: Path, size: BenchSize, sources: list[str]) -> list[InboxReport]:
    """Write (or reuse) ``home/inbox/<source>/`` for each source; return what was done, per source."""
    reports = []
    writers = _writers(size)
    for source in sources:
        inbox = home / "inbox" / source
        manifest_path = home / f"manifest_{source}.json"
        wanted = {"size": asdict(size), "seed": SEED, "start": BENCH_START.isoformat(),
                  "generator": _generator_digest(source),
                  "writer": hashlib.sha256(inspect.getsource(_WRITER_FUNCTIONS[source]).encode()).hexdigest()[:16]}
        wanted = json.loads(json.dumps(wanted))  # as it reads back (tuples become lists)
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        if manifest.get("wanted") == wanted and inbox.is_dir():
            reports.append(InboxReport(source, True, manifest["seconds"], manifest["description"],
                                       manifest["files"], manifest["bytes"]))
            continue
        if inbox.exists():
            shutil.rmtree(inbox)
        manifest_path.unlink(missing_ok=True)
        inbox.mkdir(parents=True)
        began = time.perf_counter()
        description = writers[source](inbox)
        seconds = time.perf_counter() - began
        files = [p for p in inbox.rglob("*") if p.is_file()]
        total = sum(p.stat().st_size for p in files)
        manifest_path.write_text(json.dumps({"wanted": wanted, "seconds": seconds, "description": description,
                                             "files": len(files), "bytes": total}, ensure_ascii=False))
        reports.append(InboxReport(source, False, seconds, description, len(files), total))
    return reports
