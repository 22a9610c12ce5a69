"""Security: known secret values never reach the warehouse, exports, logs or the Dagster event log; no SQL is
built by formatting data into strings; the UI binds to 127.0.0.1 and the README says how to expose it."""

from __future__ import annotations

import ast
import logging

import pytest

from acctsync_pipelines.lib.config import PROJECT_ROOT
from acctsync_pipelines_tests.conftest import failure_text
from acctsync_pipelines_tests.lib.targets import usen_days

PACKAGE = PROJECT_ROOT / "acctsync_pipelines"
SQL_CALLS = {"execute", "executemany", "sql", "query"}

# Interpolations into SQL text that are allowed: identifiers and fragments that come from code constants or
# the catalog, and literals quoted by a helper that doubles quotes. Anything new fails this test until a
# reviewer adds it here with its reason.
ALLOWED = {
    # table/column names and SQL fragments chosen by code (constants, config keys validated by pydantic)
    ("defs/pipeline.py", "PREVIEW_LINES"), ("lib/config_tables.py", "name"),
    ("lib/sources.py", "table"), ("lib/sources.py", "_IN_WINDOW"), ("lib/stores/source.py", "table"), ("lib/stores/source.py", "condition"),
    ("lib/usen_reji/source.py", "RAW_TABLES[kind]"), ("lib/usen_reji/source.py", "excluded"),
    ("lib/usen_reji/source.py", "file_name"), ("lib/usen_reji/source.py", "kind"),
    ("lib/usen_reji/source.py", "table"), ("lib/usen_reji/source.py", "text_date"),
    ("lib/amazon_business/source.py", "', '.join((f'{c} {t}' for c, t in columns.items()))"),
    ("lib/amazon_business/source.py", "c"), ("lib/amazon_business/source.py", "name"),
    ("lib/amazon_business/source.py", "t"), ("lib/settlement/matching.py", "table"),
    ("lib/review/queue.py", "_LINE_COLUMNS"), ("lib/review/queue.py", "where"), ("lib/targets/api_base.py", "where"),
    ("lib/publish.py", "', '.join(stable)"), ("lib/publish.py", "', '.join(every)"),
    ("lib/publish.py", "_COPY_ALIAS"), ("lib/publish.py", "catalog"),
    ("lib/publish.py", "rel.qualified"), ("lib/publish.py", "select"),
    ("lib/textfiles.py", "MAX_LINE_BYTES"), ("lib/textfiles.py", "blank"), ("lib/textfiles.py", "k"),
    ("lib/textfiles.py", "mark"), ("lib/textfiles.py", "n"), ("lib/textfiles.py", "selected"),
    ("lib/textfiles.py", "str(parallel).lower()"), ("lib/textfiles.py", "table"),
    ("bench/backfill.py", "t"), ("bench/floor.py", "n"), ("bench/floor.py", "name"), ("bench/floor.py", "pattern"),
    ("bench/floor.py", "table"),
    # the benchmark's floor: a JSON path and a read_json_objects() call over its own synthetic files
    ("bench/floor.py", "objects"), ("bench/floor.py", "path"),
    # file paths and marker strings quoted as SQL literals by a quote-doubling helper
    ("lib/textfiles.py", "_sql_string(str(path))"), ("lib/textfiles.py", "_sql_string(_NOT_NULL)"),
    ("lib/textfiles.py", "_sql_string(newline.encode('unicode_escape').decode())"),
    ("bench/floor.py", "_sql_string(str(combined))"),
    ("lib/publish.py", "_sql_path(target / 'data.parquet')"), ("lib/publish.py", "_sql_path(target)"),
    ("lib/publish.py", "_sql_path(temp_db)"),
}


def sql_interpolations() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_CALLS and node.args):
                continue
            for sub in ast.walk(node.args[0]):
                if isinstance(sub, ast.FormattedValue):
                    found.add((relative, ast.unparse(sub.value)))
                elif isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mod) and isinstance(sub.left, ast.Constant):
                    found.add((relative, "% " + ast.unparse(sub.right)))
                elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "format":
                    found.add((relative, ".format: " + ast.unparse(sub)))
    return found


def test_no_sql_is_built_by_formatting_data_into_strings(figures):
    found = sql_interpolations()
    unexpected = sorted(found - ALLOWED)
    assert unexpected == [], "SQL text built from values not on the allow-list (use ? / $name parameters)"
    figures.add("security", "SQL interpolations outside the allow-list", len(unexpected), 0)


def test_the_ui_binds_to_loopback_and_the_readme_says_how_to_expose_it(figures):
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    ui = makefile[makefile.index("\nui:"):].split("\n\n")[0]
    assert "-h 127.0.0.1" in ui and "0.0.0.0" not in ui
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Exposing the webserver safely" in readme
    figures.add("security", "webserver binds to (make ui) / README explains exposing it", "127.0.0.1 / yes",
                "127.0.0.1 / yes")


def test_known_secrets_are_nowhere_after_a_run(home, vendor_dir, monkeypatch, caplog, capfd, figures):
    from acctsync_pipelines_tests.fakes.freee_api import FreeeFake
    from acctsync_pipelines_tests.lib.targets.conftest import freee_config

    schema = vendor_dir / "freee" / "accounting-api-schema.json"
    if not schema.is_file():
        pytest.skip(f"freee's OpenAPI schema not found at {schema}")
    fake = FreeeFake(schema)
    fake.start()
    try:
        access, refresh = fake.issue_tokens()
        secrets = {"FREEE_ACCESS_TOKEN": access, "FREEE_REFRESH_TOKEN": refresh,
                   "FREEE_CLIENT_ID": fake.client_id, "FREEE_CLIENT_SECRET": fake.client_secret}
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        fake.fail_next("POST", "/api/1/deals", "expire_token")  # forces a refresh: new tokens to look for too
        fake.fail_next("POST", "/api/1/deals", "500")
        usen_days.write(home.inbox("usen_reji"), usen_days.store_day())
        home.configure(freee_config(fake, create_sections=True, targets=["yayoi_csv", "freee"]))
        with caplog.at_level(logging.DEBUG):
            result = home.materialize("usen_reji", usen_days.DAY)
        assert result.success, failure_text(result)
        with fake.lock:
            issued = set(fake.access_tokens) | set(fake.refresh_tokens)
        values = {v for v in [*secrets.values(), *issued] if len(v) >= 8}
        # the client id is not a secret, but it is not data either: it must not be stored
        places = {"warehouse": b"".join(p.read_bytes() for p in home.root.glob("warehouse.duckdb*")),
                  "exports": b"".join(p.read_bytes() for p in home.root.rglob("exports/**/*") if p.is_file()),
                  "logs": (caplog.text + "".join(capfd.readouterr())).encode(),
                  "event log": "\n".join(repr(e) for e in result.all_events).encode()}
        leaks = sorted((where, value[:6] + "…") for where, data in places.items() for value in values
                       if value.encode() in data)
        assert leaks == []
        figures.add("security", f"secret values found ({len(values)} values, {len(places)} places)", len(leaks), 0)
    finally:
        fake.stop()
