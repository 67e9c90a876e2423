"""The `deltran` command line: the same code the DAGs run, for people and scripts.

deltran demo [--date D] [--seed N]      a business day through the DAGs, then its summary
deltran db url | db stop | db upgrade   the warehouse in use (embedded unless DATABASE_URL); migrate it
deltran ingest                          load the inbox now (what the DAGs' first task does)
deltran dbt ARGS...                     dbt on the warehouse, with the configured thresholds
deltran parse FILE [--format jsonl|csv] an ISO 20022 file as one record per line
deltran net OBLIGATIONS.csv             multilateral netting of a CSV of obligations
deltran breaker status | reset ACCOUNT --reason TEXT [--actor NAME]
deltran discrepancy update ID [--state S] [--owner O] [--note N] | history ID
deltran matches list [--account A] | confirm|reject ID --reason R | pair BANK LEDGER --reason R | history ID
deltran audit verify [--head HASH]      recompute the audit trail's hash chain (exit 1 when broken)
deltran report DATE                     the end-of-day summary of a business date
deltran airflow ARGS...                 the Airflow CLI with the project's environment
"""

from __future__ import annotations

import argparse
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
            print(breaker.format_status(breaker.status(conn)))
            return 0
        try:
            event = breaker.reset(conn, args.account, args.reason, args.actor or getpass.getuser())
        except breaker.BreakerError as exc:
            print(f"deltran breaker reset: {exc}", file=sys.stderr)
            return 2
    print(f"circuit breaker for {event.account_id} closed by {event.actor}: {event.reason}")
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
    _add(brk_sub, "status", "every account's breaker and payout state", "deltran breaker status")
    reset = _add(brk_sub, "reset", "close an open breaker: payouts may resume (a person's decision, recorded)",
                 'deltran breaker reset AE889010000012345670001 --reason "bank confirmed the missing credit"')  # fmt: skip
    reset.add_argument("account", help="the account id (IBAN), or * for the network-wide switch")
    reset.add_argument("--reason", required=True, help="why payouts may resume (recorded, visible text required)")
    reset.add_argument("--actor", help="who decides (default: the login name)")
    brk.set_defaults(func=_cmd_breaker)

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
