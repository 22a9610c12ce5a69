"""What waits for review, and what a person does about it: approve, correct, teach a rule, forget one.

Every operation runs inside the caller's transaction: it completes, or raises ReviewError and the caller
rolls back, so nothing is half-done. A correction is stored as a review override keyed on the entry's
content hash as the source computed it, and the day's journal is rebuilt from the facts right away,
through the same source code the journal stage runs; the next run of the day therefore computes exactly
what the queue shows, and an approval (kept per content hash) stays exact.
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from acctsync_pipelines.lib.config import SOURCE_NAMES, Settings
from acctsync_pipelines.lib.review.overrides import review_day
from acctsync_pipelines.lib.settings_base import TaxCategory
from acctsync_pipelines.lib.sources import Source
from acctsync_pipelines.lib.sql import run

TAX_CATEGORIES: tuple[str, ...] = typing.get_args(TaxCategory)
SET_ACCOUNT_RULE = "review:set_account"
TENDER_KEY = "tender"  # learned rules keyed on a payment type or instrument
LEARNING_KEYS_DIR = Path(__file__).with_name("learning_keys")

# --matching field → column of ledger.journal_lines
MATCH_FIELDS = {
    "entry": "entry_id",
    "source": "source",
    "date": "strftime(business_date, '%Y-%m-%d')",
    "store": "store_code",
    "account": "account",
    "sub_account": "sub_account",
    "tax": "tax_category",
    "rule": "rule",
    "reason": "review_reason",
    "description": "description",
}


def _first(cursor) -> tuple | None:
    """The first row or None, reading the result to its end (DuckDB keeps an unfinished result open)."""
    rows = cursor.fetchall()
    return rows[0] if rows else None


class ReviewError(ValueError):
    """Input the review queue refuses. Raised before anything is committed; nothing was changed."""


@dataclass(frozen=True)
class Line:
    entry_id: str
    line_no: int
    source: str
    business_date: dt.date
    side: str
    account: str
    sub_account: str
    tax_category: str
    amount: int
    description: str
    rule: str
    confidence: float
    review_reason: str | None
    status: str
    content_hash: str


@dataclass(frozen=True)
class Correction:
    """One line's new account. ``where`` prefixes error messages (e.g. 'row 3')."""

    entry_id: str
    line_no: int
    account: str
    sub_account: str | None = None  # None: kept if the account is unchanged, else empty
    tax_category: str | None = None  # None: the line's own, or the account's usual one if the guess had none
    remember: bool = False
    new_account: bool = False
    where: str = ""


@dataclass
class Outcome:
    messages: list[str] = field(default_factory=list)
    days: set[tuple[str, dt.date]] = field(default_factory=set)  # source-days whose journal changed or got approvals


# -- reading ------------------------------------------------------------------------------------------

_LINE_COLUMNS = ("entry_id, line_no, source, business_date, side, account, sub_account, tax_category, amount, "
                 "description, rule, confidence, review_reason, status, content_hash")


def _lines(conn: duckdb.DuckDBPyConnection, where: str, params: list) -> list[Line]:
    rows = conn.execute(
        f"SELECT {_LINE_COLUMNS} FROM ledger.journal_lines WHERE content_hash IS NOT NULL AND ({where}) "
        "ORDER BY business_date, entry_id, line_no",
        params,
    ).fetchall()
    return [Line(*row) for row in rows]


def entry_lines(conn: duckdb.DuckDBPyConnection, entry_ids: Iterable[str]) -> dict[str, list[Line]]:
    """The current lines of each named entry that exists (vanished, reversed entries are not current)."""
    ids = sorted(set(entry_ids))
    found: dict[str, list[Line]] = {}
    for line in _lines(conn, "list_contains(?, entry_id)", [ids]) if ids else []:
        found.setdefault(line.entry_id, []).append(line)
    return found


