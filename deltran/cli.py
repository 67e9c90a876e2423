"""The `deltran` command line: the same code the DAGs run, for people and scripts.

deltran demo [--date D] [--seed N]      a business day through the DAGs, then its summary
deltran db url | db stop | db upgrade   the warehouse in use (embedded unless DATABASE_URL); migrate it
deltran ingest                          load the inbox now (what the DAGs' first task does)
deltran dbt ARGS...                     dbt on the warehouse, with the configured thresholds
deltran parse FILE [--format jsonl|csv] an ISO 20022 file as one record per line
deltran net OBLIGATIONS.csv             multilateral netting of a CSV of obligations
deltran breaker status [ACCOUNT] | reset ACCOUNT --reason TEXT --by NAME [--force] | open ACCOUNT|* --reason TEXT
deltran payouts resume ACCOUNT --reason TEXT --by NAME
deltran exceptions list|show|assign|resolve|escalate|reopen [ID...] [filters] --note N --by NAME
deltran discrepancy update ID [--state S] [--owner O] [--note N] | history ID   (the older form)
deltran matches list [--account A] | confirm|reject ID --reason R | pair BANK LEDGER --reason R | history ID
deltran audit verify [--head HASH]      recompute the audit trail's hash chain (exit 1 when broken)
deltran report DATE                     the end-of-day summary of a business date
deltran airflow ARGS...                 the Airflow CLI with the project's environment
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

DEMO_DATE = date(2026, 11, 20)


def _cmd_db(args: argparse.Namespace) -> int:
    from deltran import db

    if args.action == "url":
        print(db.database_url())
    elif args.action == "stop":
        print("stopped" if db.stop_embedded() else "the embedded server was not running")
    elif args.action == "upgrade":
        before, after = db.upgrade()
        print(
            f"warehouse at migration {after}" + (f" (was {before or 'none'})" if before != after else " (up to date)")
        )
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from deltran import audit, db

    with db.connect() as conn:
        result = audit.verify(conn, expected_head=args.head)
    print(audit.format_verification(result), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def _cmd_ingest(args: argparse.Namespace) -> int:
    from deltran import pipeline

    print(json.dumps(pipeline.ingest_files(), indent=2))
    return 0


def _cmd_dbt(args: argparse.Namespace) -> int:
    from deltran import db
    from deltran.warehouse import dbt

    if not args.dbt_args:
        print("deltran dbt: give dbt's arguments, e.g. `deltran dbt build --select discrepancies`", file=sys.stderr)
        return 2

    with db.connect() as conn:  # the sources dbt reads (raw, control, clearing) exist first
        db.ensure_schema(conn)
    try:
        dbt.run(args.dbt_args)
    except dbt.DbtError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _cmd_parse(args: argparse.Namespace) -> int:
    from parsers import cli as parse_cli

    return parse_cli.main([args.file, "--format", args.format])


def _cmd_net(args: argparse.Namespace) -> int:
    from deltran.clearing import csvnet

    if args.help or not args.file:
        return csvnet.main(["--help"] if args.help else [])
    return csvnet.main([args.file])


def _cmd_breaker(args: argparse.Namespace) -> int:
    from deltran import db
    from deltran.recon import breaker

    with db.connect() as conn:
        db.ensure_schema(conn)
        if args.action == "status":
            if args.account:  # a payout system's question: exit 0 allowed, 1 halted or suspended
                allowed, why = breaker.account_status(conn, args.account)
                print(why)
                return 0 if allowed else 1
            print(breaker.format_status(breaker.status(conn)))
            return 0
        try:
            if args.action == "open":
                event = breaker.open_account(conn, args.account, args.reason, args.by or getpass.getuser())
            else:
                event = breaker.reset(conn, args.account, args.reason, args.by or getpass.getuser(), force=args.force)
        except breaker.BreakerError as exc:
            print(f"deltran breaker {args.action}: {exc}", file=sys.stderr)
            return 2
    print(f"circuit breaker for {event.account_id} {event.to_state} by {event.actor}: {event.reason}")
    return 0


def _cmd_payouts(args: argparse.Namespace) -> int:
    from deltran import db
    from deltran.recon import breaker

    with db.connect() as conn:
        db.ensure_schema(conn)
        try:
            event = breaker.resume(conn, args.account, args.reason, args.by or getpass.getuser())
        except breaker.BreakerError as exc:
            print(f"deltran payouts resume: {exc}", file=sys.stderr)
            return 2
        allowed, why = breaker.payouts_allowed(conn, args.account)
    print(f"payout suspension of {event.account_id} lifted by {event.actor}: {event.reason}")
    if not allowed:
        print(f"payouts are still halted: {why}")
    return 0


def _cmd_discrepancy(args: argparse.Namespace) -> int:
    from deltran import db
    from deltran.recon import cases

    with db.connect() as conn:
        if args.action == "history":
            events = cases.history(conn, args.id)
            if not events:
                known = (
                    conn.execute("select 1 from marts.discrepancies where discrepancy_id = %s", (args.id,)).fetchone()
                    if _exists(conn, "marts.discrepancies")
                    else None
                )
                print(
                    f"deltran discrepancy history: {args.id} has no recorded change yet"
                    if known
                    else f"deltran discrepancy history: no discrepancy {args.id!r} (its id is in the day's summary"
                    " and marts.discrepancies)",
                    file=sys.stderr,
                )
                return 1
            for at, actor, before, after, owner, note in events:
                print(
                    f"{at:%Y-%m-%d %H:%M:%S} {actor}: {before} -> {after} (owner {owner}){': ' + note if note else ''}"
                )
            return 0
        try:
            change = cases.update(
                conn, args.id, actor=args.actor or getpass.getuser(), state=args.state, owner=args.owner, note=args.note
            )
        except cases.CaseError as exc:
            print(f"deltran discrepancy update: {exc}", file=sys.stderr)
            return 2
    print(f"{change.discrepancy_id}: {change.from_state} -> {change.to_state}, owner {change.owner}")
    return 0


def _exception_line(item: Any) -> str:
    from deltran import numbers

    side = f" (missing from {item.missing_from})" if item.missing_from else f" ({item.side} side)" if item.side else ""
    return (
        f"{item.discrepancy_id}  {item.discrepancy_type}{side}  {item.account_id or '-'}  {item.business_date}"
        f"  age {item.ageing_bucket or '-'} d  {numbers.amount(item.difference, item.currency)} {item.currency or ''}"
        f"  {item.severity}  {item.state}  owner {item.owner}  {item.reference or ''}"
    ).rstrip()


def _cmd_exceptions(args: argparse.Namespace) -> int:
    from deltran import db
    from deltran.recon import exceptions

    wanted = exceptions.Filter(
        account=args.account,
        type=args.type,
        age=args.age,
        owner=args.owner_filter,
        state=args.state,
        severity=args.severity,
        business_date=args.date,
    )
    name = f"deltran exceptions {args.action}"
    with db.connect() as conn:
        db.ensure_schema(conn)
        if not _exists(conn, "marts.discrepancies"):
            print(
                f"{name}: marts.discrepancies does not exist yet: build the marts (deltran dbt build)", file=sys.stderr
            )
            return 1
        try:
            if args.action == "list":
                items = exceptions.find(conn, wanted)
                for item in items:
                    print(_exception_line(item))
                print(
                    f"{len(items)} exception(s); act on one by its id (first column), or on all listed by the same filters"
                )
                return 0
            if args.action in ("show", "history"):
                item, events = exceptions.show(conn, args.ids[0] if args.ids else "")
                if args.action == "show":
                    print(_exception_line(item))
                    if item.resolution_note:
                        print(f"  resolution note: {item.resolution_note}")
                if not events:
                    print(f"  no change recorded yet (state {item.state}, owner {item.owner})")
                for at, actor, before, after, owner, note in events:
                    print(
                        f"  {at:%Y-%m-%d %H:%M:%S} {actor}: {before} -> {after} (owner {owner}){': ' + note if note else ''}"
                    )
                return 0
            if args.ids:
                ids = [exceptions.resolve_id(conn, text) for text in args.ids]
            elif wanted.is_empty():
                print(f"{name}: give exception ids, or filters (--account, --type, --age, --owner, --state ...)"
                      " to act on every exception they list", file=sys.stderr)  # fmt: skip
                return 2
            else:  # every exception the filters list that the action applies to
                applies_to = exceptions.ACTIONS.get(args.action, ((), None))[0]
                everything = dataclasses.replace(wanted, state=wanted.state or "all")
                ids = [i.discrepancy_id for i in exceptions.find(conn, everything) if i.state in applies_to]
            outcome = exceptions.act(
                conn, args.action, ids, actor=args.by or getpass.getuser(), note=args.note, owner=args.new_owner
            )
        except exceptions.ExceptionError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
    for change in outcome.changed:
        print(f"{change.discrepancy_id}: {change.from_state} -> {change.to_state}, owner {change.owner}")
    for discrepancy_id, why in outcome.skipped:
        print(f"{discrepancy_id}: skipped: {why}", file=sys.stderr)
    print(f"{len(outcome.changed)} changed, {len(outcome.skipped)} skipped")
    return 0 if outcome.changed or not outcome.skipped else 2


def _cmd_matches(args: argparse.Namespace) -> int:
    from deltran import db
    from deltran.recon import matches

    with db.connect() as conn:
        db.ensure_schema(conn)
        if args.action == "list":
            rows = matches.waiting(conn, args.account)
            for match_id, account, day, ccy, bank, ledger, diff, ref, ledger_id in rows:
                print(
                    f"{match_id}  {day}  {account:<26} {ccy} bank {bank} {ref or '-'}  ledger {ledger} {ledger_id}"
                    + (f"  difference {diff}" if diff else "")
                )
            print(f"{len(rows)} suggested match(es) waiting")
            return 0
        if args.action == "history":
            decisions = matches.history(conn, args.id)
            if not decisions:
                print(f"deltran matches history: no decision recorded on {args.id!r}", file=sys.stderr)
                return 1
            for at, actor, decision, reason in decisions:
                print(f"{at:%Y-%m-%d %H:%M:%S} {actor}: {decision}: {reason}")
            return 0
        actor = args.actor or getpass.getuser()
        try:
            if args.action == "pair":
                made = matches.pair(conn, args.bank_entry_id, args.ledger_entry_id, reason=args.reason, actor=actor)
            else:
                made = matches.decide(conn, args.id, args.action, reason=args.reason, actor=actor)
        except matches.MatchDecisionError as exc:
            print(f"deltran matches {args.action}: {exc}", file=sys.stderr)
            return 2
    done = {"confirm": "confirmed", "reject": "rejected", "pair": "paired by hand"}[made.decision]
    print(
        f"{made.match_id}: {made.previous} -> {done} by {made.actor} ({made.reason});"
        " the marts show it from their next build"
    )
    return 0


def _exists(conn: Any, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def _cmd_report(args: argparse.Namespace) -> int:
    from deltran import db, report

    with db.connect() as conn:
        print(report.format_summary(report.eod_summary(conn, args.date)))
    return 0


def run_airflow(airflow_args: list[str], check: bool = True, log: Path | None = None) -> int:
    """The Airflow CLI in the project's environment; its output to ``log`` if given."""
    from deltran.airflow_env import airflow_environment

    airflow = [sys.executable, "-m", "airflow"]
    if log is None:
        return subprocess.run(airflow + airflow_args, env=airflow_environment(), check=check).returncode
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        code = subprocess.run(
            airflow + airflow_args, env=airflow_environment(), stdout=out, stderr=subprocess.STDOUT
        ).returncode
    if code and check:
        print(log.read_text()[-4000:], file=sys.stderr)
        raise SystemExit(f"airflow {' '.join(airflow_args)} failed (exit {code}); its log: {log}")
    return code


