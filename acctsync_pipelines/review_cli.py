"""``acctsync review …``: work the review queue (未確定の取引).

  list        what waits, with the guess, the rule that made it and its confidence
  approve     approve entries (by id, or every waiting entry --matching a filter)
  set-account correct one line's account; --remember teaches a rule for later lines
  rules       the learned rules;  forget <rule> removes one
  export      the queue as a CSV to fill in;  import loads it back, row by row

Changes happen in one transaction: bad input changes nothing. Approved and corrected entries are
posted by the next run of their day; the command prints it, or runs it with --post.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from acctsync_pipelines.lib.config import SOURCE_NAMES, ConfigError, acctsync_home, load_settings
from acctsync_pipelines.lib.review import queue, spreadsheet
from acctsync_pipelines.lib.review.queue import Correction, Outcome, ReviewError
from acctsync_pipelines.lib.warehouse import Warehouse, transaction


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _line_no(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a line number: {text!r}") from None


def add_review_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``acctsync review`` and its subcommands on the acctsync parser."""
    review = commands.add_parser("review", help="the review queue: list, approve, correct, learn (未確定の取引)",
                                 description=__doc__.replace("``", ""), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = review.add_subparsers(dest="review_command", required=True)

    def window(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--source", choices=SOURCE_NAMES)
        parser.add_argument("--start", type=_date, help="first business day (YYYY-MM-DD)")
        parser.add_argument("--end", type=_date, help="last business day, inclusive")
        parser.add_argument("--matching", action="append", default=[], metavar="FIELD=PATTERN",
                            help=f"only waiting lines whose FIELD matches PATTERN (* and ? allowed); "
                                 f"FIELD: {', '.join(queue.MATCH_FIELDS)}; repeat to narrow")

    def changes(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--by", default=None, help="who decides (default: the login name)")
        parser.add_argument("--post", action="store_true", help="run `acctsync run` for the affected days now")

    listing = sub.add_parser("list", help="lines that wait for review")
    window(listing)
    listing.add_argument("--status", choices=["needs_review", "approved"], default="needs_review",
                         help="approved = approved, not posted yet")

    approve = sub.add_parser("approve", help="approve entries as they are; the next run of their day posts them")
    approve.add_argument("entry_ids", nargs="*", metavar="ENTRY_ID")
    window(approve)
    changes(approve)

    set_account = sub.add_parser("set-account", help="correct the account of one line")
    set_account.add_argument("entry_id")
    set_account.add_argument("line_no", type=_line_no)
    set_account.add_argument("account")
    set_account.add_argument("--sub-account", default=None, help="補助科目 (default: none when the account changes)")
    set_account.add_argument("--tax-category", default=None, choices=queue.TAX_CATEGORIES,
                             help="default: the account's usual category (configured rules, then history)")
    set_account.add_argument("--remember", action="store_true",
                             help="teach a rule keyed on what decided the guess, for later lines")
    set_account.add_argument("--new-account", action="store_true",
                             help="allow an account acctsync has not seen in the configuration or the journal")
    changes(set_account)

    sub.add_parser("rules", help="the learned rules")
    forget = sub.add_parser("forget", help="remove a learned rule (posted lines keep what was posted)")
    forget.add_argument("rule_id")
    changes(forget)

    export = sub.add_parser("export", help="write the queue as a CSV to fill in")
    export.add_argument("--csv", required=True, type=Path, dest="csv_path")
    window(export)

    load = sub.add_parser("import", help="load a filled-in export; every row is checked first")
    load.add_argument("--csv", required=True, type=Path, dest="csv_path")
    changes(load)


# -- output -------------------------------------------------------------------------------------------

def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _clip(text: str, width: int) -> str:
    if _cells(text) <= width:
        return text
    out = ""
    for ch in text:
        if _cells(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _table(header: tuple[str, ...], rows: Iterable[tuple], right: set[int] = frozenset()) -> str:
    text_rows = [tuple("" if v is None else str(v) for v in row) for row in rows]
    widths = [max(_cells(r[i]) for r in [header, *text_rows]) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        cells = []
        for i, (value, width) in enumerate(zip(row, widths)):
            pad = " " * (width - _cells(value))
            cells.append(pad + value if i in right else value + pad)
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(header), *(fmt(r) for r in text_rows)])


def _print_lines(lines: list[queue.Line]) -> None:
    rows = [(line.business_date, line.entry_id, line.line_no, line.side, f"{line.amount:,}",
             line.account + (f" / {line.sub_account}" if line.sub_account else ""), line.tax_category, line.rule,
             f"{line.confidence:.2f}", _clip(line.review_reason or "", 48), _clip(line.description, 40))
            for line in lines]
    header = ("date", "entry", "line", "side", "amount", "guess", "tax", "rule", "confidence", "why it waits",
              "description")
    print(_table(header, rows, right={2, 4, 8}))


def _fail(message: str, code: int = 2) -> int:
    print(f"acctsync review: {message}", file=sys.stderr)
    return code


def _warehouse() -> Warehouse:
    path = acctsync_home() / "warehouse.duckdb"
    if not path.exists():
        raise ReviewError(f"no warehouse yet at {path}; run `acctsync run` first")
    return Warehouse(path)


def _ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    ranges: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][1] == dt.timedelta(days=1):
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(a, b) for a, b in ranges]


def _runs_to_post(conn, days: set[tuple[str, dt.date]]) -> list[tuple[str, dt.date, dt.date]]:
    """Per source, contiguous ranges of the given days that hold approved or ready entries not posted yet."""
    postable: dict[str, list[dt.date]] = {}
    for source, day in sorted(days):
        (count,) = conn.execute(
            "SELECT count(*) FROM ledger.journal_lines WHERE source = ? AND business_date = ? "
            "AND status IN ('approved', 'ready')", [source, day]
        ).fetchall()[0]
        if count:
            postable.setdefault(source, []).append(day)
    return [(source, a, b) for source, listed in postable.items() for a, b in _ranges(listed)]


def _finish(outcome: Outcome, runs: list[tuple[str, dt.date, dt.date]], post: bool) -> int:
    for message in outcome.messages:
        print(message)
    if not runs:
        return 0
    commands = [f"acctsync run --source {s} --start {a} --end {b}" for s, a, b in runs]
    if not post:
        print("\nTo post them, run:\n" + "\n".join(f"  {c}" for c in commands) + "\n(or repeat with --post)")
        return 0
    from acctsync_pipelines import cli

    code = 0
    for source, start, end in runs:
        print(f"\n$ acctsync run --source {source} --start {start} --end {end}", flush=True)
        code = max(code, cli.cmd_run(argparse.Namespace(source=source, start=start, end=end)))
    return code


def _login_name() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return None


def _change(args: argparse.Namespace, act) -> int:
    """Run ``act(conn, settings, by)`` in one transaction, then say how the affected days get posted."""
    settings = load_settings()
    by = args.by or _login_name()
    with _warehouse().connect() as conn:
        with transaction(conn):
            outcome = act(conn, settings, by)
        runs = _runs_to_post(conn, outcome.days)
    return _finish(outcome, runs, args.post)


# -- subcommands --------------------------------------------------------------------------------------

def _list(args: argparse.Namespace) -> int:
    with _warehouse().connect(read_only=True) as conn:
        lines = queue.waiting_lines(conn, args.source, args.start, args.end, args.status, args.matching)
    if not lines:
        print("Nothing waits for review." if args.status == "needs_review" else "No approved entry waits to be posted.")
        return 0
    _print_lines(lines)
    entries = len({line.entry_id for line in lines})
    if args.status == "needs_review":
        print(f"\n{len(lines)} line(s) in {entries} entr{'y' if entries == 1 else 'ies'} wait for review.\n"
              "Approve as is:   acctsync review approve ENTRY_ID…   (or --matching FIELD=PATTERN)\n"
              "Correct a line:  acctsync review set-account ENTRY_ID LINE ACCOUNT [--remember]\n"
              "As a spreadsheet: acctsync review export --csv queue.csv, then import --csv queue.csv")
    else:
        print(f"\n{entries} approved entr{'y' if entries == 1 else 'ies'} wait for the next run of their day.")
    return 0


def _approve(args: argparse.Namespace) -> int:
    if not args.entry_ids and not args.matching:
        return _fail("name the entries to approve, or select them with --matching FIELD=PATTERN")

    def act(conn, settings, by):
        ids = list(args.entry_ids)
        if args.matching:
            matched = queue.waiting_lines(conn, args.source, args.start, args.end, "needs_review", args.matching)
            if not matched:
                raise ReviewError("no waiting line matches " + " and ".join(args.matching))
            ids += [line.entry_id for line in matched]
        return queue.review(conn, settings, approvals=ids, by=by)

    return _change(args, act)


def _set_account(args: argparse.Namespace) -> int:
    correction = Correction(args.entry_id, args.line_no, args.account, sub_account=args.sub_account,
                            tax_category=args.tax_category, remember=args.remember, new_account=args.new_account)
    return _change(args, lambda conn, settings, by: queue.review(conn, settings, corrections=[correction], by=by))


def _rules(_: argparse.Namespace) -> int:
    with _warehouse().connect(read_only=True) as conn:
        rules = queue.learned_rules(conn)
    if not rules:
        print("No learned rules yet. `acctsync review set-account … --remember` teaches one.")
        return 0
    rows = [(rule_id, source, f"{kind} {value}", account + (f" / {sub}" if sub else ""),
             tax or ("out of scope" if kind == queue.TENDER_KEY else "line's rate"),
             f"{created:%Y-%m-%d %H:%M}", created_from or "", used)
            for rule_id, source, kind, value, account, sub, tax, created, created_from, used in rules]
    print(_table(("rule", "source", "key", "account", "tax", "learned", "from", "lines now"), rows, right={7}))
    print("\nLines it decides record learned:<rule> in their rule. Remove one: acctsync review forget <rule>")
    return 0


def _forget(args: argparse.Namespace) -> int:
    return _change(args, lambda conn, settings, by: queue.forget_rule(conn, settings, args.rule_id, by))


def _export(args: argparse.Namespace) -> int:
    with _warehouse().connect(read_only=True) as conn:
        lines = queue.waiting_lines(conn, args.source, args.start, args.end, "needs_review", args.matching)
    count = spreadsheet.export_csv(lines, args.csv_path)
    print(f"wrote {count} waiting line(s) to {args.csv_path}\n"
          "Fill in set_account (and set_sub_account, set_tax_category, new_account, remember) to correct a line,\n"
          "approve = yes to approve its entry; then: acctsync review import --csv " + str(args.csv_path))
    return 0


def _import(args: argparse.Namespace) -> int:
    return _change(args, lambda conn, settings, by: spreadsheet.import_csv(conn, settings, args.csv_path, by))


def cmd_review(args: argparse.Namespace) -> int:
    handler = {"list": _list, "approve": _approve, "set-account": _set_account, "rules": _rules,
               "forget": _forget, "export": _export, "import": _import}[args.review_command]
    try:
        return handler(args)
    except (ReviewError, ConfigError) as exc:
        return _fail(str(exc))
