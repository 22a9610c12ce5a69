"""The analysts' copy of the warehouse: something to query that never blocks the pipeline.

DuckDB lets one process hold a database file for writing, and any open connection to the
pipeline's own ``warehouse.duckdb`` would block the next run. So analysts get copies under
``$ACCTSYNC_HOME/published/``:

- ``acctsync.duckdb``: every table, view and macro of the ``raw``, ``staging``, ``ledger``, ``ops`` and
  ``reports`` schemas: after a checkpoint, the warehouse file's bytes are copied (sequentially, while
  this process holds the file so nothing writes it) to a temporary file in the same folder, which is
  renamed over the old copy (``os.replace`` is atomic). A process holding the old copy open keeps
  reading the old file.
- ``parquet/<schema>/<table>/source=<source>/business_date=<day>/*.parquet`` for tables and views with
  a business date (the partition columns are also kept inside the files), and
  ``parquet/<schema>/<table>/data.parquet`` for the others. ``parquet`` is a symlink to a complete
  version folder under ``parquet-versions/``, swapped atomically; the previous version is kept so a
  query that started on it can finish. Only partitions (or unpartitioned relations) whose content
  digest changed since the previous version are written; the others are hard links to its files (a
  table whose content did not change at all is linked without being read). Older versions are renamed
  out of the way and deleted by a detached process.
- ``manifest.json``: when, from which ledger state (a fingerprint), the row count of each relation, and
  the content digest of each Parquet partition.

Nothing is rewritten when the warehouse has not changed since the last copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.config import SOURCE_NAMES
from acctsync_pipelines.lib.warehouse import Warehouse

SCHEMAS = ("raw", "staging", "ledger", "ops", "reports")
DATABASE_NAME = "acctsync.duckdb"
PARQUET_LINK = "parquet"
PARQUET_VERSIONS = "parquet-versions"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str  # 'BASE TABLE' | 'VIEW'
    columns: tuple[str, ...]
    volatile: tuple[str, ...] = ()  # "when it was read" timestamps: a re-run changes them, not the facts

    @property
    def qualified(self) -> str:
        return f'"{self.schema}"."{self.name}"'

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class PublishResult:
    published: bool  # False when nothing changed since the last copy (or there is no warehouse yet)
    reason: str
    fingerprint: str = ""
    database: Path | None = None
    parquet: Path | None = None
    rows: dict[str, int] = field(default_factory=dict)


def published_dir(home: Path) -> Path:
    return home / "published"


def _relations(conn: duckdb.DuckDBPyConnection) -> list[Relation]:
    rows = conn.execute(
        """SELECT t.table_schema, t.table_name, t.table_type,
                  list(c.column_name ORDER BY c.ordinal_position),
                  list(c.column_name ORDER BY c.ordinal_position)
                      FILTER (WHERE c.column_name LIKE '%\\_at' ESCAPE '\\' AND c.data_type LIKE 'TIMESTAMP%')
           FROM information_schema.tables t
           JOIN information_schema.columns c
             ON c.table_catalog = t.table_catalog AND c.table_schema = t.table_schema AND c.table_name = t.table_name
           WHERE t.table_catalog = current_database() AND list_contains(?, t.table_schema)
           GROUP BY ALL ORDER BY t.table_schema, t.table_name""",
        [list(SCHEMAS)],
    ).fetchall()
    return [Relation(schema, name, kind, tuple(columns), tuple(volatile or ()))
            for schema, name, kind, columns, volatile in rows]


def table_digests(conn: duckdb.DuckDBPyConnection, relations: list[Relation]) -> dict[str, tuple[str, str]]:
    """Each base table's content digests (row count and the sum of its rows' hashes: order-independent):
    of its facts, and of every column (what its Parquet files hold).

    The facts leave out columns like ``loaded_at`` (a timestamp named ``*_at``): re-reading the same
    input changes when it was read, not what it says. Any real change also changes another column or
    the row count (a new posting is a new row).
    """
    found = {}
    for rel in relations:
        if rel.kind != "BASE TABLE":
            continue
        stable = [f'"{c}"' for c in rel.columns if c not in rel.volatile] or ["NULL"]
        every = [f'"{c}"' for c in rel.columns] or ["NULL"]
        count, facts, whole = conn.execute(
            f"SELECT count(*), coalesce(sum(hash({', '.join(stable)})::HUGEINT), 0), "
            f"coalesce(sum(hash({', '.join(every)})::HUGEINT), 0) FROM {rel.qualified}"
        ).fetchone()
        found[rel.label] = (f"{count}:{facts}", f"{count}:{whole}")
    return found


def fingerprint(digests: dict[str, tuple[str, str]]) -> str:
    """One digest of every base table's facts, to tell whether anything changed."""
    digest = hashlib.sha256()
    for label, (facts, _) in digests.items():
        digest.update(f"{label}:{facts}\n".encode())
    return digest.hexdigest()


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _source_of(rel: Relation) -> str | None:
    """A source's own tables are named after it (raw.usen_reji_slips); shared ones carry ``source``."""
    return next((s for s in SOURCE_NAMES if rel.name == s or rel.name.startswith(s + "_")), None)


