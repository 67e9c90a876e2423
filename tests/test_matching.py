"""The matching passes on a real PostgreSQL through real dbt runs.

Worlds of bank movements and ledger postings are written straight into the raw
tables (the readers have their own tests), then the staging and matching
models run. Properties (hypothesis): every bank movement and every ledger
posting ends in exactly one state; loading the same rows in another order gives
the same matches; a rerun changes no row. And the decisions a person takes on
suggested matches (`deltran matches confirm|reject`) reach the marts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltran import cli, config
from deltran.recon import matches
from deltran.warehouse import dbt, schema

pytestmark = [pytest.mark.slow, pytest.mark.db]

DAY = date(2026, 11, 20)
MATCHING = "stg_bank__statements stg_bank__statement_entries stg_bank__statement_balances stg_ledger__journal_lines"
MODELS = (
    f"{MATCHING} int_bank_statements_daily int_bank_movements_numbered int_ledger_postings_numbered"
    " int_bank_reversals int_matches__references int_matches__batch_sum int_matches__suggested"
    " int_bank_entries_matched_to_ledger transaction_matches"
)


@dataclass
class World:
    """Rows for raw.bank_entries and raw.ledger_lines, per account (all USD, one statement a day)."""

    bank: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)


def _bank(account, amount, direction, *, day=0, uetr=None, e2e=None, ref=None, details=1, creditor_ref=None):
    return {
        "account": account, "amount": Decimal(amount), "credit_debit": direction,
        "booking_date": DAY + timedelta(days=day), "uetr": uetr, "end_to_end_id": e2e, "acct_svcr_ref": ref,
        "detail_count": details, "creditor_reference": creditor_ref,
    }  # fmt: skip


def _ledger(
    account,
    amount,
    direction,
    *,
    day=0,
    uetr=None,
    e2e=None,
    ref=None,
    journal=None,
    counterparty=None,
    creditor_ref=None,
):
    return {
        "account": account, "amount": Decimal(amount), "side": "D" if direction == "CRDT" else "C",
        "booked_at": datetime.combine(DAY + timedelta(days=day), datetime.min.time(), UTC) + timedelta(hours=9),
        "uetr": uetr, "end_to_end_id": e2e, "bank_reference": ref, "journal_id": journal,
        "counterparty_name": counterparty, "creditor_reference": creditor_ref,
    }  # fmt: skip


KINDS = ("uetr", "e2e", "ref", "mismatch", "noref", "bank_only", "ledger_only", "duplicate", "instalments", "batch")


@st.composite
def worlds(draw) -> World:
    world = World()
    amounts = st.sampled_from(["10.00", "20.00", "30.00", "45.50", "99.99"])  # few: collisions and ambiguity
    for number, kind in enumerate(draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=14))):
        account = draw(st.sampled_from(["ACC1", "ACC2"]))
        direction = draw(st.sampled_from(["CRDT", "DBIT"]))
        amount = draw(amounts)
        gap = draw(st.integers(0, 3))  # value dates 0-3 days apart: the tolerance is 2
        key = f"k{number}"
        if kind in ("uetr", "e2e", "ref"):
            arg = {"uetr": "uetr", "e2e": "e2e", "ref": "ref"}[kind]
            world.bank.append(_bank(account, amount, direction, **{arg: key}))
            world.ledger.append(_ledger(account, amount, direction, day=gap, **{arg: key}))
        elif kind == "mismatch":
            world.bank.append(_bank(account, amount, direction, uetr=key))
            world.ledger.append(_ledger(account, Decimal(amount) + Decimal("0.01"), direction, uetr=key))
        elif kind == "noref":
            world.bank.append(_bank(account, amount, direction))
            world.ledger.append(_ledger(account, amount, direction, day=gap))
        elif kind == "bank_only":
            world.bank.append(_bank(account, amount, direction, e2e=key))
        elif kind == "ledger_only":
            world.ledger.append(_ledger(account, amount, direction, e2e=key))
        elif kind == "duplicate":
            world.bank += [_bank(account, amount, direction, uetr=key)] * 2
            world.ledger.append(_ledger(account, amount, direction, uetr=key))
        elif kind == "instalments":
            for part in (amount, "1.23"):
                world.bank.append(_bank(account, part, direction, e2e=key))
                world.ledger.append(_ledger(account, part, direction, e2e=key))
        else:  # a batch booked as one entry without details, linked by its reference
            parts = [Decimal(amount), Decimal("5.00")]
            world.bank.append(_bank(account, sum(parts), direction, ref=key, details=0))
            world.ledger += [_ledger(account, part, direction, ref=key) for part in parts]
    return world


def load(conn: psycopg.Connection, world: World, rng: random.Random | None = None, statement_suffix: str = "") -> None:
    """Replace the raw tables with the world's rows, in the given order (shuffled with rng).

    ``statement_suffix`` changes every statement's Stmt/Id: the same statements delivered again under new ids.
    """
    with conn.transaction():
        _load(conn, world, rng, statement_suffix)


def _load(conn: psycopg.Connection, world: World, rng: random.Random | None, statement_suffix: str = "") -> None:
    conn.execute(
        "truncate raw.ingested_files, raw.bank_statements, raw.bank_balances, raw.bank_entries, raw.ledger_lines,"
        " raw.statement_findings restart identity cascade"
    )
    files = {}
    for name, kind in (("statements", "camt.053"), ("ledger", "ledger")):
        files[name] = conn.execute(
            "insert into raw.ingested_files (sha256, file_name, file_kind, size_bytes, row_counts)"
            " values (%s, %s, %s, 0, '{}') returning file_id",
            (name, name, kind),
        ).fetchone()[0]
    bank = list(enumerate(world.bank))
    ledger = list(enumerate(world.ledger))
    if rng is not None:
        rng.shuffle(bank)
        rng.shuffle(ledger)
    for account in ("ACC1", "ACC2"):
        for offset in range(4):  # a statement a day, so the postings 3 days later are covered
            day = DAY + timedelta(days=offset)
            statement = f"{account}-{day}{statement_suffix}"
            conn.execute(
                "insert into raw.bank_statements (file_id, message_type, message_id, statement_id, account,"
                " account_currency, created_at, electronic_seq_nb) values (%s, 'camt.053', 'm', %s, %s, 'USD', %s, %s)",
                (
                    files["statements"],
                    statement,
                    account,
                    datetime.combine(day, datetime.min.time(), UTC),
                    offset,
                ),
            )
            for code in ("OPBD", "CLBD"):
                conn.execute(
                    "insert into raw.bank_balances (file_id, message_type, message_id, statement_id, account, type_code,"
                    " amount, currency, credit_debit, date) values (%s, 'camt.053', 'm', %s, %s, %s, 0, 'USD', 'CRDT', %s)",
                    (files["statements"], statement, account, code, day),
                )
    for index, row in bank:
        conn.execute(
            "insert into raw.bank_entries (file_id, message_type, message_id, statement_id, account, account_currency,"
            " entry_index, detail_index, amount, currency, credit_debit, status, booking_date, value_date,"
            " acct_svcr_ref, is_reversal, entry_amount, detail_count, end_to_end_id, uetr, creditor_reference)"
            " values (%s, 'camt.053', 'm', %s, %s, 'USD', %s, 0, %s, 'USD', %s, 'BOOK', %s, %s, %s, false, %s, %s, %s, %s, %s)",
            (
                files["statements"], f"{row['account']}-{row['booking_date']}{statement_suffix}", row["account"], index,
                row["amount"],
                row["credit_debit"], row["booking_date"], row["booking_date"], row["acct_svcr_ref"], row["amount"],
                row["detail_count"], row["end_to_end_id"], row["uetr"], row["creditor_reference"],
            ),
        )  # fmt: skip
    for index, row in ledger:
        conn.execute(
            "insert into raw.ledger_lines (file_id, line_number, entry_id, journal_id, account, amount, currency, side,"
            " booked_at, value_date, kind, uetr, end_to_end_id, bank_reference, counterparty_name, creditor_reference)"
            " values (%s, %s, %s, %s, %s, %s, 'USD', %s, %s, %s, 'deposit', %s, %s, %s, %s, %s)",
            (
                files["ledger"], index + 2, f"L{index:04d}", row["journal_id"] or f"J{index:04d}", row["account"],
                row["amount"], row["side"], row["booked_at"], row["booked_at"].date(), row["uetr"],
                row["end_to_end_id"], row["bank_reference"], row["counterparty_name"], row["creditor_reference"],
            ),
        )  # fmt: skip


def build(models: str = MODELS) -> None:
    dbt.run(["run", "-s", *models.split(), "--quiet"], config.load())


def states(conn: psycopg.Connection) -> list[tuple]:
    """Every row of the matching, by natural keys (statement, entry index; ledger entry id)."""
    return conn.execute(
        "select coalesce(e.statement_id || '#' || e.entry_index, ''), coalesce(m.ledger_entry_id, ''),"
        " m.match_status, coalesce(m.matched_on, ''), m.amount_difference"
        " from intermediate.int_bank_entries_matched_to_ledger as m"
        " left join staging.stg_bank__statement_entries as e using (bank_entry_id) order by 1, 2"
    ).fetchall()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds(), seed=st.integers(0, 2**16))
def test_every_movement_ends_in_one_state_whatever_the_order_and_reruns_change_nothing(warehouse_url, world, seed):
    # autocommit: an open read would hold the locks dbt needs to replace the models
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        load(conn, world)
        build()
        first = states(conn)

        # every bank movement and every ledger posting is there, in exactly one state
        bank_states = conn.execute(
            "select e.bank_entry_id, count(distinct m.match_status), count(m.*),"
            " bool_and(m.matched_on is not distinct from 'batch_sum')"
            " from staging.stg_bank__statement_entries as e"
            " left join intermediate.int_bank_entries_matched_to_ledger as m using (bank_entry_id)"
            " group by e.bank_entry_id"
        ).fetchall()
        assert len(bank_states) == len(world.bank)
        for _, distinct_states, rows, by_sum in bank_states:
            assert distinct_states == 1 and (rows == 1 or by_sum)
        ledger_states = conn.execute(
            "select l.ledger_entry_id, count(m.*) from staging.stg_ledger__journal_lines as l"
            " left join intermediate.int_bank_entries_matched_to_ledger as m using (ledger_entry_id)"
            " group by l.ledger_entry_id"
        ).fetchall()
        assert len(ledger_states) == len(world.ledger)
        assert all(rows == 1 for _, rows in ledger_states)
        # a pair never joins different accounts or directions; a batch pairs to its exact sum
        assert not conn.execute(
            "select 1 from intermediate.int_bank_entries_matched_to_ledger as m"
            " join staging.stg_ledger__journal_lines as l using (ledger_entry_id)"
            " where m.bank_entry_id is not null and (l.account_id <> m.account_id or l.bank_direction <> m.bank_direction)"
        ).fetchall()
        assert not conn.execute(
            "select bank_entry_id from intermediate.int_bank_entries_matched_to_ledger where matched_on = 'batch_sum'"
            " group by bank_entry_id having sum(ledger_amount) <> max(bank_amount)"
        ).fetchall()

        # a rerun changes no row
        build()
        assert states(conn) == first

        # the same rows loaded in another order give the same matches
        load(conn, world, random.Random(seed))
        build()
        assert states(conn) == first


def _suggestion_world() -> World:
    world = World()
    world.bank.append(_bank("ACC1", "250.00", "CRDT"))
    world.ledger.append(_ledger("ACC1", "250.00", "CRDT", counterparty="ACME"))
    world.bank.append(_bank("ACC1", "40.00", "DBIT", uetr="u1"))
    world.ledger.append(_ledger("ACC1", "40.00", "DBIT", uetr="u1"))
    return world


def test_a_person_confirms_or_rejects_a_suggested_match(warehouse_url, capsys):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        load(conn, _suggestion_world())
        build()
        rows = conn.execute(
            "select match_id, matched_on, match_status from marts.transaction_matches order by 2"
        ).fetchall()
        assert [(on, status) for _, on, status in rows] == [("amount_date", "suggested"), ("uetr", "confirmed")]
        suggested = rows[0][0]
        assert [r[0] for r in matches.waiting(conn)] == [suggested]

        assert cli.main(["matches", "confirm", suggested, "--reason", "same client, same day", "--actor", "alice"]) == 0
        build()
        assert conn.execute(
            "select match_status from marts.transaction_matches where match_id = %s", (suggested,)
        ).fetchone() == ("confirmed",)
        with pytest.raises(matches.MatchDecisionError, match="already confirmed"):
            matches.decide(conn, suggested, "confirm", reason="again", actor="bob")
        with pytest.raises(matches.MatchDecisionError, match="a reason is required"):
            matches.decide(conn, suggested, "reject", reason="  ", actor="bob")
        assert cli.main(["matches", "confirm", "nope", "--reason", "x"]) == 2

        assert cli.main(["matches", "reject", suggested, "--reason", "different payer", "--actor", "bob"]) == 0
        build()
        assert conn.execute(
            "select count(*) from marts.transaction_matches where match_id = %s", (suggested,)
        ).fetchone() == (0,)
        alone = conn.execute(
            "select match_status from intermediate.int_bank_entries_matched_to_ledger where match_status like '%%_only'"
        ).fetchall()
        assert sorted(alone) == [("bank_only",), ("ledger_only",)]
        assert [(who, what) for _, who, what, _ in matches.history(conn, suggested)] == [
            ("alice", "confirm"),
            ("bob", "reject"),
        ]
        # a person pairs the two lone items by hand
        bank_id, ledger_id = conn.execute(
            "select bank_entry_id, ledger_entry_id from control.match_decisions order by decision_id limit 1"
        ).fetchone()
        with pytest.raises(matches.MatchDecisionError, match="is not alone"):
            matches.pair(conn, bank_id, "nope", reason="typo", actor="carol")
        assert (
            cli.main(["matches", "pair", bank_id, ledger_id, "--reason", "phoned the client", "--actor", "carol"]) == 0
        )
        build()
        assert conn.execute(
            "select matched_on, match_status from marts.transaction_matches where match_id = %s", (suggested,)
        ).fetchone() == ("manual", "confirmed")

        # the decisions are append-only
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("update control.match_decisions set decision = 'confirm'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("delete from control.match_decisions")
    capsys.readouterr()


def test_a_decision_survives_the_statement_delivered_again(warehouse_url):
    """Decisions hang on the movement's content, not on its statement id or position."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        world = _suggestion_world()
        world.bank.insert(0, _bank("ACC1", "9.00", "CRDT", ref="R9"))  # positions move when the order does
        load(conn, world)
        build()
        (suggested,) = conn.execute(
            "select match_id from marts.transaction_matches where matched_on = 'amount_date'"
        ).fetchone()
        first_id = conn.execute(
            "select bank_entry_id from marts.transaction_matches where match_id = %s", (suggested,)
        ).fetchone()
        matches.decide(conn, suggested, "confirm", reason="same client, same day", actor="alice")

        # the bank sends the day again: new Stmt/Id, entries in another order
        load(conn, world, random.Random(3), statement_suffix="-resent")
        build()
        now = conn.execute(
            "select match_id, bank_entry_id, match_status from marts.transaction_matches where matched_on = 'amount_date'"
        ).fetchall()
        assert len(now) == 1 and now[0][0] == suggested and now[0][2] == "confirmed"
        assert (now[0][1],) != first_id  # the positional id did change; the decision held regardless
        assert [(who, what) for _, who, what, _ in matches.history(conn, suggested)] == [("alice", "confirm")]
        # and it can still be reversed by its match_id
        matches.decide(conn, suggested, "reject", reason="other payer after all", actor="bob")
        build()
        assert not conn.execute("select 1 from marts.transaction_matches where match_id = %s", (suggested,)).fetchall()