def waiting_lines(conn: duckdb.DuckDBPyConnection, source: str | None = None, start: dt.date | None = None,
                  end: dt.date | None = None, status: str = "needs_review",
                  matching: Iterable[str] = ()) -> list[Line]:
    """Lines that wait (or waited, for status 'approved'): the ones with a review reason."""
    where = ["status = ?", "review_reason IS NOT NULL"]
    params: list = [status]
    if source:
        where.append("source = ?")
        params.append(source)
    if start:
        where.append("business_date >= ?")
        params.append(start)
    if end:
        where.append("business_date <= ?")
        params.append(end)
    for condition in matching:
        column, pattern = _match_condition(condition)
        where.append(f"coalesce({column}, '') GLOB ?")
        params.append(pattern)
    return _lines(conn, " AND ".join(where), params)


def _match_condition(condition: str) -> tuple[str, str]:
    name, sep, pattern = condition.partition("=")
    name = name.strip()
    if not sep or name not in MATCH_FIELDS:
        raise ReviewError(
            f"--matching {condition!r}: write FIELD=PATTERN (PATTERN may use * and ?), FIELD one of "
            + ", ".join(MATCH_FIELDS)
        )
    return MATCH_FIELDS[name], pattern


def _unknown_entry(conn: duckdb.DuckDBPyConnection, entry_id: str) -> str:
    candidates = [r[0] for r in conn.execute(
        "SELECT DISTINCT entry_id FROM ledger.journal_entry_lines WHERE source = split_part(?, ':', 1)", [entry_id]
    ).fetchall()]
    close = difflib.get_close_matches(entry_id, candidates, n=3, cutoff=0.9)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; `acctsync review list` shows the entries that wait"
    return f"unknown entry {entry_id!r}: it is not in the journal{hint}"


# -- accounts -----------------------------------------------------------------------------------------