def _partition_folder(source: str | None, day: dt.date | None) -> str | None:
    """The hive folder DuckDB writes for a partition; None where its naming is not plain (NULLs, odd names)."""
    if source is None or day is None or not source.replace("_", "").isalnum():
        return None
    return f"source={source}/business_date={day.isoformat()}"


def _link_tree(old: Path | str, new: Path | str) -> None:
    """``new`` as hard links to every file under ``old`` (folders recreated). Plain strings and scandir:
    a year's copy links thousands of partition folders on every refresh."""
    os.makedirs(new, exist_ok=True)
    with os.scandir(old) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _link_tree(entry.path, os.path.join(new, entry.name))
            elif entry.is_file(follow_symlinks=False):
                os.link(entry.path, os.path.join(new, entry.name))


def _write_parquet(conn: duckdb.DuckDBPyConnection, rel: Relation, root: Path,
                   previous_root: Path | None = None, previous: dict[str, str] | None = None,
                   unchanged: bool = False, whole_digest: str | None = None) -> dict[str, str]:
    """Write the relation's Parquet under ``root``; return the content digest of each partition written.

    A partition whose digest (row count and the sum of every column's row hash) equals ``previous`` is
    hard-linked from ``previous_root`` instead of written again (files there are never modified). A base
    table whose whole content is ``unchanged`` since then is linked as it is, without reading it; a base
    table's ``whole_digest`` (``table_digests``) is its digest when it has no partitions.
    """
    target = root / rel.schema / rel.name
    target.parent.mkdir(parents=True, exist_ok=True)
    old = previous_root / rel.schema / rel.name if previous_root is not None else None
    if unchanged and previous is not None and old is not None and old.is_dir():
        _link_tree(old, target)
        return dict(previous)
    previous = previous or {}
    stable = [f'"{c}"' for c in rel.columns]  # every column: unlike the fingerprint, the files hold them all
    if "business_date" not in rel.columns:
        digest = whole_digest or "{}:{}".format(*conn.execute(
            f"SELECT count(*), coalesce(sum(hash({', '.join(stable)})::HUGEINT), 0) FROM {rel.qualified}").fetchone())
        target.mkdir(exist_ok=True)
        if old is not None and previous.get("") == digest and (old / "data.parquet").is_file():
            os.link(old / "data.parquet", target / "data.parquet")
        else:
            conn.execute(f"COPY (SELECT * FROM {rel.qualified}) TO {_sql_path(target / 'data.parquet')} (FORMAT parquet)")
        return {"": digest}
    if "source" in rel.columns:
        select = f"SELECT * FROM {rel.qualified}"
    elif _source_of(rel):
        select = f"SELECT '{_source_of(rel)}' AS source, * FROM {rel.qualified}"
    else:
        select = f"SELECT NULL::VARCHAR AS source, * FROM {rel.qualified}"
    partitions = conn.execute(
        f"SELECT source, business_date, count(*), coalesce(sum(hash({', '.join(stable)})::HUGEINT), 0) "
        f"FROM ({select}) GROUP BY ALL"
    ).fetchall()
    if not partitions:
        return {}  # PARTITION_BY writes nothing for no rows; the manifest lists the relation with 0 rows
    digests: dict[str, str] = {}
    reused: list[str] = []
    changed = False
    for source, day, count, total in partitions:
        folder = _partition_folder(source, day)
        if folder is None:
            changed = True
            continue
        digests[folder] = f"{count}:{total}"
        if old is not None and previous.get(folder) == digests[folder] and (old / folder).is_dir():
            reused.append(folder)
        else:
            changed = True
    if changed:
        # Written first, into a folder of its own: the hard links below never share a name with new files.
        keys = [folder.replace("source=", "", 1).replace("/business_date=", "|", 1) for folder in reused]
        conn.execute(
            f"COPY (SELECT * FROM ({select}) "
            "WHERE NOT coalesce(list_contains($reused, source || '|' || business_date::VARCHAR), false)) "
            f"TO {_sql_path(target)} "
            "(FORMAT parquet, PARTITION_BY (source, business_date), WRITE_PARTITION_COLUMNS true)",
            {"reused": keys},
        )
    for folder in reused:
        _link_tree(old / folder, target / folder)
    return digests


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_parquet(out: Path, version: Path, keep: int) -> Path:
    """Point ``out/parquet`` at ``version`` atomically; keep the newest ``keep`` versions."""
    link = out / PARQUET_LINK
    versions = out / PARQUET_VERSIONS
    if link.exists() and not link.is_symlink():  # a real folder from elsewhere: keep it as a version
        link.rename(versions / f"previous-{uuid.uuid4().hex[:8]}")
    temp_link = out / f".{PARQUET_LINK}.{uuid.uuid4().hex}.tmp"
    temp_link.symlink_to(Path(PARQUET_VERSIONS) / version.name, target_is_directory=True)
    os.replace(temp_link, link)
    _fsync(out)
    current = version.resolve()
    older = sorted((p for p in versions.iterdir() if p.is_dir() and p.resolve() != current
                    and not p.name.startswith(".")), key=lambda p: p.stat().st_mtime, reverse=True)
    trash = []
    for stale in older[max(keep - 1, 0):]:
        renamed = versions / f".removing-{stale.name}"
        os.replace(stale, renamed)  # out of sight at once; deleting its many files happens after us
        trash.append(renamed)
    _remove_later([*trash, *(p for p in versions.iterdir() if p.name.startswith(".removing-") and p not in trash)])
    return link


