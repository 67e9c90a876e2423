"""`deltran audit verify`: recompute the audit trail's hash chain and hold every history row to it.

The chain (control.audit_trail, deltran/warehouse/sql/60_audit_trail.sql) holds
every breaker, suspension, case and match-decision event as canonical JSON with
``hash = sha256(prev_hash \\n seq \\n source \\n source_id \\n payload)``. The
database refuses to update or delete history; this check is for what happens
behind that refusal (a superuser who disables the guards, a restore of an edited
dump). It finds:

* altered: an entry whose hash no longer matches its content, or a history row
  that no longer matches the payload chained when it was written;
* deleted: a gap in the chain's sequence, a broken link (an entry removed and the
  rest renumbered), or a chained event whose history row is gone;
* inserted: a history row that was never chained, or an entry that does not
  follow from the one before.

It recomputes the hashes here, in Python, not with the database's own function.
A superuser who rewrites a history row, its entry and every later hash leaves a
consistent chain with another head: keep the head ``verify`` prints somewhere
the database's superuser cannot write, and pass it back with ``--head``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

GENESIS = "0" * 64


def chain_hash(prev_hash: str, seq: int, source: str, source_id: int, payload: str) -> str:
    """The hash of one entry, as control.audit_hash computes it."""
    text = f"{prev_hash}\n{seq}\n{source}\n{source_id}\n{payload}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, order=True)
class Finding:
    position: float  # the chain position it concerns (an unchained row: just before the next chained one)
    what: str  # altered | deleted | inserted
    source: str
    source_id: int | None
    detail: str = field(compare=False)

    def __str__(self) -> str:
        event = f"{self.source} #{self.source_id}" if self.source_id is not None else self.source
        return f"{self.what}: {event} ({self.detail})"


@dataclass(frozen=True)
class Verification:
    events: int
    head_seq: int
    head_hash: str
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)  # numbers stay exact


def _sources(conn: psycopg.Connection) -> dict[str, str]:
    """History tables -> key column: every table the audit trigger is on (enabled or not)."""
    rows = conn.execute(
        "select c.oid::regclass::text, t.tgargs from pg_trigger as t join pg_class as c on c.oid = t.tgrelid"
        " where t.tgfoid = 'control.audit_append()'::regprocedure"
    ).fetchall()
    return {table: args.split(b"\x00")[0].decode() for table, args in rows}


def verify(conn: psycopg.Connection, expected_head: str | None = None) -> Verification:
    """Check the whole chain and every history table against it (read-only, one snapshot)."""
    findings: list[Finding] = []
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        if idle:  # its own transaction: every table read from one snapshot
            conn.execute("set transaction isolation level repeatable read, read only")
        conn.execute("set local timezone = 'UTC'")  # history rows rendered as they were chained
        chain = conn.execute(
            "select seq, source, source_id, payload, prev_hash, hash from control.audit_trail order by seq"
        ).fetchall()
        sources = _sources(conn)
        for source in {row[1] for row in chain} - sources.keys():  # its trigger dropped: still hold it
            key = "decision_id" if source.endswith("match_decisions") else "event_id"
            if conn.execute("select to_regclass(%s)", (source,)).fetchone() != (None,):
                sources[source] = key
        current: dict[str, dict[int, str]] = {}
        for source, key in sources.items():
            fetched = conn.execute(
                sql.SQL("select {key}::bigint, to_jsonb(t)::text from {table} as t").format(
                    key=sql.Identifier(key), table=sql.Identifier(*source.split(".", 1))
                )
            ).fetchall()
            current[source] = dict(fetched)

    previous_seq, previous_hash = 0, GENESIS
    chained: dict[str, dict[int, int]] = {}
    for seq, source, source_id, payload, prev_hash, stored_hash in chain:
        if seq != previous_seq + 1:
            findings.append(
                Finding(
                    previous_seq + 0.5,
                    "deleted",
                    "control.audit_trail",
                    None,
                    f"entries {previous_seq + 1}..{seq - 1} of the chain are missing",
                )
            )
        elif prev_hash != previous_hash:
            findings.append(
                Finding(
                    seq,
                    "inserted",
                    source,
                    source_id,
                    f"entry {seq} does not follow from entry {previous_seq}: an entry was inserted,"
                    " removed or replaced before it",
                )
            )
        if chain_hash(prev_hash, seq, source, source_id, payload) != stored_hash:
            findings.append(Finding(seq, "altered", source, source_id, f"entry {seq} no longer matches its hash"))
        chained.setdefault(source, {})[source_id] = seq
        rows = current.get(source, {})
        if source_id not in rows:
            findings.append(Finding(seq, "deleted", source, source_id, f"chained as entry {seq}, gone from {source}"))
        else:
            recorded, now = _loads(payload), _loads(rows[source_id])
            changed = sorted(k for k in recorded if now.get(k) != recorded[k])
            if changed:
                findings.append(
                    Finding(
                        seq,
                        "altered",
                        source,
                        source_id,
                        f"entry {seq}; changed: "
                        + ", ".join(f"{k} {recorded[k]!r} -> {now.get(k)!r}" for k in changed),
                    )
                )
        previous_seq, previous_hash = seq, stored_hash

    for source, rows in current.items():
        on_chain = chained.get(source, {})
        for source_id in sorted(set(rows) - set(on_chain)):
            later = [seq for sid, seq in on_chain.items() if sid > source_id]
            position = (min(later) if later else previous_seq + 1) - 0.5
            findings.append(Finding(position, "inserted", source, source_id, "not on the audit trail"))

    if expected_head and expected_head not in {row[5] for row in chain}:
        findings.append(
            Finding(
                0,
                "altered",
                "control.audit_trail",
                None,
                f"the head recorded earlier ({expected_head[:16]}...) is not in the chain: it was rewritten",
            )
        )
    return Verification(len(chain), previous_seq, previous_hash, sorted(findings))


def format_verification(result: Verification) -> str:
    if result.ok:
        return (
            f"audit trail intact: {result.events} events, head {result.head_seq} {result.head_hash}\n"
            "(keep the head outside the database; `deltran audit verify --head HASH` checks the chain still holds it)"
        )
    first = result.findings[0]
    lines = [f"audit trail BROKEN: first {first}"]
    lines += [f"  also {finding}" for finding in result.findings[1:20]]
    if len(result.findings) > 20:
        lines.append(f"  ... and {len(result.findings) - 20} more")
    return "\n".join(lines)
