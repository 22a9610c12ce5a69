"""The analysts' copy of the warehouse: something to query that never blocks the pipeline.

DuckDB lets one process hold a database file for writing, and any open connection to the
pipeline's own ``warehouse.duckdb`` would block the next run. So analysts get copies under
``$ACCTSYNC_HOME/published/``:

- ``acctsync.duckdb``: every table, view and macro of the ``raw``, ``staging``, ``ledger``, ``ops`` and
  ``reports`` schemas, written to a temporary file in the same folder and renamed over the old copy
  (``os.replace`` is atomic). A process holding the old copy open keeps reading the old file.
- ``parquet/<schema>/<table>/source=<source>/business_date=<day>/*.parquet`` for tables and views with
  a business date (the partition columns are also kept inside the files), and
  ``parquet/<schema>/<table>/data.parquet`` for the others. ``parquet`` is a symlink to a complete
  version folder under ``parquet-versions/``, swapped atomically; the previous version is kept so a
  query that started on it can finish.
- ``manifest.json``: when, from which ledger state (a fingerprint), and the row count of each relation.

Nothing is rewritten when the warehouse has not changed since the last copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
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
_COPY_ALIAS = "publish_copy"


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


def fingerprint(conn: duckdb.DuckDBPyConnection, relations: list[Relation]) -> str:
    """A digest of every base table's content (order-independent), to tell whether anything changed.

    Columns like ``loaded_at`` (a timestamp named ``*_at``) are left out: re-reading the same input
    changes when it was read, not what it says. Any real change also changes another column or the
    row count (a new posting is a new row).
    """
    digest = hashlib.sha256()
    for rel in relations:
        if rel.kind != "BASE TABLE":
            continue
        stable = [f'"{c}"' for c in rel.columns if c not in rel.volatile] or ["NULL"]
        count, total = conn.execute(
            f"SELECT count(*), coalesce(sum(hash({', '.join(stable)})::HUGEINT), 0) FROM {rel.qualified}"
        ).fetchone()
        digest.update(f"{rel.label}:{count}:{total}\n".encode())
    return digest.hexdigest()


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _source_of(rel: Relation) -> str | None:
    """A source's own tables are named after it (raw.usen_reji_slips); shared ones carry ``source``."""
    return next((s for s in SOURCE_NAMES if rel.name == s or rel.name.startswith(s + "_")), None)


def _write_parquet(conn: duckdb.DuckDBPyConnection, rel: Relation, root: Path) -> None:
    target = root / rel.schema / rel.name
    target.parent.mkdir(parents=True, exist_ok=True)
    if "business_date" not in rel.columns:
        target.mkdir(exist_ok=True)
        conn.execute(f"COPY (SELECT * FROM {rel.qualified}) TO {_sql_path(target / 'data.parquet')} (FORMAT parquet)")
        return
    if "source" in rel.columns:
        select = f"SELECT * FROM {rel.qualified}"
    elif _source_of(rel):
        select = f"SELECT '{_source_of(rel)}' AS source, * FROM {rel.qualified}"
    else:
        select = f"SELECT NULL::VARCHAR AS source, * FROM {rel.qualified}"
    (has_rows,) = conn.execute(f"SELECT count(*) > 0 FROM {rel.qualified}").fetchone()
    if not has_rows:
        return  # PARTITION_BY writes nothing for no rows; the manifest lists the relation with 0 rows
    conn.execute(
        f"COPY ({select}) TO {_sql_path(target)} "
        "(FORMAT parquet, PARTITION_BY (source, business_date), WRITE_PARTITION_COLUMNS true)"
    )


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
    older = sorted((p for p in versions.iterdir() if p.is_dir() and p.resolve() != current),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in older[max(keep - 1, 0):]:
        shutil.rmtree(stale, ignore_errors=True)
    return link


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
    try:
        with warehouse.connect(read_only=True) as conn:
            relations = _relations(conn)
            digest = fingerprint(conn, relations)
            parquet_ready = not parquet or (out / PARQUET_LINK).exists()
            if not force and previous.get("fingerprint") == digest and database.is_file() and parquet_ready:
                return PublishResult(False, "the warehouse has not changed since the last copy", digest, database,
                                     out / PARQUET_LINK if parquet else None, previous.get("rows", {}))
            rows = {rel.label: conn.execute(f"SELECT count(*) FROM {rel.qualified}").fetchone()[0]
                    for rel in relations}
            (catalog,) = conn.execute("SELECT current_database()").fetchone()
            conn.execute(f"ATTACH {_sql_path(temp_db)} AS {_COPY_ALIAS} (READ_WRITE)")
            try:
                conn.execute(f'COPY FROM DATABASE "{catalog}" TO {_COPY_ALIAS}')
            finally:
                conn.execute(f"DETACH {_COPY_ALIAS}")
            if parquet:
                version = out / PARQUET_VERSIONS / f"{stamp:%Y%m%dT%H%M%S%fZ}-{digest[:8]}"
                version.mkdir(parents=True)
                for rel in relations:
                    _write_parquet(conn, rel, version)
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
