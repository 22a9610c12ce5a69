"""SQL files live beside the code that runs them; this reads them once."""

from functools import cache
from pathlib import Path


@cache
def sql_text(anchor: str, name: str) -> str:
    """The text of ``name`` in the folder of module file ``anchor`` (pass ``__file__``)."""
    return (Path(anchor).parent / name).read_text(encoding="utf-8")


def split_statements(text: str) -> list[str]:
    """Split a file of ';'-terminated statements (no ';' inside literals in our files)."""
    return [stmt.strip() for stmt in text.split(";\n") if stmt.strip() and not _only_comments(stmt)]


def _only_comments(stmt: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in stmt.splitlines())


def run(conn, text: str, params: dict | None = None):
    """Execute ``text`` with the named parameters it uses ($name); extra ones are dropped."""
    used = {k: v for k, v in (params or {}).items() if f"${k}" in text}
    return conn.execute(text, used) if used else conn.execute(text)
