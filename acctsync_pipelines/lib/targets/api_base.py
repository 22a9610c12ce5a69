"""What every API target shares: claimed actions in, outcomes recorded append-only, nothing sent twice.

The posting log (ledger.postings / ledger.posted_lines) says what is claimed; ledger.posting_results
says what happened to each claimed action at the target. An action is finished when it has a 'done'
or 'skipped' result. Before a call whose answer could be lost the target writes 'sending'; a later
run that finds 'sending' as an action's last word looks the document up at the target (freee
ref_number, Zoho reference_number) or repeats an idempotent call (QuickBooks requestid) instead of
creating it again.

Per day: ``prepare`` refuses a day the target cannot take (before anything of it is claimed or sent)
and finishes what an earlier run left; ``send`` sends a freshly claimed batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.config import Settings
from acctsync_pipelines.lib.errors import PostingError
from acctsync_pipelines.lib.targets.http import TargetError

log = logging.getLogger(__name__)

FINISHED = ("done", "skipped")


@dataclass
class Action:
    """One claimed entry action and its lines exactly as claimed (a reversal's sides already swapped)."""

    target: str
    entry_id: str
    action: str
    action_seq: int
    content_hash: str
    source: str
    business_date: dt.date
    batch_id: str
    last_status: str | None  # the latest posting_results status, if any
    attempts: int
    lines: list[dict] = field(default_factory=list)

    @property
    def outcome_unknown(self) -> bool:
        return self.last_status == "sending"


@dataclass(frozen=True)
class LiveDocument:
    """The document an entry currently has at the target, from its finished results."""

    kind: str
    ref: str


def short_key(*parts: object, length: int = 16) -> str:
    """A deterministic hex key for an id of bounded length at the target."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:length]


class ApiTarget(ABC):
    name: str

    def __init__(self, settings: Settings, home: Path):
        self.settings = settings
        self.home = home

    # --- the posting interface (see lib/posting) -------------------------------------------------
    def reference_for(self, batch_id: str) -> str | None:
        return None

    def prepare(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date, pending: int) -> int:
        """Refuse the day if the target cannot take it; then finish the day's unfinished actions."""
        unfinished = self.unfinished(conn, "p.source = ? AND p.business_date = ?", [source, day])
        if not unfinished and not pending:
            return 0
        self.check_day(conn, source, day)
        if unfinished:
            self.process(conn, unfinished)
        return len(unfinished)

    def send(self, conn: duckdb.DuckDBPyConnection, batch_id: str) -> None:
        self.process(conn, self.unfinished(conn, "p.batch_id = ?", [batch_id]))

    # --- what each target provides ------------------------------------------------------------------
    @abstractmethod
    def check_day(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> None:
        """Raise PostingError when the day must not be sent at all (nothing of it is sent)."""

    @abstractmethod
    def plan(self, conn: duckdb.DuckDBPyConnection, actions: list[Action]) -> None:
        """Build every request of ``actions`` before any is sent (unknown accounts fail here)."""

    @abstractmethod
    def run_entry(self, conn: duckdb.DuckDBPyConnection, actions: list[Action], live: LiveDocument | None) -> None:
        """Send one entry's unfinished actions in order, recording each outcome."""

    def close(self) -> None:
        """Release connections."""

    # --- shared mechanics ------------------------------------------------------------------------------
    def process(self, conn: duckdb.DuckDBPyConnection, actions: list[Action]) -> None:
        try:
            self.plan(conn, actions)
            failures: list[str] = []
            for entry_actions in _by_entry(actions):
                live = self.live_document(conn, entry_actions[0].entry_id)
                try:
                    self.run_entry(conn, entry_actions, live)
                except TargetError as exc:
                    failures.append(str(exc))
                    if exc.status is None or exc.status in (401, 403, 429) or exc.status >= 500:
                        break  # the target is unreachable or limiting us: the rest waits for the next run
            if failures:
                more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
                raise PostingError(failures[0] + more)
        finally:
            self.close()

    def unfinished(self, conn: duckdb.DuckDBPyConnection, where: str, params: list) -> list[Action]:
        rows = conn.execute(
            f"""SELECT p.entry_id, p.action, p.action_seq, p.content_hash, p.source, p.business_date, p.batch_id,
                       r.last_status, coalesce(r.attempts, 0)
                FROM ledger.postings p
                LEFT JOIN (SELECT entry_id, action_seq, arg_max(status, attempt) AS last_status,
                                  max(attempt) AS attempts, bool_or(status IN ('done', 'skipped')) AS finished
                           FROM ledger.posting_results WHERE target = ? GROUP BY ALL) r
                  USING (entry_id, action_seq)
                WHERE p.target = ? AND {where} AND NOT coalesce(r.finished, false)
                ORDER BY p.entry_id, p.action_seq""",
            [self.name, self.name, *params],
        ).fetchall()
        actions = [Action(self.name, *row) for row in rows]
        if actions:
            cursor = conn.execute(
                """SELECT pl.* FROM ledger.posted_lines pl
                   JOIN (SELECT unnest(?) AS entry_id, unnest(?) AS action_seq) a USING (entry_id, action_seq)
                   WHERE pl.target = ? ORDER BY pl.entry_id, pl.action_seq, pl.line_no""",
                [[a.entry_id for a in actions], [a.action_seq for a in actions], self.name],
            )
            names = [d[0] for d in cursor.description]
            by_key = {(a.entry_id, a.action_seq): a for a in actions}
            for row in cursor.fetchall():
                line = dict(zip(names, row))
                by_key[(line["entry_id"], line["action_seq"])].lines.append(line)
        return actions

    def live_document(self, conn: duckdb.DuckDBPyConnection, entry_id: str) -> LiveDocument | None:
        row = conn.execute(
            """SELECT operation, document_kind, target_ref FROM ledger.posting_results
               WHERE target = ? AND entry_id = ? AND status = 'done'
               ORDER BY action_seq DESC, attempt DESC LIMIT 1""",
            [self.name, entry_id],
        ).fetchone()
        if not row or row[0].startswith("delete") or row[2] is None:
            return None
        return LiveDocument(row[1], row[2])

    def record(self, conn: duckdb.DuckDBPyConnection, action: Action, status: str, operation: str,
               kind: str | None = None, ref: str | None = None, key: str | None = None,
               message: str | None = None) -> None:
        action.attempts += 1
        action.last_status = status
        conn.execute(
            "INSERT INTO ledger.posting_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            [self.name, action.entry_id, action.action_seq, action.attempts, status, operation, kind,
             None if ref is None else str(ref), key, None if message is None else message[:2000]],
        )


def _by_entry(actions: list[Action]) -> Iterator[list[Action]]:
    group: list[Action] = []
    for action in actions:
        if group and group[0].entry_id != action.entry_id:
            yield group
            group = []
        group.append(action)
    if group:
        yield group


class JournalPerActionTarget(ApiTarget):
    """Targets where every action is one balanced journal of its claimed lines: a post as claimed, a
    reversal as a new journal with the sides swapped (claim.sql already swapped them)."""

    document_kind = "journal"

    def __init__(self, settings: Settings, home: Path):
        super().__init__(settings, home)
        self.bodies: dict[tuple[str, int], dict] = {}

    @abstractmethod
    def account_ids(self, conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
        """The target's account ids by name."""

    @abstractmethod
    def account_name(self, account: str) -> str:
        """Our account name → the target's (the configured map, else the same name)."""

    @abstractmethod
    def build(self, action: Action, accounts: dict[str, str]) -> dict:
        """The request body of one action."""

    @abstractmethod
    def lookup_key(self, action: Action) -> str:
        """What finds the action's document at the target again (or makes its resend idempotent)."""

    @abstractmethod
    def create(self, conn: duckdb.DuckDBPyConnection, action: Action, body: dict) -> str | None:
        """Send the action; its document id, or None when the outcome is unknown and it must be looked up."""

    @abstractmethod
    def lookup(self, conn: duckdb.DuckDBPyConnection, action: Action) -> str | None:
        """The id of the action's document if the target has it."""

    def check_day(self, conn: duckdb.DuckDBPyConnection, source: str, day: dt.date) -> None:
        return None

    def plan(self, conn: duckdb.DuckDBPyConnection, actions: list[Action]) -> None:
        if not actions:
            return
        accounts = self.account_ids(conn)
        missing = sorted({self.account_name(line["account"]) for a in actions for line in a.lines} - set(accounts))
        if missing:
            raise PostingError(f"accounts {', '.join(map(repr, missing))} do not exist at the target "
                               f"(create them, or map them in targets.{self.name}.account_names); nothing was sent")
        for action in actions:
            self.bodies[(action.entry_id, action.action_seq)] = self.build(action, accounts)

    def run_entry(self, conn: duckdb.DuckDBPyConnection, actions: list[Action], live: LiveDocument | None) -> None:
        for action in actions:
            key = self.lookup_key(action)
            operation = f"{action.action}_{self.document_kind}"
            if action.outcome_unknown:
                found = self.lookup(conn, action)
                if found:
                    self.record(conn, action, "done", f"found_{self.document_kind}", self.document_kind, found, key)
                    continue
            self.record(conn, action, "sending", operation, self.document_kind, key=key)
            try:
                ref = self.create(conn, action, self.bodies[(action.entry_id, action.action_seq)])
                if ref is None:
                    ref = self.lookup(conn, action)
                    if ref is None:
                        ref = self.create(conn, action, self.bodies[(action.entry_id, action.action_seq)])
            except TargetError as exc:
                if exc.status is not None and 400 <= exc.status < 500:
                    self.record(conn, action, "failed", operation, message=str(exc))
                raise
            if ref is None:
                raise TargetError(f"{action.entry_id}: no confirmed answer; looked up again next run")
            self.record(conn, action, "done", operation, self.document_kind, ref, key)

    def live_document(self, conn: duckdb.DuckDBPyConnection, entry_id: str) -> LiveDocument | None:
        return None
