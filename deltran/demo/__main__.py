"""python -m deltran.demo INBOX [--date 2026-11-20] [--days 1] [--seed 42] [--manifest PATH]

Writes the demo files into INBOX; the manifest (the answer key) goes elsewhere,
since ingest scans the inbox.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from .generator import generate_days


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deltran.demo", description=__doc__.splitlines()[2])
    parser.add_argument("inbox", type=Path)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 20), help="first business date")
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--manifest", type=Path, help="where to write the manifest(s) as JSON, outside the inbox")
    args = parser.parse_args(argv)
    if args.manifest and args.manifest.resolve().parent == args.inbox.resolve():
        parser.error("the manifest must not go into the inbox: ingest would scan it")
    manifests = generate_days(args.inbox, args.date, args.days, args.seed)
    for m in manifests:
        if args.manifest:
            target = (
                args.manifest
                if len(manifests) == 1
                else args.manifest.with_name(f"{args.manifest.stem}_{m.business_date}{args.manifest.suffix}")
            )
            m.write_manifest(target)
        levels = " ".join(f"{a.key}={a.expected_level}" for a in m.accounts)
        print(
            f"{m.business_date}: {len(m.files)} files, {m.counts['ledger_lines']} ledger lines, "
            f"{m.counts['statement_entries']} entries, {m.counts['payments']} payments; {levels}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
