"""The `deltran` command line: the same code the DAGs run, for people and scripts.

deltran demo [--date D] [--seed N]      a business day through the DAGs, then its summary
deltran db url | db stop                the warehouse in use (embedded unless DATABASE_URL)
deltran ingest                          load the inbox now (what the DAGs' first task does)
deltran dbt ARGS...                     dbt on the warehouse, with the configured thresholds
deltran parse FILE [--format jsonl|csv] an ISO 20022 file as one record per line
deltran net OBLIGATIONS.csv             multilateral netting of a CSV of obligations
deltran breaker status | reset ACCOUNT --reason TEXT [--actor NAME]
deltran discrepancy update ID [--state S] [--owner O] [--note N] | history ID
deltran matches list [--account A] | confirm|reject ID --reason R | pair BANK LEDGER --reason R | history ID
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

DEMO_DATE = date(2026, 11, 20)


def _cmd_db(args: argparse.Namespace) -> int:
    from deltran import db

    if args.action == "url":
        print(db.database_url())
    elif args.action == "stop":
        print("stopped" if db.stop_embedded() else "the embedded server was not running")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from deltran import pipeline

    print(json.dumps(pipeline.ingest_files(), indent=2))
    return 0


def _cmd_dbt(args: argparse.Namespace) -> int:
    from deltran import db
    from deltran.warehouse import dbt

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
            for at, actor, before, after, owner, note in cases.history(conn, args.id):
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
            for at, actor, decision, reason in matches.history(conn, args.id):
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deltran", description="Payment clearing and reconciliation platform.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate a business day and run it through the DAGs")
    demo.add_argument("--date", type=date.fromisoformat, default=DEMO_DATE, help="business date (default %(default)s)")
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=_cmd_demo)

    dbp = sub.add_parser("db", help="the warehouse connection")
    dbp.add_argument("action", choices=["url", "stop"])
    dbp.set_defaults(func=_cmd_db)

    sub.add_parser("ingest", help="load the inbox into the raw tables").set_defaults(func=_cmd_ingest)

    dbtp = sub.add_parser("dbt", help="run dbt on the warehouse with the configured thresholds")
    dbtp.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbtp.set_defaults(func=_cmd_dbt)

    parse = sub.add_parser("parse", help="print an ISO 20022 file as one record per line")
    parse.add_argument("file")
    parse.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    parse.set_defaults(func=_cmd_parse)

    net = sub.add_parser("net", help="net a CSV of obligations (debtor,creditor,currency,amount)")
    net.add_argument("file")
    net.set_defaults(func=_cmd_net)

    brk = sub.add_parser("breaker", help="circuit breaker state and manual reset")
    brk_sub = brk.add_subparsers(dest="action", required=True)
    brk_sub.add_parser("status")
    reset = brk_sub.add_parser("reset", help="close an open breaker (a person's decision, recorded)")
    reset.add_argument("account", help="the account id (IBAN), or * for the network-wide switch")
    reset.add_argument("--reason", required=True, help="why payouts may resume (recorded)")
    reset.add_argument("--actor", help="who decides (default: the login name)")
    brk.set_defaults(func=_cmd_breaker)

    dis = sub.add_parser("discrepancy", help="work a discrepancy: owner, state, resolution note")
    dis_sub = dis.add_subparsers(dest="action", required=True)
    upd = dis_sub.add_parser("update", help="change state and/or owner (recorded with who and why)")
    upd.add_argument("id", help="marts.discrepancies.discrepancy_id")
    upd.add_argument("--state", choices=["open", "investigating", "resolved", "escalated"])
    upd.add_argument("--owner")
    upd.add_argument("--note", help="what was found or done (required to resolve)")
    upd.add_argument("--actor", help="who (default: the login name)")
    dis_sub.add_parser("history", help="every change of a discrepancy").add_argument("id")
    dis.set_defaults(func=_cmd_discrepancy)

    mat = sub.add_parser("matches", help="suggested matches (no shared reference): list, confirm, reject")
    mat_sub = mat.add_subparsers(dest="action", required=True)
    mat_sub.add_parser("list", help="suggested matches waiting for a person").add_argument("--account")
    for action in ("confirm", "reject"):
        decide = mat_sub.add_parser(action, help=f"{action} a suggested match (recorded with who and why)")
        decide.add_argument("id", help="marts.transaction_matches.match_id")
        decide.add_argument("--reason", required=True)
        decide.add_argument("--actor", help="who (default: the login name)")
    hand = mat_sub.add_parser("pair", help="pair a lone bank movement with a lone ledger posting by hand (recorded)")
    hand.add_argument("bank_entry_id", help="bank_entry_id of a bank_only movement")
    hand.add_argument("ledger_entry_id", help="ledger entry_id of a ledger_only posting")
    hand.add_argument("--reason", required=True)
    hand.add_argument("--actor", help="who (default: the login name)")
    mat_sub.add_parser("history", help="every decision on a match").add_argument("id")
    mat.set_defaults(func=_cmd_matches)

    rep = sub.add_parser("report", help="the end-of-day summary of a business date")
    rep.add_argument("date", type=date.fromisoformat)
    rep.set_defaults(func=_cmd_report)

    af = sub.add_parser("airflow", help="the Airflow CLI with the project's environment")
    af.add_argument("airflow_args", nargs=argparse.REMAINDER)
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