def _remove_later(folders: list[Path]) -> None:
    """Delete ``folders`` in a detached process: a version holds a file per partition (thousands), and
    nobody waits for that. Whatever is left (a crash) is picked up by the next publish."""
    if folders:
        subprocess.Popen([sys.executable, "-c", "import shutil, sys\nfor p in sys.argv[1:]: shutil.rmtree(p, True)",
                          *map(str, folders)], start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)


def _previous_parquet_version(out: Path, previous: dict) -> Path | None:
    """The version folder the last manifest describes, if ``parquet`` still points at it."""
    link = out / PARQUET_LINK
    name = previous.get("parquet_version")
    if not name or not link.is_symlink() or "parquet_digests" not in previous:
        return None
    current = link.resolve()
    return current if current.name == name and current.is_dir() else None


def publish(warehouse: Warehouse, home: Path, parquet: bool = True, keep_parquet_versions: int = 2,
            force: bool = False) -> PublishResult:
    """Copy the warehouse for analysts (see the module docstring). Run it where no pipeline step writes."""
    if not warehouse.path.exists():
        return PublishResult(False, f"no warehouse yet at {warehouse.path}")
    out = published_dir(home)
    out.mkdir(parents=True, exist_ok=True)
    database = out / DATABASE_NAME
    manifest_path = out / MANIFEST
    previous = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    stamp = dt.datetime.now(dt.timezone.utc)
    temp_db = out / f".{DATABASE_NAME}.{uuid.uuid4().hex}.tmp"
    version = None
    parquet_digests: dict[str, dict[str, str]] = {}
    try:
        # Read-write: it may checkpoint, and while it is open no other process can write the file.
        with warehouse.connect() as conn:
            relations = _relations(conn)
            tables = table_digests(conn, relations)
            digest = fingerprint(tables)
            parquet_ready = not parquet or (out / PARQUET_LINK).exists()
            if not force and previous.get("fingerprint") == digest and database.is_file() and parquet_ready:
                return PublishResult(False, "the warehouse has not changed since the last copy", digest, database,
                                     out / PARQUET_LINK if parquet else None, previous.get("rows", {}))
            rows = {rel.label: conn.execute(f"SELECT count(*) FROM {rel.qualified}").fetchone()[0]
                    for rel in relations}
            # Everything committed is in the file itself after a checkpoint (no WAL); a sequential copy
            # of its bytes is much faster than re-inserting every table into a new database.
            conn.execute("FORCE CHECKPOINT")
            shutil.copyfile(warehouse.path, temp_db)
            if parquet:
                previous_version = _previous_parquet_version(out, previous)
                version = out / PARQUET_VERSIONS / f"{stamp:%Y%m%dT%H%M%S%fZ}-{digest[:8]}"
                version.mkdir(parents=True)
                previous_tables = previous.get("table_digests", {}) if previous_version else {}
                for rel in relations:
                    parquet_digests[rel.label] = _write_parquet(
                        conn, rel, version, previous_version,
                        previous.get("parquet_digests", {}).get(rel.label) if previous_version else None,
                        unchanged=rel.label in tables and previous_tables.get(rel.label) == tables[rel.label][1],
                        whole_digest=tables[rel.label][1] if rel.label in tables else None)
        _fsync(temp_db)
        temp_db.chmod(0o444)  # a read-only copy: analysts open it with read_only=True / duckdb -readonly
        stale_wal = out / f"{DATABASE_NAME}.wal"
        if stale_wal.exists():
            stale_wal.unlink()
        os.replace(temp_db, database)
        _fsync(out)
        link = _swap_parquet(out, version, keep_parquet_versions) if version else None
    except BaseException:
        temp_db.unlink(missing_ok=True)
        if version is not None and not (out / PARQUET_LINK).resolve() == version.resolve():
            shutil.rmtree(version, ignore_errors=True)
        raise
    manifest = {
        "fingerprint": digest,
        "published_at": stamp.isoformat(),
        "database": DATABASE_NAME,
        "parquet": PARQUET_LINK if link else None,
        "parquet_version": version.name if version else None,
        "rows": rows,
        "parquet_digests": parquet_digests if link else {},
        "table_digests": {label: whole for label, (_, whole) in tables.items()},
    }
    temp_manifest = out / f".{MANIFEST}.{uuid.uuid4().hex}.tmp"
    temp_manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temp_manifest, manifest_path)
    return PublishResult(True, "published", digest, database, link, rows)


def main() -> int:
    """``python -m acctsync_pipelines.lib.publish``: refresh the copy by hand (no run may be writing)."""
    from acctsync_pipelines.lib.config import acctsync_home, load_settings

    home = acctsync_home()
    cfg = load_settings().publish
    result = publish(Warehouse(home / "warehouse.duckdb"), home, parquet=cfg.parquet,
                     keep_parquet_versions=cfg.keep_parquet_versions, force=True)
    print(f"{result.reason}: {result.database or home / 'published'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
