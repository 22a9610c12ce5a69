"""The floor: DuckDB alone reading the benchmark's inbox files into tables, one row per input line.

DuckDB's CSV reader has no CP932 decoder without a downloaded extension, so the floor decodes each file
the way the pipeline must (UTF-8, else CP932), appends it as UTF-8 to one scratch file per file kind
(headers after the first dropped), and lets one ``read_csv`` per kind load it into a table of a fresh
database file. JSON answers (STORES, Amazon Business) load a row per record of their lists.

Run as a child process: ``python -m acctsync_pipelines.bench.floor <request.json> <result.json>``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from acctsync_pipelines.bench.rss import RssSampler
from acctsync_pipelines.lib.textfiles import decode_text


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _kind(name: str) -> str:
    """Files of one kind share a name up to digits (slips.csv; orders_20240401.json)."""
    return re.sub(r"\d+", "N", name)


def _load_json(conn: duckdb.DuckDBPyConnection, table: str, pattern: str) -> int:
    """API answers are one object per file holding record lists ({"orders": [...]}): a row per record, kept as
    JSON (no schema inference: inferring the vendors' nested structs costs more than reading them)."""
    objects = f"read_json_objects({pattern}, filename = true, maximum_object_size = 1073741824)"
    keys = [key for (key,) in conn.execute(
        f"""SELECT DISTINCT key FROM (SELECT unnest(json_keys(json)) AS key, json FROM {objects})
            WHERE json_type(json, '$."' || key || '"') = 'ARRAY' ORDER BY key""").fetchall()]
    count = 0
    for n, key in enumerate(keys):
        path = _sql_string(f'$."{key}"[*]')
        conn.execute(f"CREATE TABLE {table}_{n} AS SELECT filename, unnest(json_extract(json, {path})) AS record "
                     f"FROM {objects}")
        count += conn.execute(f"SELECT count(*) FROM {table}_{n}").fetchone()[0]
    if not keys:
        conn.execute(f"CREATE TABLE {table} AS SELECT filename, json AS record FROM {objects}")
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return count


def run_floor(files: list[tuple[str, Path]], scratch: Path) -> dict:
    """``files``: (source, path) of every inbox file the backfill reads; one table per source and file kind."""
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    sampler = RssSampler().start()
    began, cpu_began = time.perf_counter(), time.process_time()
    groups: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for source, path in files:
        groups[(source, _kind(path.name))].append(path)
    decode_s = 0.0
    rows = 0
    tables = {}
    conn = duckdb.connect(str(scratch / "floor.duckdb"))
    try:
        for index, ((source, kind), paths) in enumerate(sorted(groups.items())):
            folder = scratch / f"g{index}"
            folder.mkdir()
            suffix = Path(kind).suffix.lower()
            table = f"floor_{index}"
            t0 = time.perf_counter()
            if suffix == ".json":
                for n, path in enumerate(paths):
                    (folder / f"{n}{suffix}").write_bytes(decode_text(path, path.read_bytes()).encode("utf-8"))
                decode_s += time.perf_counter() - t0
                count = _load_json(conn, table, _sql_string(str(folder / f"*{suffix}")))
            else:
                # DuckDB's reader has a fixed cost per file, so the floor hands it one file per kind: every
                # file decoded, its header dropped after the first, its body appended.
                combined = folder / f"all{suffix}"
                with open(combined, "w", encoding="utf-8", newline="") as out:
                    for n, path in enumerate(paths):
                        text = decode_text(path, path.read_bytes())
                        if n:
                            text = text[text.find("\n") + 1:] if "\n" in text else ""
                        if text and not text.endswith("\n"):
                            text += "\n"
                        out.write(text)
                decode_s += time.perf_counter() - t0
                conn.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv({_sql_string(str(combined))}, "
                             "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"')")
                (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            tables[f"{source}/{kind}"] = {"files": len(paths), "rows": count}
            rows += count
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    wall = time.perf_counter() - began
    sampler.stop()
    shutil.rmtree(scratch)
    return {"wall_s": wall, "cpu_s": time.process_time() - cpu_began, "decode_s": decode_s, "rows": rows,
            "tables": tables,
            "peak_rss_kb": sampler.overall_peak_kb}


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text())
    result = run_floor([(source, Path(p)) for source, p in request["files"]], Path(request["scratch"]))
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
