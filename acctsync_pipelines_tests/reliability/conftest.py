"""Scale (fast inside ``make test``, full under ``ACCTSYNC_RELIABILITY=full``) and the figures table.

Every test records what it measured with ``figures.add(area, measure, value, expected)``; the table is
printed at the end of the session (and written to ``$ACCTSYNC_RELIABILITY_REPORT`` when set). The tests
assert the same figures themselves; the table is the readable summary.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

FULL = os.environ.get("ACCTSYNC_RELIABILITY", "").strip().lower() == "full"


def scale(fast: int, full: int) -> int:
    return full if FULL else fast


class Figures:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.lock = threading.Lock()

    def add(self, area: str, measure: str, value: object, expected: object = "") -> None:
        with self.lock:
            self.rows.append((area, measure, str(value), str(expected)))

    def table(self) -> str:
        head = ("area", "measure", "value", "expected")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(4)]
        line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
        mode = "full" if FULL else "fast"
        return "\n".join([f"reliability figures ({mode})", line(head), line(tuple("-" * w for w in widths)),
                          *(line(r) for r in self.rows)])


FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES.rows:
        return
    text = FIGURES.table()
    terminalreporter.write_sep("=", "reliability")
    terminalreporter.write_line(text)
    report = os.environ.get("ACCTSYNC_RELIABILITY_REPORT")
    if report:
        Path(report).write_text(text + "\n", encoding="utf-8")
