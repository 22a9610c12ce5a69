"""What an API source offers the polling sensor: the business days with new activity since a cursor.

A source that reads an API (STORES, Amazon Business) supports polling by implementing
``poll_activity`` on its ``Source`` object. The sensor passes back the cursor the previous call
returned (``None`` the first time) and requests a run for every day in ``days``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from acctsync_pipelines.lib.config import Settings


@dataclass(frozen=True)
class Activity:
    days: list[dt.date]
    cursor: str  # opaque to the sensor, e.g. the highest ``updated_at`` seen
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class PollsActivity(Protocol):
    name: str

    def poll_activity(self, settings: Settings, home: Path, cursor: str | None) -> Activity:
        """Ask the API what changed since ``cursor``. Raise on errors; never log credentials."""
        ...


def polls_activity(source: object) -> bool:
    return isinstance(source, PollsActivity)