def _cmd_airflow(args: argparse.Namespace) -> int:
    return run_airflow(args.airflow_args, check=False)


def _cmd_demo(args: argparse.Namespace) -> int:
    from deltran.demo.runner import run_demo

    return run_demo(args.date, seed=args.seed)


def iso_date(text: str) -> date:
    """A business date as YYYY-MM-DD, with a message a person understands otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-20") from None


def _add(
    sub: argparse._SubParsersAction, name: str, summary: str, example: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and shows an example."""
    return sub.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        **kwargs,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deltran",
        description="Payment clearing and ledger-vs-bank reconciliation. Every command runs the same code as the "
        "Airflow DAGs, on the warehouse DATABASE_URL names (the embedded PostgreSQL when unset).",
        epilog="examples:\n  deltran demo\n  deltran breaker status\n  deltran report 2026-11-20\n\n"
        "`deltran COMMAND --help` explains each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _add(sub, "demo", "generate a business day and run it through the DAGs, then print its summary",
                "deltran demo --date 2026-11-20 --seed 42")  # fmt: skip
    demo.add_argument(
        "--date", type=iso_date, default=DEMO_DATE, help="business date, YYYY-MM-DD (default %(default)s)"
    )
    demo.add_argument(
        "--seed", type=int, default=42, help="seed of the generated day: same seed, same files (default %(default)s)"
    )
    demo.set_defaults(func=_cmd_demo)

    dbp = _add(
        sub,
        "db",
        "the warehouse connection: print its URL (for psql), stop the embedded server, migrate it",
        'psql "$(deltran db url)"',
    )
    dbp.add_argument(
        "action",
        choices=["url", "stop", "upgrade"],
        help="url: print the libpq URL in use; stop: stop the embedded PostgreSQL; upgrade: run the pending"
        " migrations of raw, control, clearing and the roles (as the warehouse's owner)",
    )
    dbp.set_defaults(func=_cmd_db)

    _add(sub, "ingest", "load every file in the inbox into the raw tables now (bad files go to quarantine)",
         "deltran ingest").set_defaults(func=_cmd_ingest)  # fmt: skip

    dbtp = _add(sub, "dbt", "run dbt on the warehouse with the configured connection and thresholds",
                "deltran dbt build --select discrepancies")  # fmt: skip
    dbtp.add_argument(
        "dbt_args",
        nargs=argparse.REMAINDER,
        metavar="DBT_ARGS",
        help="dbt's own arguments (build, run, test, docs generate, source freshness ...)",
    )
    dbtp.set_defaults(func=_cmd_dbt)

    parse = _add(sub, "parse", "print an ISO 20022 file (camt.05x, pacs.00x, pain.00x) as one record per line",
                 "deltran parse statement.xml --format csv > entries.csv")  # fmt: skip
    parse.add_argument("file", help="the XML file; its message type and version are recognised from its namespace")
    parse.add_argument("--format", choices=["jsonl", "csv"], default="jsonl", help="JSON Lines (default) or CSV")
    parse.set_defaults(func=_cmd_parse)

    net = _add(sub, "net", "net a CSV of obligations per currency and print positions and instructions as JSON "
               "(`deltran net --help` gives the CSV format)", "deltran net obligations.csv", add_help=False)  # fmt: skip
    net.add_argument("file", nargs="?", help="CSV with the header debtor,creditor,currency,amount")
    net.add_argument("-h", "--help", action="store_true", help="the CSV format, with an example")
    net.set_defaults(func=_cmd_net)

    brk = _add(sub, "breaker", "circuit breakers: who may not be paid out and why; a person's reset",
               "deltran breaker status")  # fmt: skip
    brk_sub = brk.add_subparsers(dest="action", required=True, metavar="ACTION")
    bstat = _add(brk_sub, "status", "every account's breaker and payout state; with ACCOUNT, exit 0 when its payouts "
                 "are allowed and 1 when halted or suspended, saying why", "deltran breaker status AE070331234567890123456")  # fmt: skip
    bstat.add_argument("account", nargs="?", help="one account (IBAN): its answer and why, as the exit code too")
    reset = _add(brk_sub, "reset", "close an open breaker: payouts may resume (a person's decision, recorded); "
                 "refused while the account's latest check is still Critical, unless --force",
                 'deltran breaker reset AE889010000012345670001 --reason "bank confirmed the missing credit" --by alice')  # fmt: skip
    reset.add_argument("account", help="the account id (IBAN), or * for the network-wide switch")
    reset.add_argument("--reason", required=True, help="why payouts may resume (recorded, visible text required)")
    reset.add_argument("--by", "--actor", dest="by", help="who decides (default: the login name)")
    reset.add_argument(
        "--force", action="store_true", help="reset although the latest check is still Critical (recorded as forced)"
    )
    halt = _add(brk_sub, "open", "halt payouts by hand: one account, or * for the whole network (recorded)",
                "deltran breaker open '*' --reason \"settlement bank outage\" --by alice")  # fmt: skip
    halt.add_argument("account", help="the account id (IBAN), or * for the network-wide switch")
    halt.add_argument("--reason", required=True, help="why payouts stop (recorded, visible text required)")
    halt.add_argument("--by", "--actor", dest="by", help="who decides (default: the login name)")
    brk.set_defaults(func=_cmd_breaker)

    pay = _add(sub, "payouts", "payout suspensions (Significant): lift one by a person's decision, recorded",
               'deltran payouts resume IL620108000000099999999 --reason "bank confirmed the credit" --by alice')  # fmt: skip
    pay_sub = pay.add_subparsers(dest="action", required=True, metavar="ACTION")
    resume = _add(pay_sub, "resume", "lift the account's payout suspension (an open breaker needs `breaker reset`)",
                  'deltran payouts resume IL620108000000099999999 --reason "difference explained: fee" --by alice')  # fmt: skip
    resume.add_argument("account", help="the account id (IBAN)")
    resume.add_argument("--reason", required=True, help="why payouts may resume (recorded, visible text required)")
    resume.add_argument("--by", "--actor", dest="by", help="who decides (default: the login name)")
    pay.set_defaults(func=_cmd_payouts)

    dis = _add(sub, "discrepancy", "work a discrepancy: owner, state, resolution note, history",
               "deltran discrepancy history 3f2a...  (the id is in the day's summary and marts.discrepancies)")  # fmt: skip
    dis_sub = dis.add_subparsers(dest="action", required=True, metavar="ACTION")
    upd = _add(dis_sub, "update", "change a discrepancy's state and/or owner (recorded with who and why)",
               'deltran discrepancy update ID --state resolved --note "fee posted by finance"')  # fmt: skip
    upd.add_argument("id", help="its discrepancy_id (the day's summary and marts.discrepancies show it)")
    upd.add_argument("--state", choices=["open", "investigating", "resolved", "escalated"], help="the new state")
    upd.add_argument("--owner", help="who works it from now on")
    upd.add_argument("--note", help="what was found or done (required to resolve)")
    upd.add_argument("--actor", help="who makes the change (default: the login name)")
    _add(
        dis_sub, "history", "every change of a discrepancy, oldest first", "deltran discrepancy history ID"
    ).add_argument("id", help="its discrepancy_id")
    dis.set_defaults(func=_cmd_discrepancy)

    exc = _add(sub, "exceptions", "work the breaks (marts.discrepancies): list, show, assign, resolve, escalate, "
               "reopen; one by its id or all a filter lists", "deltran exceptions list --account AE070331234567890123456 --age 2-7")  # fmt: skip
    exc_sub = exc.add_subparsers(dest="action", required=True, metavar="ACTION")
    examples = {
        "list": ("exceptions still to work (open, investigating, escalated, expected), oldest first",
                 "deltran exceptions list --state all --type MissingTxn"),
        "show": ("one exception and its history", "deltran exceptions show 3f2a9c1e"),
        "history": ("every change of one exception, oldest first", "deltran exceptions history 3f2a9c1e"),
        "assign": ("give exceptions an owner (an open one moves to investigating)",
                   'deltran exceptions assign 3f2a9c1e --owner treasury --note "fee question" --by alice'),
        "resolve": ("resolve exceptions with a resolution note (recorded, never erased)",
                    'deltran exceptions resolve --account GB29NWBK60161331926819 --type AmountMismatch --note "fee" --by al'),
        "escalate": ("escalate exceptions, saying why", 'deltran exceptions escalate 3f2a9c1e --note "CFO" --by alice'),
        "reopen": ("reopen resolved or escalated exceptions, saying why",
                   'deltran exceptions reopen 3f2a9c1e --note "bank recalled the credit" --by alice'),
    }  # fmt: skip
    for action, (summary, example) in examples.items():
        ap = _add(exc_sub, action, summary, example)
        if action in ("show", "history"):
            ap.add_argument("ids", nargs=1, metavar="ID", help="the exception id (or its first 8+ characters)")
        elif action != "list":
            ap.add_argument(
                "ids", nargs="*", metavar="ID", help="exception ids; none: every exception the filters list"
            )
        for flag, dest, what in (
            ("--account", "account", "only this account"),
            ("--type", "type", "BalanceMismatch, MissingTxn, DuplicateTxn or AmountMismatch"),
            ("--age", "age", "ageing bucket in days: 0-1, 2-7, 8-30, >30"),
            ("--owner" if action != "assign" else "--owned-by", "owner_filter", "only those this owner holds"),
            ("--state", "state", "open, investigating, resolved, escalated, expected or all (default: still to work)"),
            ("--severity", "severity", "Minor, Significant or Critical"),
        ):
            ap.add_argument(flag, dest=dest, help=what)
        ap.add_argument("--date", type=iso_date, help="only breaks of this business date, YYYY-MM-DD")
        if action in ("assign", "escalate"):
            new_owner = "--owner" if action == "assign" else "--to"
            ap.add_argument(new_owner, dest="new_owner", required=action == "assign", help="the new owner")
        if action not in ("list", "show", "history"):
            ap.add_argument("--note", help="why (required, except to assign); resolving: the resolution note")
            ap.add_argument("--by", "--actor", dest="by", help="who acts (default: the login name)")
        ap.set_defaults(
            **{k: None for k in ("ids", "new_owner", "note", "by") if not any(a.dest == k for a in ap._actions)}
        )
    exc.set_defaults(func=_cmd_exceptions)

    mat = _add(sub, "matches", "suggested matches (no shared reference): list, confirm, reject, pair by hand",
               "deltran matches list --account AE889010000012345670001")  # fmt: skip
    mat_sub = mat.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add(mat_sub, "list", "suggested matches waiting for a person", "deltran matches list").add_argument(
        "--account", help="only this account's"
    )
    for action in ("confirm", "reject"):
        decide = _add(mat_sub, action, f"{action} a suggested match (recorded with who and why)",
                      f'deltran matches {action} MATCH_ID --reason "same payer and amount, bank reference missing"')  # fmt: skip
        decide.add_argument("id", help="its match_id (deltran matches list, marts.transaction_matches)")
        decide.add_argument("--reason", required=True, help="why (recorded)")
        decide.add_argument("--actor", help="who decides (default: the login name)")
    hand = _add(mat_sub, "pair", "pair a lone bank movement with a lone ledger posting by hand (recorded)",
                'deltran matches pair BANK_ENTRY_ID LEDGER_ENTRY_ID --reason "confirmed with the bank"')  # fmt: skip
    hand.add_argument("bank_entry_id", help="bank_entry_id of a bank_only movement")
    hand.add_argument("ledger_entry_id", help="ledger entry_id of a ledger_only posting")
    hand.add_argument("--reason", required=True, help="why (recorded)")
    hand.add_argument("--actor", help="who decides (default: the login name)")
    _add(
        mat_sub, "history", "every decision on a match, oldest first", "deltran matches history MATCH_ID"
    ).add_argument("id", help="its match_id")
    mat.set_defaults(func=_cmd_matches)

    aud = _add(sub, "audit", "the tamper-evident audit trail of breaker, suspension, case and match events",
               "deltran audit verify")  # fmt: skip
    aud_sub = aud.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add(aud_sub, "verify", "recompute the hash chain; name the first event altered, deleted or inserted (exit 1)",
         "deltran audit verify --head 68c6a0a9...").add_argument(
        "--head", help="a head hash printed by an earlier verify and kept elsewhere: it must still be in the chain"
    )  # fmt: skip
    aud.set_defaults(func=_cmd_audit)

    rep = _add(sub, "report", "print the end-of-day summary of a business date", "deltran report 2026-11-20")
    rep.add_argument("date", type=iso_date, help="the business date, YYYY-MM-DD")
    rep.set_defaults(func=_cmd_report)

    af = _add(sub, "airflow", "the Airflow CLI with the project's environment (home, DAGs, plugins)",
              "deltran airflow dags list")  # fmt: skip
    af.add_argument("airflow_args", nargs=argparse.REMAINDER, metavar="AIRFLOW_ARGS", help="Airflow's own arguments")
    af.set_defaults(func=_cmd_airflow)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `deltran parse FILE | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