def test_decisions_taken_before_the_stable_key_are_migrated(warehouse_url):
    """A decision recorded by bank_entry_id only (before bank_movement_key) gets its key from revision 0007."""
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        load(conn, _suggestion_world())
        build()
        bank_id, ledger_id, suggested = conn.execute(
            "select bank_entry_id, ledger_entry_id, match_id from marts.transaction_matches where matched_on = 'amount_date'"
        ).fetchone()
        conn.execute(
            "insert into control.match_decisions (bank_entry_id, ledger_entry_id, decision, reason, decided_by)"
            " values (%s, %s, 'confirm', 'decided before the key', 'alice')",
            (bank_id, ledger_id),
        )
        conn.execute(  # an orphan: its movement is gone; it keeps a null key and does no harm
            "insert into control.match_decisions (bank_entry_id, ledger_entry_id, decision, reason, decided_by)"
            " values ('gone', %s, 'reject', 'an old one', 'alice')",
            (ledger_id,),
        )
        # what upgrading a warehouse with such decisions to 0007 runs (the warehouse here is at head already)
        revision = schema.script_text("67_match_decision_keys.sql")
        conn.execute(revision)
        conn.execute(revision)  # idempotent
        assert conn.execute(
            "select d.bank_movement_key = b.bank_movement_key from control.match_decisions as d"
            " left join intermediate.int_bank_movements_numbered as b using (bank_entry_id) order by d.decision_id"
        ).fetchall() == [(True,), (None,)]
        build()
        assert conn.execute(
            "select match_status from marts.transaction_matches where match_id = %s", (suggested,)
        ).fetchone() == ("confirmed",)
        # the table is append-only again after the backfill
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("update control.match_decisions set reason = 'x'")


