"""The pipeline-owned DuckDB warehouse: short connections, closed on every path, and one transaction per write."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.sql import split_statements, sql_text

_SCHEMA_FILES: list[tuple[str, str]] = [(__file__, "schema.sql")]


def register_schema(anchor: str, name: str) -> None:
    """Sources add their raw tables here; applied on every connect (all statements are idempotent)."""
    if (anchor, name) not in _SCHEMA_FILES:
        _SCHEMA_FILES.append((anchor, name))


class Warehouse:
    """One DuckDB file. DuckDB allows one writing process, so connections are short and always closed."""

    def __init__(self, path: str | Path, lock_timeout_s: float = 120.0):
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                # Another process holds the write lock (a concurrent run outside the pool).
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = self._open(read_only)
        try:
            if not read_only:
                apply_schema(conn)
            yield conn
        finally:
            conn.close()


def apply_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Run each registered schema file whose exact text this warehouse has not run yet.

    ops.schema_applied remembers a digest of every file text run here, so an unchanged schema costs
    one query per connect instead of every statement (a changed or new file runs in full; all are idempotent).
    """
    try:
        applied = {digest for (digest,) in conn.execute("SELECT digest FROM ops.schema_applied").fetchall()}
    except duckdb.CatalogException:
        applied = set()
    for anchor, name in list(_SCHEMA_FILES):
        text = sql_text(anchor, name)
        relative = f"{Path(anchor).parent.name}/{name}"
        digest = hashlib.sha256(f"{relative}\n{text}".encode()).hexdigest()
        if digest in applied:
            continue
        for statement in split_statements(text):
            conn.execute(statement)
        conn.execute("CREATE TABLE IF NOT EXISTS ops.schema_applied "
                     "(digest VARCHAR PRIMARY KEY, file VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
        conn.execute("INSERT OR REPLACE INTO ops.schema_applied VALUES (?, ?, now())", [digest, relative])


@contextlib.contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK on any error: a day window is replaced whole or not at all."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
