"""What changed in ``$ACCTSYNC_HOME/inbox`` since the last look, and which source days to re-run.

Plain Python (no Dagster, no DuckDB), so the inbox sensor stays cheap and testable. The caller
keeps the returned cursor and passes it back next time. The cursor maps each file (path relative
to the inbox) to its size, mtime and digest:

- A file is read only once its size and mtime are the same on two consecutive scans (it may still
  be being written before that). USEN bundles additionally wait for their ``close.csv`` marker:
  the source says which days a file affects and answers ``None`` for an incomplete bundle.
- A file whose size or mtime changed but whose content (sha256) did not is not a change.
- Symlinks, anything resolving outside the inbox, hidden files (``.name``) and editor or download
  leftovers (``name~``, ``*.part``, ``*.tmp``, ``*.crdownload``) are ignored.
- Days before the source's first partition are ignored; days after the last partition (today,
  unless today is configured as a partition) are remembered and requested once they exist.
- A removed file requests nothing (archiving processed files must not re-run their days).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from acctsync_pipelines.lib.sources import Source
from acctsync_pipelines.lib.textfiles import inside

CURSOR_VERSION = 1
IGNORED_SUFFIXES = ("~", ".part", ".tmp", ".crdownload", ".partial", ".swp")


@dataclass(frozen=True)
class DayRange:
    """Consecutive business days of one source to (re-)run, with the files that asked for them."""

    source: str
    start: dt.date
    end: dt.date  # inclusive
    run_key: str
    files: tuple[str, ...]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class ScanResult:
    ranges: list[DayRange]
    cursor: str
    waiting: int = 0  # files seen for the first time or still changing: read on a later scan
    notes: list[str] = field(default_factory=list)


@dataclass
class _Cursor:
    files: dict[str, list] = field(default_factory=dict)  # rel → [size, mtime_ns, sha256]
    pending: dict[str, list] = field(default_factory=dict)  # rel → [size, mtime_ns] from the previous scan
    deferred: list[list] = field(default_factory=list)  # [source, day, rel, sha256, mtime_ns] for future days

    @classmethod
    def load(cls, text: str | None) -> _Cursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return cls()
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
            return cls()
        return cls(data.get("files", {}), data.get("pending", {}), data.get("deferred", []))

    def dump(self) -> str:
        return json.dumps(
            {"v": CURSOR_VERSION, "files": self.files, "pending": self.pending, "deferred": self.deferred},
            separators=(",", ":"), sort_keys=True, ensure_ascii=False,
        )


def _ignored_name(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(IGNORED_SUFFIXES)


def _files_of(inbox: Path, source: str) -> list[tuple[str, Path, os.stat_result]]:
    """Regular files under ``inbox/<source>/``, never following a symlink."""
    top = inbox / source
    if top.is_symlink() or not top.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _ignored_name(d) and not (here / d).is_symlink())
        for name in sorted(filenames):
            if _ignored_name(name):
                continue
            path = here / name
            try:
                info = os.lstat(path)
            except OSError:
                continue  # removed while we looked
            if not stat.S_ISREG(info.st_mode) or not inside(inbox, path):
                continue
            found.append((path.relative_to(inbox).as_posix(), path, info))
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ranges(source: str, changes: dict[dt.date, list[tuple]], max_days: int) -> list[DayRange]:
    """Consecutive days → one range (at most ``max_days`` long); the run key hashes what changed."""
    ranges: list[DayRange] = []
    group: list[dt.date] = []

    def close() -> None:
        if not group:
            return
        contributions = sorted({(str(day), *c) for day in group for c in changes[day]})
        key = hashlib.sha256(json.dumps(contributions).encode()).hexdigest()[:16]
        ranges.append(DayRange(source, group[0], group[-1], f"inbox:{source}:{group[0]}..{group[-1]}:{key}",
                               tuple(sorted({c[0] for day in group for c in changes[day]}))))
        group.clear()

    for day in sorted(changes):
        if group and (day - group[-1] != dt.timedelta(days=1) or len(group) >= max_days):
            close()
        group.append(day)
    close()
    return ranges


def scan(
    home: Path,
    sources: Mapping[str, Source],
    cursor: str | None,
    first_day: Mapping[str, dt.date],
    last_day: dt.date,
    max_files: int = 2000,
    max_days_per_run: int = 31,
    max_seconds: float | None = None,
) -> ScanResult:
    """Compare the inbox of every source in ``sources`` with ``cursor``; return the days to run.

    ``first_day[source]`` and ``last_day`` bound the days that exist as partitions. At most
    ``max_files`` files are digested per scan, and none once ``max_seconds`` have passed; the others
    stay waiting for the next scan (a sensor tick has a time limit).
    """
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    state = _Cursor.load(cursor)
    inbox = home / "inbox"
    files: dict[str, list] = {}
    pending: dict[str, list] = {}
    changes: dict[str, dict[dt.date, list[tuple]]] = {name: {} for name in sources}
    notes: list[str] = []
    deferred: list[list] = []
    digested = 0

    def want(source: str, day: dt.date, rel: str, sha: str, mtime_ns: int) -> None:
        if day < first_day[source]:
            notes.append(f"{rel}: {day} is before {source}'s first partition {first_day[source]}; ignored")
        elif day > last_day:
            deferred.append([source, day.isoformat(), rel, sha, mtime_ns])
        else:
            changes[source].setdefault(day, []).append((rel, sha, mtime_ns))

    present: set[str] = set()
    for source_name, source in sources.items():
        for rel, path, info in _files_of(inbox, source_name):
            present.add(rel)
            seen_now = [info.st_size, info.st_mtime_ns]
            before = state.files.get(rel)
            if before and before[:2] == seen_now:
                files[rel] = before
                continue
            over_budget = digested >= max_files or (deadline is not None and time.monotonic() > deadline)
            if state.pending.get(rel) != seen_now or over_budget:
                pending[rel] = seen_now  # new, still being written, or over this scan's budget
                if before:
                    files[rel] = before
                continue
            digested += 1
            sha = _sha256(path)
            files[rel] = [*seen_now, sha]
            if before and before[2] == sha:
                continue  # touched, not changed
            try:
                days = source.days_for_inbox_file(home, path)
            except Exception as exc:  # noqa: BLE001 - a source's parser failing on one file must not stop the scan
                notes.append(f"{rel}: {source_name} could not tell which days it affects: {exc}")
                continue
            if not days:
                notes.append(f"{rel}: not (yet) a complete {source_name} input; waiting for it to change")
                continue
            for day in days:
                want(source_name, day, rel, sha, info.st_mtime_ns)

    for source_name, day_text, rel, sha, mtime_ns in state.deferred:
        if rel in present and files.get(rel, [None, None, None])[2] == sha and source_name in sources:
            want(source_name, dt.date.fromisoformat(day_text), rel, sha, mtime_ns)

    ranges = [r for name in sources for r in _ranges(name, changes[name], max_days_per_run)]
    new_cursor = _Cursor(files, pending, deferred).dump()
    return ScanResult(ranges, new_cursor, waiting=len(pending), notes=notes)