def test_structured_creditor_references_must_agree_where_both_sides_have_one(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        world = World()
        # the same RF reference, printed in groups by the bank and run together in the ledger: suggested
        world.bank.append(_bank("ACC1", "70.00", "CRDT", creditor_ref="RF18 5390 0754 7034"))
        world.ledger.append(_ledger("ACC1", "70.00", "CRDT", creditor_ref="rf18539007547034"))
        # different references, otherwise the only candidates: never paired
        world.bank.append(_bank("ACC1", "71.00", "CRDT", creditor_ref="RF18000000000001"))
        world.ledger.append(_ledger("ACC1", "71.00", "CRDT", creditor_ref="RF18000000000002"))
        # a reference on one side only: compared on amount and date as before
        world.bank.append(_bank("ACC1", "72.00", "CRDT", creditor_ref="RF18000000000003"))
        world.ledger.append(_ledger("ACC1", "72.00", "CRDT"))
        load(conn, world)
        build()
        assert conn.execute(
            "select bank_amount, match_status, matched_on from intermediate.int_bank_entries_matched_to_ledger"
            " order by coalesce(bank_amount, ledger_amount), match_status"
        ).fetchall() == [
            (Decimal("70.00"), "suggested", "amount_date"),
            (Decimal("71.00"), "bank_only", None),
            (None, "ledger_only", None),
            (Decimal("72.00"), "suggested", "amount_date"),
        ]


def test_auto_confirm_setting_confirms_suggestions(warehouse_url, monkeypatch):
    monkeypatch.setenv("DELTRAN_AUTO_CONFIRM_SUGGESTED_MATCHES", "true")
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        load(conn, _suggestion_world())
        build()
        assert conn.execute("select matched_on, match_status from marts.transaction_matches order by 1").fetchall() == [
            ("amount_date", "confirmed"),
            ("uetr", "confirmed"),
        ]


def test_amount_tolerance_setting_reaches_the_models(monkeypatch):
    monkeypatch.setenv("DELTRAN_MATCH_AMOUNT_TOLERANCE", "0.05")
    assert config.load().dbt_vars()["amount_tolerance"] == "0.05"
    monkeypatch.setenv("DELTRAN_MATCH_AMOUNT_TOLERANCE", "-1")
    with pytest.raises(ValueError, match="must be a number >= 0"):
        config.load()