def _config_accounts(settings: Settings) -> set[str]:
    """Every account name the configuration uses: accounts.*, suspense_accounts and each `account:` key."""
    found: set[str] = set()

    def walk(node, key: str | None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "accounts" and isinstance(v, dict):
                    found.update(x for x in v.values() if isinstance(x, str))
                else:
                    walk(v, str(k))
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and key and node and (
            key == "account" or key.endswith("_accounts") or (key.endswith("_account") and "sub_account" not in key)
        ):
            found.add(node)

    walk(settings.model_dump(), None)
    return found


def known_accounts(conn: duckdb.DuckDBPyConnection, settings: Settings) -> set[str]:
    """Accounts from the configuration and from the journal's history (booked, posted, learned, corrected)."""
    rows = conn.execute(
        """SELECT account FROM ledger.journal_entry_lines UNION SELECT account FROM ledger.posted_lines
           UNION SELECT account FROM ledger.learned_rules UNION SELECT account FROM ledger.review_overrides"""
    ).fetchall()
    return _config_accounts(settings) | {r[0] for r in rows}


def _unknown_account(account: str, known: set[str]) -> str:
    close = difflib.get_close_matches(account, sorted(known), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return (f"unknown account {account!r}: not in the configuration nor in the journal's history.{hint} "
            "If it is an account of your chart that acctsync has not used yet, repeat with --new-account "
            "(in a CSV, put yes in its new_account column).")


def usual_tax_category(conn: duckdb.DuckDBPyConnection, settings: Settings, account: str) -> str | None:
    """The tax category the account is booked with: configured rules first, then learned rules, then history."""
    configured: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("account") == account and node.get("tax_category") in TAX_CATEGORIES:
                configured.append(node["tax_category"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(settings.model_dump())
    if configured:
        return max(set(configured), key=configured.count)
    row = _first(conn.execute(
        """SELECT tax_category FROM (
               SELECT tax_category, 2 AS weight FROM ledger.learned_rules WHERE account = $a AND tax_category IS NOT NULL
               UNION ALL SELECT tax_category, 1 FROM ledger.journal_entry_lines WHERE account = $a
               UNION ALL SELECT tax_category, 1 FROM ledger.posted_lines WHERE account = $a AND action = 'post')
           GROUP BY tax_category ORDER BY max(weight) DESC, count(*) DESC, tax_category LIMIT 1""",
        {"a": account},
    ))
    return row[0] if row else None


# -- rebuilding a day ---------------------------------------------------------------------------------

def source_of(name: str) -> Source:
    if name not in SOURCE_NAMES:
        raise ReviewError(f"unknown source {name!r}; sources: {', '.join(SOURCE_NAMES)}")
    try:
        module = importlib.import_module(f"acctsync_pipelines.lib.{name}.source")
    except ModuleNotFoundError:
        raise ReviewError(f"source {name} is not available in this version of acctsync") from None
    return module.SOURCE


def rebuild_day(conn: duckdb.DuckDBPyConnection, settings: Settings, source: str, day: dt.date,
                corrections: bool = True) -> None:
    """Recompute one source-day's journal from its normalized facts, as the journal stage does.

    With ``corrections=False`` the day is left as the source computes it (for reading base hashes), without
    people's corrections and without holds from failed non-blocking checks.
    Day errors are left alone: the journal stage's blocking checks run again at the next run.
    """
    conn.execute("DELETE FROM ledger.journal_entry_lines WHERE source = ? AND business_date = ?", [source, day])
    built = source_of(source)
    built.journal(conn, settings, [day])
    if corrections:
        review_day(conn, settings, built, day)


# -- learned rules ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LearningKey:
    kind: str | None
    value: str | None
    label: str | None
    cannot_learn: str | None


def learning_key(conn: duckdb.DuckDBPyConnection, settings: Settings, line: Line) -> LearningKey:
    """What correcting ``line`` can teach: the source's key (cash reason, ASIN, title keyword, tender)."""
    sql_file = LEARNING_KEYS_DIR / f"{line.source}.sql"
    if not sql_file.is_file():
        return LearningKey(None, None, None, f"acctsync cannot learn rules for {line.source} lines yet")
    source_of(line.source).register_config(conn, settings)
    row = _first(run(conn, sql_file.read_text(encoding="utf-8"), {"entry_id": line.entry_id, "line_no": line.line_no}))
    if row is None:
        return LearningKey(None, None, None, "the line is not in the journal")
    key = LearningKey(*row)
    if key.kind is None and key.cannot_learn is None:
        return LearningKey(None, None, None, f"nothing identifies what decided this line (rule {line.rule})")
    return key


def _rule_row(conn: duckdb.DuckDBPyConnection, rule_id: str) -> tuple | None:
    return _first(conn.execute(
        "SELECT rule_id, source, key_kind, key_value, account, sub_account, tax_category FROM ledger.learned_rules "
        "WHERE rule_id = ?", [rule_id]
    ))


def learned_rules(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(rule_id, source, key_kind, key_value, account, sub_account, tax_category, created_at, created_from,
    lines it decides now)."""
    return conn.execute(
        """SELECT r.rule_id, r.source, r.key_kind, r.key_value, r.account, r.sub_account, r.tax_category,
                  r.created_at, r.created_from,
                  (SELECT count(*) FROM ledger.journal_entry_lines l WHERE l.rule = 'learned:' || r.rule_id)
           FROM ledger.learned_rules r ORDER BY r.rule_id"""
    ).fetchall()


def _create_rule(conn: duckdb.DuckDBPyConnection, source: str, key: LearningKey, account: str, sub_account: str,
                 tax_category: str | None, created_from: str) -> str:
    (number,) = conn.execute("SELECT nextval('ledger.learned_rule_numbers')").fetchall()[0]
    rule_id = f"L{number:04d}"
    conn.execute(
        """INSERT INTO ledger.learned_rules
               (rule_id, source, key_kind, key_value, account, sub_account, tax_category, created_at, created_from)
           VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?)""",
        [rule_id, source, key.kind, key.value, account, sub_account, tax_category, created_from],
    )
    return rule_id


def forget_rule(conn: duckdb.DuckDBPyConnection, settings: Settings, rule_id: str, by: str | None) -> Outcome:
    """Remove a learned rule. Lines it decided that are not posted go back to the queue; posted ones are
    pinned (a review override with what was posted), so forgetting never rewrites what was posted."""
    rule = _rule_row(conn, rule_id)
    if rule is None:
        ids = [r[0] for r in conn.execute("SELECT rule_id FROM ledger.learned_rules ORDER BY rule_id").fetchall()]
        listed = ", ".join(ids) if ids else "none yet"
        raise ReviewError(f"unknown rule {rule_id!r}; learned rules: {listed} (see `acctsync review rules`)")
    used = _lines(conn, "rule = ?", [f"learned:{rule_id}"])
    conn.execute("DELETE FROM ledger.learned_rules WHERE rule_id = ?", [rule_id])
    days = sorted({(line.source, line.business_date) for line in used})
    for source, day in days:
        rebuild_day(conn, settings, source, day, corrections=False)
    pinned = [line for line in used if line.status == "posted"]
    for line, base in _same_lines_without_rule(conn, pinned):
        conn.execute(
            "INSERT OR IGNORE INTO ledger.review_overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
            [line.entry_id, base["line_no"], base["content_hash"], line.source, line.business_date, line.account,
             line.sub_account, line.tax_category, f"pinned:learned:{rule_id}", base["account"], base["rule"], by],
        )
    for source, day in days:
        review_day(conn, settings, source_of(source), day)
    back = len(used) - len(pinned)
    _, source, kind, value, account, sub_account, _ = rule
    outcome = Outcome(days=set(days))
    outcome.messages.append(
        f"forgot {rule_id} ({source} {kind} {value} → {_account_text(account, sub_account)}): "
        f"{back} unposted line(s) it decided are computed again without it"
        + (f"; {len(pinned)} posted line(s) keep what was posted" if pinned else "")
    )
    return outcome


def _same_lines_without_rule(conn: duckdb.DuckDBPyConnection, lines: list[Line]) -> list[tuple[Line, dict]]:
    """Each line a rule decided, paired with the same line of its entry as recomputed without the rule.
    Without the rule a line may sort elsewhere in its entry (lines are numbered by account), so it is found
    by side, amount and description, which a rule does not change; then by its number."""
    paired: list[tuple[Line, dict]] = []
    taken: set[tuple[str, int]] = set()
    for line in lines:
        cursor = conn.execute(
            "SELECT line_no, account, sub_account, tax_category, rule, content_hash FROM ledger.journal_entry_lines "
            "WHERE entry_id = ? ORDER BY (side, amount, description) <> (?, ?, ?), line_no <> ?, line_no",
            [line.entry_id, line.side, line.amount, line.description, line.line_no],
        )
        names = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            base = dict(zip(names, row))
            if (line.entry_id, base["line_no"]) not in taken:
                taken.add((line.entry_id, base["line_no"]))
                paired.append((line, base))
                break
    return paired


# -- approving and correcting -------------------------------------------------------------------------

def _account_text(account: str, sub_account: str) -> str:
    return f"{account} / {sub_account}" if sub_account else account


def _base_line(conn: duckdb.DuckDBPyConnection, entry_id: str, line_no: int) -> dict | None:
    cursor = conn.execute(
        "SELECT account, sub_account, tax_category, rule, content_hash FROM ledger.journal_entry_lines "
        "WHERE entry_id = ? AND line_no = ?", [entry_id, line_no]
    )
    row = _first(cursor)
    return dict(zip([d[0] for d in cursor.description], row)) if row else None


def _entry_status(conn: duckdb.DuckDBPyConnection, entry_id: str) -> tuple[str, list[Line]]:
    lines = entry_lines(conn, [entry_id]).get(entry_id, [])
    return (lines[0].status if lines else "missing"), lines


def _validate(conn: duckdb.DuckDBPyConnection, settings: Settings, corrections: list[Correction],
              approvals: list[str]) -> dict[int, LearningKey]:
    entries = entry_lines(conn, [c.entry_id for c in corrections] + approvals)
    known = known_accounts(conn, settings) if corrections else set()
    errors: list[str] = []
    keys: dict[int, LearningKey] = {}
    for index, c in enumerate(corrections):
        prefix = f"{c.where}: " if c.where else ""
        if c.entry_id not in entries:
            errors.append(prefix + _unknown_entry(conn, c.entry_id))
            continue
        lines = {line.line_no: line for line in entries[c.entry_id]}
        line = lines.get(c.line_no)
        if line is None:
            errors.append(f"{prefix}entry {c.entry_id} has no line {c.line_no} (its lines: "
                          f"{', '.join(map(str, sorted(lines)))})")
            continue
        if not c.account.strip():
            errors.append(f"{prefix}the account is empty")
        elif c.account not in known and not c.new_account:
            errors.append(prefix + _unknown_account(c.account, known))
        if c.tax_category is not None and c.tax_category not in TAX_CATEGORIES:
            errors.append(f"{prefix}unknown tax category {c.tax_category!r}; allowed: {', '.join(TAX_CATEGORIES)}")
        if c.remember:
            key = learning_key(conn, settings, line)
            if key.cannot_learn:
                errors.append(f"{prefix}cannot remember a rule from {c.entry_id} line {c.line_no}: {key.cannot_learn}"
                              " (without --remember the correction applies to this line only)")
            elif key.kind == TENDER_KEY and c.tax_category not in (None, "out_of_scope"):
                errors.append(f"{prefix}a rule for {key.label} decides the account of a payment, which is out of "
                              f"scope of consumption tax: drop --tax-category {c.tax_category} (or --remember)")
            keys[index] = key
    for entry_id in approvals:
        if entry_id not in entries:
            errors.append(_unknown_entry(conn, entry_id))
    remembered: dict[tuple, tuple] = {}
    for index, key in keys.items():
        if key.kind is None:
            continue
        c = corrections[index]
        target = (c.account, c.sub_account, c.tax_category)
        slot = (entries[c.entry_id][0].source, key.kind, key.value)
        if remembered.setdefault(slot, target) != target:
            errors.append(f"{c.where + ': ' if c.where else ''}{key.label} is taught two different accounts "
                          "in one go; keep one")
    if errors:
        raise ReviewError("\n".join(errors))
    return keys


def review(conn: duckdb.DuckDBPyConnection, settings: Settings, corrections: list[Correction] = (),
           approvals: list[str] = (), by: str | None = None) -> Outcome:
    """Apply corrections, then approvals (of the corrected versions), all or nothing."""
    corrections, approvals = list(corrections), list(dict.fromkeys(approvals))
    keys = _validate(conn, settings, corrections, approvals)
    outcome = Outcome()
    before = {c.entry_id: _entry_status(conn, c.entry_id)[1] for c in corrections}

    # 1. the days as the source computes them, to key each correction on its entry's base hash
    days = sorted({(lines[0].source, lines[0].business_date) for lines in before.values()})
    for source, day in days:
        rebuild_day(conn, settings, source, day, corrections=False)
    wanted: list[tuple[Correction, str, str, str | None]] = []  # correction, sub-account, tax, tax to learn
    for index, c in enumerate(corrections):
        old = next(line for line in before[c.entry_id] if line.line_no == c.line_no)
        base = _base_line(conn, c.entry_id, c.line_no)
        if base is None:
            raise ReviewError(f"{c.where + ': ' if c.where else ''}entry {c.entry_id} line {c.line_no} vanished when "
                              "its day was recomputed (its facts changed); run the day and look again")
        same_account = c.account == old.account
        sub_account = c.sub_account if c.sub_account is not None else (old.sub_account if same_account else "")
        # A line keeps its tax category (an item's rate decides it) unless the guess carried none, as a
        # suspense account does; then the account's usual category applies. A rule learns only a category
        # that was chosen, so an item's own rate keeps deciding later lines.
        if c.tax_category:
            tax = rule_tax = c.tax_category
        elif same_account or old.tax_category != "out_of_scope":
            tax, rule_tax = old.tax_category, None
        else:
            rule_tax = usual_tax_category(conn, settings, c.account)
            tax = rule_tax or old.tax_category
        conn.execute(
            "INSERT OR REPLACE INTO ledger.review_overrides VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
            [c.entry_id, c.line_no, base["content_hash"], old.source, old.business_date, c.account, sub_account, tax,
             SET_ACCOUNT_RULE, base["account"], base["rule"], by],
        )
        if index in keys and keys[index].kind == TENDER_KEY:
            rule_tax = None  # a payment is out of scope: a tender rule decides the account only
        wanted.append((c, sub_account, tax, rule_tax))

    # 2. rules taught with --remember; they decide the source's later (and still unposted) lines
    rebuild = set(days)
    for index, key in keys.items():
        c, sub_account, _, rule_tax = wanted[index]
        source = before[c.entry_id][0].source
        existing = _first(conn.execute(
            "SELECT rule_id, account, sub_account, tax_category FROM ledger.learned_rules "
            "WHERE source = ? AND key_kind = ? AND key_value = ?", [source, key.kind, key.value]
        ))
        if existing and tuple(existing[1:]) == (c.account, sub_account, rule_tax):
            outcome.messages.append(f"  {existing[0]} already maps {key.label} to {_account_text(c.account, sub_account)}")
            continue
        if existing:
            replaced = forget_rule(conn, settings, existing[0], by)
            rebuild |= replaced.days
            outcome.messages += ["  " + m for m in replaced.messages]
        rule_id = _create_rule(conn, source, key, c.account, sub_account, rule_tax, f"{c.entry_id}#{c.line_no}")
        outcome.messages.append(f"  learned {rule_id}: {source} {key.label} → {_account_text(c.account, sub_account)}"
                                + (f" ({rule_tax})" if rule_tax else " (out of scope, as a payment is)"
                                   if key.kind == TENDER_KEY else " (tax category as each line's rate says)"))
        waiting_days = conn.execute(
            "SELECT DISTINCT business_date FROM ledger.journal_lines WHERE source = ? AND status = 'needs_review'",
            [source],
        ).fetchall()
        rebuild |= {(source, d) for (d,) in waiting_days}

    # 3. the days with every correction and rule in force, as the next run will compute them
    for source, day in sorted(rebuild):
        rebuild_day(conn, settings, source, day)
    corrected: list[str] = []
    for c, sub_account, _, _ in wanted:
        # a learned rule without a tax category leaves the line's own rate in force
        now = _base_line(conn, c.entry_id, c.line_no)
        if now is None or (now["account"], now["sub_account"]) != (c.account, sub_account) or (
                c.tax_category and now["tax_category"] != c.tax_category):
            raise ReviewError(f"{c.where + ': ' if c.where else ''}the correction of {c.entry_id} line {c.line_no} "
                              "did not take effect (the entry changed while it was recomputed); nothing was changed")
        old = next(line for line in before[c.entry_id] if line.line_no == c.line_no)
        corrected.append(f"{c.entry_id} line {c.line_no}: {_account_text(old.account, old.sub_account)} "
                         f"({old.tax_category}, {old.rule}) → {_account_text(c.account, sub_account)} "
                         f"({now['tax_category']}, {now['rule']})")
    outcome.messages[:0] = corrected
    outcome.days |= rebuild
    for entry_id in dict.fromkeys(c.entry_id for c in corrections):
        outcome.messages.append("  " + _entry_state_text(conn, entry_id))

    # 4. approvals, of the versions as they are now
    for entry_id in approvals:
        status, lines = _entry_status(conn, entry_id)
        if status == "needs_review":
            conn.execute("INSERT OR IGNORE INTO ledger.review_approvals VALUES (?, ?, now(), ?)",
                         [entry_id, lines[0].content_hash, by])
            outcome.days.add((lines[0].source, lines[0].business_date))
            outcome.messages.append(f"approved {entry_id}")
        else:
            outcome.messages.append(f"{entry_id}: {_STATUS_TEXT[status]}; nothing to approve")
    return outcome


_STATUS_TEXT = {
    "ready": "does not wait for review",
    "approved": "already approved",
    "posted": "already posted",
    "needs_review": "still waits for review",
}


def _entry_state_text(conn: duckdb.DuckDBPyConnection, entry_id: str) -> str:
    status, lines = _entry_status(conn, entry_id)
    waiting = [line for line in lines if line.review_reason]
    if status == "needs_review":
        return (f"{entry_id} still waits: " + "; ".join(f"line {line.line_no} {line.review_reason}" for line in waiting)
                + " (approve it or correct those lines)")
    if status == "posted":
        return f"{entry_id} is as it was posted; nothing to send"
    (posted,) = conn.execute("SELECT count(*) FROM ledger.posted_state WHERE entry_id = ? AND net_posts > 0",
                             [entry_id]).fetchall()[0]
    text = f"{entry_id} no longer waits"
    if posted:
        text += "; an earlier version was posted, so the next run reverses it and posts this one"
    return text
