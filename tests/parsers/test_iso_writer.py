"""The camt writer: schema-valid for every version with an XSD, streaming, and read back whole."""

from __future__ import annotations

import dataclasses
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from parsers import iter_records
from parsers.records import Balance, Entry, Statement, TransactionDetails
from parsers.writers import write_bank_to_customer

from iso20022_corpus import XSD

SCHEMAS = sorted(path for path in XSD.glob("camt.05[234].001.*.xsd") if not path.stem.endswith(".01"))
CREATED = datetime(2024, 5, 2, 6, 0, tzinfo=timezone(timedelta(hours=4)))


def _statement(message_type: str = "camt.053") -> tuple[Statement, list[Balance], list[Entry]]:
    statement = Statement(
        message_type,
        "MSG-1",
        "STMT-1",
        "AE070331234567890123456",
        "AED",
        servicer_bic="EBILAEAD",
        created_at=CREATED,
        from_at=datetime(2024, 5, 1),
        to_at=datetime(2024, 5, 1, 23, 59, 59),
        electronic_seq_nb=12,
        legal_seq_nb=3,
        summary_entry_count=2,
        summary_credit_count=1,
        summary_credit_sum=Decimal("300.00"),
        summary_debit_count=1,
        summary_debit_sum=Decimal("0.12"),
    )
    balances = (
        [
            Balance(
                message_type,
                "MSG-1",
                "STMT-1",
                "AE070331234567890123456",
                "OPBD",
                Decimal("10.00"),
                "AED",
                "CRDT",
                date=date(2024, 4, 30),
            ),
            Balance(
                message_type,
                "MSG-1",
                "STMT-1",
                "AE070331234567890123456",
                "CLBD",
                Decimal("309.88"),
                "AED",
                "CRDT",
                date=date(2024, 5, 1),
                date_time=datetime(2024, 5, 1, 23, 59, 59, tzinfo=timezone.utc),
            ),
        ]
        if message_type != "camt.054"
        else []
    )
    details = [
        TransactionDetails(
            end_to_end_id="E2E-1",
            uetr="8a562c67-ca16-48ba-b074-65581be6f011",
            tx_id="TX-1",
            instr_id="IN-1",
            msg_id="PACS-1",
            acct_svcr_ref="SVC-1",
            amount=Decimal("100.00"),
            currency="AED",
            credit_debit="CRDT",
            debtor_name="Alpha",
            debtor_account="12345678",
            debtor_agent_bic="NBADAEAA",
            creditor_name="Beta",
            creditor_account="AE070331234567890123456",
            creditor_agent_bic="EBILAEADXXX",
            remittance_info="Invoice 1",
            debtor_agent="NBADAEAA",  # the participant key of an agent with a BIC
            creditor_agent="EBILAEADXXX",
        ),
        TransactionDetails(end_to_end_id="E2E-2", amount=Decimal("200.00"), currency="AED", credit_debit="CRDT"),
    ]
    entries = [
        Entry(
            message_type,
            "MSG-1",
            "STMT-1",
            "AE070331234567890123456",
            "AED",
            Decimal("300.00"),
            "AED",
            "CRDT",
            status="BOOK",
            booking_date=date(2024, 5, 1),
            value_date=date(2024, 5, 1),
            entry_ref="1",
            acct_svcr_ref="BANK-1",
            bank_tx_code="PMNT/RCDT/ESCT",
            transactions=details,
        ),
        Entry(
            message_type,
            "MSG-1",
            "STMT-1",
            "AE070331234567890123456",
            "AED",
            Decimal("0.12"),
            "AED",
            "DBIT",
            status="BOOK",
            booking_date=date(2024, 5, 1),
            booking_date_time=datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc),
            is_reversal=True,
            bank_tx_code="FEE 12/2024",
            bank_tx_code_proprietary="FEE 12/2024",  # a proprietary code alone is the code too
            entry_index=1,
        ),
    ]
    return statement, balances, entries


def _write(message_type: str = "camt.053", version: str | None = None) -> bytes:
    statement, balances, entries = _statement(message_type)
    target = io.BytesIO()
    write_bank_to_customer(target, message_type, "MSG-1", CREATED, [(statement, balances, entries)], version=version)
    return target.getvalue()


def _without_lines(records: list) -> list:
    return [dataclasses.replace(record, line=None) for record in records]


