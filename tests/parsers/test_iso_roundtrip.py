"""Property: any statements written by the writer read back as the same records, exactly.

Generated camt.052/053/054 messages go through ``write_bank_to_customer`` and
``iter_records``; the records must come back equal (amounts as the same
Decimal, written the same way), the output must be valid against the XSD, and
statements built to add up must yield no Finding, while a closing balance off
by any amount yields exactly that difference.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from parsers import iter_records
from parsers.currencies import minor_units, quantum
from parsers.records import (
    CREDIT,
    DEBIT,
    Balance,
    Entry,
    Finding,
    Statement,
    TransactionDetails,
)
from parsers.writers import write_bank_to_customer

from iso20022_corpus import XSD

SCHEMAS = {
    message: etree.XMLSchema(etree.parse(str(XSD / f"{message}.001.08.xsd")))
    for message in ("camt.052", "camt.053", "camt.054")
}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_TEXT = st.characters(whitelist_categories=("L", "N", "P", "Zs"))
identifiers = st.text(_TEXT, min_size=1, max_size=35).map(str.strip).filter(bool)
names = st.text(_TEXT, min_size=1, max_size=140).map(str.strip).filter(bool)
currencies = st.sampled_from(["EUR", "USD", "AED", "ILS", "JPY", "KWD"])


def amounts(currency: str) -> st.SearchStrategy[Decimal]:
    """Amounts as a bank writes them (and parsers.xmlwrite writes them): in the currency's
    minor units (EUR 2, JPY 0, KWD 3), 18 digits at most."""
    return st.builds(lambda minor: Decimal(minor).scaleb(-minor_units(currency)), st.integers(0, 10**15))


directions = st.sampled_from([CREDIT, DEBIT])
offsets = st.none() | st.integers(-48, 56).map(lambda quarter: timezone(timedelta(minutes=15 * quarter)))
moments = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone), st.datetimes(min_value=datetime(2000, 1, 1)), offsets
)
days = st.dates(min_value=date(2000, 1, 1))
ibans = st.from_regex(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{12,30}", fullmatch=True)
accounts = ibans | st.from_regex(r"[0-9]{6,20}", fullmatch=True)
bics = st.from_regex(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?", fullmatch=True)
uetrs = st.uuids(version=4).map(str)
participants_without_bic = st.from_regex(r"USABA:[0-9]{9}", fullmatch=True) | st.from_regex(
    r"LEI:[A-Z0-9]{18}[0-9]{2}", fullmatch=True
)
proprietary_refs = st.builds(
    lambda kind, ref: f"{kind}={ref}", st.from_regex(r"[A-Z]{3,10}", fullmatch=True), identifiers
)
rates = st.builds(lambda digits, places: Decimal(digits).scaleb(-places), st.integers(1, 10**10), st.integers(0, 10))
codes = st.from_regex(r"[A-Z0-9]{4}", fullmatch=True) | st.from_regex(r"[A-Z]{5,12}", fullmatch=True)
short_names = st.text(_TEXT, min_size=1, max_size=105).map(str.strip).filter(bool)
domain_codes = st.from_regex(r"[A-Z]{4}/[A-Z]{4}/[A-Z]{4}", fullmatch=True)
proprietary_codes = st.from_regex(r"P\+[A-Z0-9 ]{1,20}[A-Z0-9]", fullmatch=True)


@st.composite
def bank_codes(draw) -> tuple[str | None, str | None, str | None]:
    """(bank_tx_code, proprietary code, issuer): a domain code, a proprietary one, both, or none.
    The code is the domain code, else the proprietary one (as the reader gives it)."""
    domain = draw(st.none() | domain_codes)
    proprietary = draw(st.none() | proprietary_codes)
    issuer = draw(st.none() | codes) if proprietary else None
    return domain or proprietary, proprietary, issuer


def _optional(strategy):
    return st.none() | strategy


@st.composite
def transaction_details(draw, currency: str) -> TransactionDetails:
    with_amount = draw(st.booleans())
    details = TransactionDetails(
        end_to_end_id=draw(_optional(identifiers)),
        uetr=draw(_optional(uetrs)),
        tx_id=draw(_optional(identifiers)),
        instr_id=draw(_optional(identifiers)),
        msg_id=draw(_optional(identifiers)),
        acct_svcr_ref=draw(_optional(identifiers)),
        amount=draw(amounts(currency)) if with_amount else None,
        currency=currency if with_amount else None,
        credit_debit=draw(directions) if with_amount else None,
        debtor_name=draw(_optional(names)),
        debtor_account=draw(_optional(accounts)),
        debtor_agent_bic=draw(_optional(bics)),
        creditor_name=draw(_optional(names)),
        creditor_account=draw(_optional(accounts)),
        creditor_agent_bic=draw(_optional(bics)),
        remittance_info=draw(_optional(st.lists(names, min_size=1, max_size=3).map("\n".join))),
    )
    # the participant key of an agent with a BIC is its BIC; without one, a clearing-system id or an LEI
    for role in ("debtor", "creditor"):
        bic = getattr(details, f"{role}_agent_bic")
        setattr(details, f"{role}_agent", bic if bic else draw(st.none() | participants_without_bic))
    # the second round's fields
    details.bank_tx_code, details.bank_tx_code_proprietary, details.bank_tx_code_issuer = draw(bank_codes())
    details.additional_info = draw(_optional(names))
    details.payment_info_id = draw(_optional(identifiers))
    details.mandate_id = draw(_optional(identifiers))
    details.proprietary_refs = draw(_optional(st.lists(proprietary_refs, min_size=1, max_size=3).map("\n".join)))
    if draw(st.booleans()):
        details.instructed_currency = draw(currencies)
        details.instructed_amount = draw(amounts(details.instructed_currency))
        details.exchange_rate = draw(_optional(rates))
    if draw(st.booleans()):
        details.charges_amount = draw(amounts(currency))
        details.charges_currency = currency
        details.charge_bearer = draw(_optional(st.sampled_from(["DEBT", "CRED", "SHAR", "SLEV"])))
    details.purpose = draw(_optional(codes))
    details.local_instrument = draw(_optional(codes))
    details.return_reason_code = draw(_optional(codes))
    details.return_additional_info = draw(_optional(st.lists(short_names, min_size=1, max_size=2).map("\n".join)))
    details.creditor_reference = draw(_optional(identifiers))
    details.creditor_reference_type = draw(_optional(codes)) if details.creditor_reference else None
    details.referred_documents = draw(_optional(st.lists(identifiers, min_size=1, max_size=3).map("\n".join)))
    details.accepted_at = draw(_optional(moments))
    details.settlement_date = draw(_optional(days))
    return details


@st.composite
def entries(draw, header: Statement, index: int) -> Entry:
    currency = header.account_currency
    booked_at = draw(_optional(moments))
    direction = draw(directions)
    details = draw(st.lists(transaction_details(currency), max_size=3))
    for tx in details:  # details that agree with their entry (those that do not are findings)
        tx.credit_debit = direction if tx.amount is not None else None
    stated = [tx.amount for tx in details if tx.amount is not None]
    code, proprietary, issuer = draw(bank_codes())
    amount = sum(stated, Decimal(0)) if details and len(stated) == len(details) else draw(amounts(currency))
    return Entry(
        header.message_type,
        header.message_id,
        header.statement_id,
        header.account,
        currency,
        amount,
        currency,
        direction,
        status=draw(st.sampled_from(["BOOK", "PDNG", "INFO"])),
        booking_date=booked_at.date() if booked_at else draw(_optional(days)),
        booking_date_time=booked_at,
        value_date=draw(_optional(days)),
        entry_ref=draw(_optional(identifiers)),
        acct_svcr_ref=draw(_optional(identifiers)),
        is_reversal=draw(st.booleans()),
        bank_tx_code=code,
        bank_tx_code_proprietary=proprietary,
        bank_tx_code_issuer=issuer,
        entry_index=index,
        transactions=details,
        additional_info=draw(_optional(names)),
        batch_message_id=draw(_optional(identifiers)),
        batch_tx_count=draw(_optional(st.integers(0, 10**6))),
    )


@st.composite
def statements(draw, message_type: str, message_id: str, page: tuple[int, bool] | None = None):
    """A statement whose TxsSummry and closing balance agree with its entries."""
    period = draw(_optional(st.tuples(moments, moments)))
    header = Statement(
        message_type,
        message_id,
        draw(identifiers),
        draw(accounts),
        draw(currencies),
        servicer_bic=draw(_optional(bics)),
        created_at=draw(moments),
        from_at=period[0] if period else None,
        to_at=period[1] if period else None,
        electronic_seq_nb=draw(_optional(st.integers(0, 10**9))),
        legal_seq_nb=draw(_optional(st.integers(0, 10**9))),
        copy_duplicate=draw(_optional(st.sampled_from(["CODU", "COPY", "DUPL"]))),
        additional_info=draw(_optional(names)),  # AddtlStmtInf, after the entries
        page_number=page[0] if page else None,
        last_page=page[1] if page else None,
    )
    items = [draw(entries(header, index)) for index in range(draw(st.integers(0, 6)))]
    credits = [entry.amount for entry in items if entry.credit_debit == CREDIT]
    debits = [entry.amount for entry in items if entry.credit_debit == DEBIT]
    if draw(st.booleans()):
        header = dataclasses.replace(
            header,
            summary_entry_count=len(items),
            summary_credit_count=len(credits),
            summary_credit_sum=sum(credits, Decimal(0)),
            summary_debit_count=len(debits),
            summary_debit_sum=sum(debits, Decimal(0)),
        )
    balances = []
    if message_type != "camt.054":
        opening = draw(amounts(header.account_currency)) * draw(st.sampled_from([1, -1]))
        closing = opening + sum(
            (
                entry.amount if entry.credit_debit == CREDIT else -entry.amount
                for entry in items
                if entry.status == "BOOK"
            ),
            Decimal(0),
        )
        day = draw(days)
        for code, value in (("OPBD", opening), ("CLBD", closing)):
            balances.append(
                Balance(
                    message_type,
                    message_id,
                    header.statement_id,
                    header.account,
                    code,
                    abs(value),
                    header.account_currency,
                    CREDIT if value >= 0 else DEBIT,
                    date=day,
                )
            )
    return header, balances, items


@st.composite
def messages(draw):
    message_type = draw(st.sampled_from(["camt.052", "camt.053", "camt.054"]))
    message_id = draw(identifiers)
    count = draw(st.integers(1, 3))
    page = draw(_optional(st.tuples(st.integers(1, 99999), st.booleans())))  # GrpHdr/MsgPgntn: every statement's
    return (
        message_type,
        message_id,
        draw(moments),
        [draw(statements(message_type, message_id, page)) for _ in range(count)],
    )


def _write(message) -> bytes:
    message_type, message_id, created_at, content = message
    target = io.BytesIO()
    write_bank_to_customer(target, message_type, message_id, created_at, content)
    return target.getvalue()


@SETTINGS
@given(messages())
def test_written_statements_read_back_as_the_same_records(message) -> None:
    message_type, _, _, content = message
    written = _write(message)
    assert SCHEMAS[message_type].validate(etree.fromstring(written)), SCHEMAS[message_type].error_log.last_error
    read = [dataclasses.replace(record, line=None) for record in iter_records(io.BytesIO(written))]
    # a statement's entries first, then its header (complete only when the statement ends) and balances
    expected = [record for header, balances, items in content for record in (*items, header, *balances)]
    assert read == expected  # no Finding: every statement adds up
    assert [str(record.amount) for record in read if hasattr(record, "amount")] == [
        str(record.amount) for record in expected if hasattr(record, "amount")
    ]
    assert sum(record.amount for record in read if isinstance(record, Entry)) == sum(
        record.amount for record in expected if isinstance(record, Entry)
    )


@SETTINGS
@given(messages().filter(lambda message: message[0] != "camt.054"), st.integers(1, 10**12))
def test_a_closing_balance_off_by_any_amount_is_found_exactly(message, units: int) -> None:
    message_type, message_id, created_at, content = message
    header, balances, items = content[0]
    error = units * quantum(header.account_currency)
    closing = balances[1]
    wrong = closing.signed_amount + error
    balances[1] = dataclasses.replace(closing, amount=abs(wrong), credit_debit=CREDIT if wrong >= 0 else DEBIT)
    findings = [record for record in iter_records(io.BytesIO(_write(message))) if isinstance(record, Finding)]
    assert [(finding.check, finding.statement_id) for finding in findings] == [("balance", header.statement_id)]
    assert findings[0].expected - findings[0].actual == error