@pytest.mark.parametrize("schema", SCHEMAS, ids=[path.stem for path in SCHEMAS])
def test_output_is_valid_against_the_xsd_of_its_version(schema: Path) -> None:
    version = schema.stem
    document = etree.fromstring(_write(version[:8], version))
    validator = etree.XMLSchema(etree.parse(str(schema)))
    assert validator.validate(document), validator.error_log.last_error
    assert len(list(iter_records(io.BytesIO(etree.tostring(document))))) > 1


def test_round_trip_gives_back_the_same_records() -> None:
    statement, balances, entries = _statement()
    records = list(iter_records(io.BytesIO(_write())))
    assert _without_lines(records) == [*entries, statement, *balances]


def test_old_versions_keep_what_their_schema_can_hold() -> None:
    """.001.02 has no TxDtls/Amt: the amount travels in AmtDtls/TxAmt, without direction."""
    records = list(iter_records(io.BytesIO(_write(version="camt.053.001.02"))))
    first = next(record for record in records if isinstance(record, Entry))
    assert [tx.amount for tx in first.transactions] == [Decimal("100.00"), Decimal("200.00")]
    assert [tx.credit_debit for tx in first.transactions] == [None, None]
    assert first.transactions[0].uetr is None  # no UETR before .001.08


def test_long_remittance_is_cut_at_spaces_and_read_back_line_by_line() -> None:
    statement, balances, entries = _statement()
    text = " ".join(f"word{number}" for number in range(60))  # ~400 characters
    entries[0].transactions[0].remittance_info = text
    target = io.BytesIO()
    write_bank_to_customer(target, "camt.053", "MSG-1", CREATED, [(statement, balances, entries)])
    lines = etree.fromstring(target.getvalue()).iter("{*}Ustrd")
    assert all(len(line.text) <= 140 for line in lines)
    read = [record for record in iter_records(io.BytesIO(target.getvalue())) if isinstance(record, Entry)]
    read_text = read[0].transactions[0].remittance_info
    assert read_text.replace("\n", " ") == text and read_text.count("\n") == 2


def test_entries_are_written_as_they_come() -> None:
    """A million entries never make a tree: output grows while the entries are still coming."""
    statement, balances, entries = _statement()
    target = io.BytesIO()
    sizes = []

    def many():
        for index in range(20_000):
            if index % 5_000 == 0:
                sizes.append(len(target.getvalue()))
            yield dataclasses.replace(entries[1], entry_index=index)

    write_bank_to_customer(target, "camt.053", "MSG-1", CREATED, [(statement, balances, many())])
    assert sizes == sorted(sizes) and sizes[-1] > sizes[1] > 0


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s, b, e: (s, [], e), "needs a balance"),
        (lambda s, b, e: (dataclasses.replace(s, account=None), b, e), "Acct/Id is mandatory"),
        (lambda s, b, e: (s, b, [dataclasses.replace(e[0], amount=Decimal("-1"))]), "never negative"),
        (lambda s, b, e: (s, b, [dataclasses.replace(e[0], amount=Decimal("1.001"))]), "more than 2 fraction digits"),
        (lambda s, b, e: (s, [dataclasses.replace(b[0], date=None)], e), "Dt is mandatory"),
    ],
)
def test_what_the_schema_cannot_hold_is_refused(change, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_bank_to_customer(io.BytesIO(), "camt.053", "MSG-1", CREATED, [change(*_statement())])


def test_refusals_by_message_and_version() -> None:
    statement, balances, entries = _statement()
    with pytest.raises(ValueError, match="camt.054 has no balances"):
        write_bank_to_customer(io.BytesIO(), "camt.054", "M", CREATED, [(statement, balances, entries)])
    with pytest.raises(ValueError, match="version"):
        write_bank_to_customer(io.BytesIO(), "camt.053", "M", CREATED, [], version="camt.052.001.08")
    with pytest.raises(ValueError, match="cannot write"):
        write_bank_to_customer(io.BytesIO(), "pacs.008", "M", CREATED, [])
    odd_status = [dataclasses.replace(entries[0], status="RJCT")]
    with pytest.raises(ValueError, match="needs .001.08"):
        write_bank_to_customer(
            io.BytesIO(), "camt.053", "M", CREATED, [(statement, balances, odd_status)], version="04"
        )


def test_writes_to_a_path(tmp_path: Path) -> None:
    statement, balances, entries = _statement()
    target = tmp_path / "statement.xml"
    write_bank_to_customer(target, "camt.053", "MSG-1", CREATED, [(statement, balances, entries)])
    assert _without_lines(list(iter_records(target))) == [*entries, statement, *balances]
