"""Write camt.052 / camt.053 / camt.054 files from records, streaming.

The inverse of the camt reader, for demo data, tests and the benchmark: entries
come from any iterable and each is serialised as soon as it is built
(``lxml.etree.xmlfile``), so a million entries never make a tree in memory.

The output is valid against the ISO XSD of the chosen version (default
``.001.08``; any of ``.001.02`` to ``.001.14``): element names follow the version
(``BIC`` before ``BICFI``, a plain ``Sts`` code before ``Sts/Cd``, ``Dbtr/Nm``
before ``Dbtr/Pty/Nm``, ``UETR`` from ``.001.08``). Where a version requires a
value the records leave open, the writer fills it and says so here:

* ``Ntry/Sts`` is mandatory: a status of ``None`` is written as ``BOOK``.
* ``Ntry/BkTxCd`` is mandatory: ``None`` is written as an empty ``<BkTxCd/>``.
* ``Stmt/CreDtTm`` is mandatory before ``.001.08``: ``None`` takes the message's.
* ``TxDtls/Amt`` is mandatory in ``.001.03`` to ``.001.07``: a detail without an
  amount takes its entry's; ``.001.02`` has no ``TxDtls/Amt`` and writes
  ``AmtDtls/TxAmt/Amt`` (no direction).
* ``BookgDt``/``Bal/Dt`` hold one of ``Dt`` and ``DtTm``: the date-time wins, and
  the reader derives the date from it.
* ``RmtInf/Ustrd`` holds at most 140 characters: each line of the text is one
  ``Ustrd`` (the reader joins them with a newline again); a longer line is cut
  at its last space within 140 characters, so it reads back with a newline there.

Amounts are written by ``parsers.xmlwrite.format_amount``, exactly, in their
currency's minor units. Values the schema cannot hold (negative amounts, more
fraction digits than the currency has, a camt.053 without balances, a camt.054
with balances, an unknown version) raise
``ValueError`` instead of being written; as the output streams, what was
written before the bad record is then an incomplete file.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO, Iterable

from lxml import etree

from parsers import xmlwrite
from parsers.records import Balance, Entry, Statement, TransactionDetails
from parsers.xmlwrite import path, sub

ISO_NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:"

# message type -> (message element, statement element)
_MESSAGES = {
    "camt.052": ("BkToCstmrAcctRpt", "Rpt"),
    "camt.053": ("BkToCstmrStmt", "Stmt"),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
_DOMAIN_CODE = re.compile(r"([A-Z0-9]{1,4})/([A-Z0-9]{1,4})/([A-Z0-9]{1,4})")
_EXTERNAL_CODE = re.compile(r"[A-Za-z0-9]{1,4}")
# BalanceType12Code, the closed list of balance codes before .001.08
_OLD_BALANCE_CODES = frozenset({"XPCD", "OPAV", "ITAV", "CLAV", "FWAV", "CLBD", "ITBD", "OPBD", "PRCD", "INFO"})
_OLD_STATUS_CODES = frozenset({"BOOK", "PDNG", "INFO"})
_USTRD_MAX = 140
_RATE_FRACTION_DIGITS = 10  # BaseOneRate


@dataclass(frozen=True, slots=True)
class _Flavour:
    """What differs between the versions the writer produces."""

    number: int

    @property
    def bic(self) -> str:
        return "BIC" if self.number < 3 else "BICFI"

    @property
    def choices(self) -> bool:
        """Sts/Cd, Dbtr/Pty and UETR arrive together with .001.08."""
        return self.number >= 8

    @property
    def tx_amount_required(self) -> bool:
        return 3 <= self.number < 8


_ADDITIONAL_INFO = {"Stmt": "AddtlStmtInf", "Rpt": "AddtlRptInf", "Ntfctn": "AddtlNtfctnInf"}


def write_bank_to_customer(
    target: str | Path | BinaryIO,
    message_type: str,
    message_id: str,
    created_at: datetime,
    statements: Iterable[tuple[Statement, list[Balance], Iterable[Entry]]],
    version: str | None = None,
) -> None:
    """Write one camt.05x message holding ``statements`` to ``target`` (path or binary file).

    The statement header and balances come from the ``Statement`` and ``Balance``
    records; their message fields (type, id, account) are taken from the
    arguments and the header, not from each record. ``version`` is the full
    name (``'camt.053.001.04'``) or just its number (``'04'``).
    """
    if message_type not in _MESSAGES:
        raise ValueError(f"cannot write {message_type!r}: one of {sorted(_MESSAGES)}")
    version = _resolve_version(message_type, version)
    flavour = _Flavour(int(version.rsplit(".", 1)[1]))
    message_tag, statement_tag = _MESSAGES[message_type]
    namespace = ISO_NAMESPACE + version

    # Subtrees are built without a namespace and written inside the Document that
    # declares the message namespace as default, so every element lands in it
    # without an xmlns repeated on each entry (xmlfile writes subtrees verbatim).
    with etree.xmlfile(target, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{namespace}}}Document", nsmap={None: namespace}):
            xf.write("\n")
            with xf.element(message_tag):
                xf.write("\n")
                statements = iter(statements)
                first = next(statements, None)
                header = xmlwrite.element("GrpHdr")
                sub(header, "MsgId", message_id)
                sub(header, "CreDtTm", created_at.isoformat())
                if first is not None and first[0].page_number is not None:
                    paging = sub(header, "MsgPgntn")
                    sub(paging, "PgNb", str(first[0].page_number))
                    sub(paging, "LastPgInd", "true" if first[0].last_page else "false")
                xf.write(header, pretty_print=True)
                for statement, balances, entries in itertools.chain([first] if first else [], statements):
                    _check_statement(message_type, statement, balances)
                    with xf.element(statement_tag):
                        xf.write("\n")
                        for element in _statement_header(statement, balances, created_at, flavour):
                            xf.write(element, pretty_print=True)
                        for entry in entries:
                            xf.write(_entry(entry, flavour), pretty_print=True)
                        if statement.additional_info:  # the schema's last child of a statement
                            trailer = etree.Element(_ADDITIONAL_INFO[statement_tag])
                            trailer.text = statement.additional_info
                            xf.write(trailer, pretty_print=True)
                    xf.write("\n")
            xf.write("\n")


def _resolve_version(message_type: str, version: str | None) -> str:
    if version is None:
        return f"{message_type}.001.08"
    if re.fullmatch(r"\d{2}", version):
        version = f"{message_type}.001.{version}"
    match = re.fullmatch(re.escape(message_type) + r"\.001\.(\d{2})", version)
    if not match or not 2 <= int(match.group(1)) <= 14:
        raise ValueError(f"cannot write version {version!r} of {message_type}: .001.02 to .001.14")
    return version


def _check_statement(message_type: str, statement: Statement, balances: list[Balance]) -> None:
    if not statement.account:
        raise ValueError(f"statement {statement.statement_id!r}: Acct/Id is mandatory")
    if message_type == "camt.053" and not balances:
        raise ValueError(f"statement {statement.statement_id!r}: a camt.053 needs a balance")
    if message_type == "camt.054" and balances:
        raise ValueError(f"notification {statement.statement_id!r}: camt.054 has no balances")


def _statement_header(
    statement: Statement, balances: list[Balance], created_at: datetime, flavour: _Flavour
) -> list[etree._Element]:
    """Id .. TxsSummry as separate top-level subtrees, in schema order."""
    out: list[etree._Element] = [xmlwrite.element("Id", statement.statement_id)]
    if statement.electronic_seq_nb is not None:
        out.append(xmlwrite.element("ElctrncSeqNb", str(statement.electronic_seq_nb)))
    if statement.legal_seq_nb is not None:
        out.append(xmlwrite.element("LglSeqNb", str(statement.legal_seq_nb)))
    statement_created = statement.created_at or (None if flavour.choices else created_at)
    if statement_created is not None:
        out.append(xmlwrite.element("CreDtTm", statement_created.isoformat()))
    if statement.from_at is not None and statement.to_at is not None:
        period = xmlwrite.element("FrToDt")
        sub(period, "FrDtTm", statement.from_at.isoformat())
        sub(period, "ToDtTm", statement.to_at.isoformat())
        out.append(period)
    if statement.copy_duplicate:
        out.append(xmlwrite.element("CpyDplctInd", statement.copy_duplicate))
    account = xmlwrite.element("Acct")
    xmlwrite.account(account, statement.account or "")  # _check_statement refused a statement without one
    if statement.account_currency:
        sub(account, "Ccy", statement.account_currency)
    if statement.servicer_bic:
        sub(path(account, "Svcr", "FinInstnId"), flavour.bic, statement.servicer_bic)
    out.append(account)
    out.extend(_balance(balance, flavour) for balance in balances)
    summary = _summary(statement)
    if summary is not None:
        out.append(summary)
    return out


def _balance(balance: Balance, flavour: _Flavour) -> etree._Element:
    element = xmlwrite.element("Bal")
    code = balance.type_code
    known = _EXTERNAL_CODE.fullmatch(code) if flavour.choices else code in _OLD_BALANCE_CODES
    sub(path(element, "Tp", "CdOrPrtry"), "Cd" if known else "Prtry", code)
    xmlwrite.amount(element, "Amt", balance.amount, balance.currency)
    sub(element, "CdtDbtInd", balance.credit_debit)
    if not _date_choice(element, "Dt", balance.date, balance.date_time):
        raise ValueError(f"balance {code} of {balance.statement_id!r}: Dt is mandatory")
    return element


def _summary(statement: Statement) -> etree._Element | None:
    parts = (
        ("TtlNtries", statement.summary_entry_count, None),
        ("TtlCdtNtries", statement.summary_credit_count, statement.summary_credit_sum),
        ("TtlDbtNtries", statement.summary_debit_count, statement.summary_debit_sum),
    )
    if all(count is None and total is None for _, count, total in parts):
        return None
    summary = xmlwrite.element("TxsSummry")
    for name, count, total in parts:
        if count is None and total is None:
            continue
        part = sub(summary, name)
        if count is not None:
            sub(part, "NbOfNtries", str(count))
        if total is not None:
            sub(part, "Sum", xmlwrite.format_decimal(total))
    return summary


def _entry(entry: Entry, flavour: _Flavour) -> etree._Element:
    ntry = xmlwrite.element("Ntry")
    if entry.entry_ref:
        sub(ntry, "NtryRef", entry.entry_ref)
    xmlwrite.amount(ntry, "Amt", entry.amount, entry.currency)
    sub(ntry, "CdtDbtInd", entry.credit_debit)
    if entry.is_reversal:
        sub(ntry, "RvslInd", "true")
    status = entry.status or "BOOK"
    if flavour.choices:
        sub(sub(ntry, "Sts"), "Cd" if _EXTERNAL_CODE.fullmatch(status) else "Prtry", status)
    elif status in _OLD_STATUS_CODES:
        sub(ntry, "Sts", status)
    else:
        raise ValueError(f"entry status {status!r} needs .001.08 or later")
    _date_choice(ntry, "BookgDt", entry.booking_date, entry.booking_date_time)
    _date_choice(ntry, "ValDt", entry.value_date, None)
    if entry.acct_svcr_ref:
        sub(ntry, "AcctSvcrRef", entry.acct_svcr_ref)
    code = sub(ntry, "BkTxCd")
    _bank_tx_code(code, entry.bank_tx_code, entry.bank_tx_code_proprietary, entry.bank_tx_code_issuer)
    batch = (entry.batch_message_id, entry.batch_payment_info_id, entry.batch_tx_count, entry.batch_total_amount)
    if entry.transactions or any(value is not None for value in batch):
        details = sub(ntry, "NtryDtls")
        if any(value is not None for value in batch):
            _second_round(flavour, "NtryDtls/Btch")
            element = sub(details, "Btch")
            if entry.batch_message_id:
                sub(element, "MsgId", entry.batch_message_id)
            if entry.batch_payment_info_id:
                sub(element, "PmtInfId", entry.batch_payment_info_id)
            if entry.batch_tx_count is not None:
                sub(element, "NbOfTxs", str(entry.batch_tx_count))
            if entry.batch_total_amount is not None:
                xmlwrite.amount(element, "TtlAmt", entry.batch_total_amount, entry.currency)
        for tx in entry.transactions:
            _transaction(details, tx, entry, flavour)
    if entry.additional_info:
        _second_round(flavour, "AddtlNtryInf")
        sub(ntry, "AddtlNtryInf", entry.additional_info)
    return ntry


def _second_round(flavour: _Flavour, name: str) -> None:
    """The fields added in the readers' second round are written from .001.08 on, where they were checked."""
    if not flavour.choices:
        raise ValueError(f"{name} is written from .001.08 on")


def _transaction(parent: etree._Element, tx: TransactionDetails, entry: Entry, flavour: _Flavour) -> None:
    element = sub(parent, "TxDtls")
    refs = (
        ("MsgId", tx.msg_id),
        ("AcctSvcrRef", tx.acct_svcr_ref),
        ("PmtInfId", tx.payment_info_id),
        ("InstrId", tx.instr_id),
        ("EndToEndId", tx.end_to_end_id),
        ("UETR", tx.uetr if flavour.choices else None),
        ("TxId", tx.tx_id),
        ("MndtId", tx.mandate_id),
    )
    second = (
        tx.payment_info_id, tx.mandate_id, tx.proprietary_refs, tx.instructed_amount, tx.exchange_rate,
        tx.bank_tx_code, tx.bank_tx_code_proprietary, tx.charges_amount, tx.charge_bearer, tx.local_instrument, tx.purpose,
        tx.creditor_reference, tx.referred_documents, tx.accepted_at, tx.settlement_date,
        tx.return_reason_code, tx.return_additional_info, tx.additional_info,
    )  # fmt: skip
    if any(value is not None for value in second):
        _second_round(flavour, "the second round's TxDtls fields")
    if any(value for _, value in refs) or tx.proprietary_refs:
        ref_element = sub(element, "Refs")
        for name, value in refs:
            if value:
                sub(ref_element, name, value)
        for line in (tx.proprietary_refs or "").split("\n") if tx.proprietary_refs else ():
            kind, _, value = line.partition("=")
            proprietary = sub(ref_element, "Prtry")
            sub(proprietary, "Tp", kind)
            sub(proprietary, "Ref", value)

    amount, currency, direction = tx.amount, tx.currency, tx.credit_debit
    if flavour.tx_amount_required and amount is None:
        amount, currency, direction = entry.amount, entry.currency, entry.credit_debit
    if flavour.number < 3:
        if amount is not None:
            xmlwrite.amount(path(element, "AmtDtls", "TxAmt"), "Amt", amount, currency or entry.currency)
    else:
        if amount is not None:
            xmlwrite.amount(element, "Amt", amount, currency or entry.currency)
        if direction is not None or flavour.tx_amount_required:
            sub(element, "CdtDbtInd", direction or entry.credit_debit)
    if tx.instructed_amount is not None:
        instructed = path(element, "AmtDtls", "InstdAmt")
        xmlwrite.amount(instructed, "Amt", tx.instructed_amount, tx.instructed_currency or entry.currency)
        if tx.exchange_rate is not None:
            exchange = sub(instructed, "CcyXchg")
            sub(exchange, "SrcCcy", tx.instructed_currency or entry.currency)
            sub(exchange, "XchgRate", xmlwrite.format_decimal(tx.exchange_rate, _RATE_FRACTION_DIGITS))
    if tx.bank_tx_code or tx.bank_tx_code_proprietary:
        _bank_tx_code(sub(element, "BkTxCd"), tx.bank_tx_code, tx.bank_tx_code_proprietary, tx.bank_tx_code_issuer)
    if tx.charges_amount is not None:
        charges = sub(element, "Chrgs")
        xmlwrite.amount(charges, "TtlChrgsAndTaxAmt", tx.charges_amount, tx.charges_currency or entry.currency)
        if tx.charge_bearer:
            record = sub(charges, "Rcrd")
            xmlwrite.amount(record, "Amt", tx.charges_amount, tx.charges_currency or entry.currency)
            sub(record, "Br", tx.charge_bearer)

    parties = (
        ("Dbtr", tx.debtor_name, "DbtrAcct", tx.debtor_account),
        ("Cdtr", tx.creditor_name, "CdtrAcct", tx.creditor_account),
    )
    if any(party_name or account for _, party_name, _, account in parties):
        related = sub(element, "RltdPties")
        for party, party_name, account_tag, account in parties:
            if party_name:
                holder = sub(related, party)
                sub(sub(holder, "Pty") if flavour.choices else holder, "Nm", party_name)
            if account:
                xmlwrite.account(sub(related, account_tag), account)
    agents = (
        ("DbtrAgt", tx.debtor_agent_bic, tx.debtor_agent),
        ("CdtrAgt", tx.creditor_agent_bic, tx.creditor_agent),
    )
    if any(bic or key for _, bic, key in agents):
        related = sub(element, "RltdAgts")
        for agent, bic, key in agents:
            if bic or key:
                _institution(path(related, agent, "FinInstnId"), bic, key, flavour)
    if tx.local_instrument:
        _code_choice(element, "LclInstrm", tx.local_instrument)
    if tx.purpose:
        _code_choice(element, "Purp", tx.purpose)
    if tx.remittance_info or tx.creditor_reference or tx.referred_documents:
        remittance = sub(element, "RmtInf")
        for line in _ustrd_lines(tx.remittance_info or ""):
            sub(remittance, "Ustrd", line)
        if tx.creditor_reference or tx.referred_documents:
            structured = sub(remittance, "Strd")
            for number in (tx.referred_documents or "").split("\n") if tx.referred_documents else ():
                sub(sub(structured, "RfrdDocInf"), "Nb", number)
            if tx.creditor_reference:
                reference = sub(structured, "CdtrRefInf")
                if tx.creditor_reference_type:
                    _code_choice(sub(reference, "Tp"), "CdOrPrtry", tx.creditor_reference_type, _REFERENCE_TYPES)
                sub(reference, "Ref", tx.creditor_reference)
    if tx.accepted_at is not None or tx.settlement_date is not None:
        dates = sub(element, "RltdDts")
        if tx.accepted_at is not None:
            sub(dates, "AccptncDtTm", tx.accepted_at.isoformat())
        if tx.settlement_date is not None:
            sub(dates, "IntrBkSttlmDt", tx.settlement_date.isoformat())
    if tx.return_reason_code or tx.return_additional_info:
        returned = sub(element, "RtrInf")
        if tx.return_reason_code:
            _code_choice(returned, "Rsn", tx.return_reason_code)
        for line in (tx.return_additional_info or "").split("\n") if tx.return_additional_info else ():
            sub(returned, "AddtlInf", line)
    if tx.additional_info:
        sub(element, "AddtlTxInf", tx.additional_info)


def _institution(parent: etree._Element, bic: str | None, key: str | None, flavour: _Flavour) -> None:
    """FinInstnId from a BIC, else from the participant key the reader gives (values.participant)."""
    if not bic:
        _second_round(flavour, "an agent without a BIC")
        if key is None:
            raise ValueError("an agent needs a BIC or a participant key")
    xmlwrite.institution(parent, bic or key or "", flavour.bic)


_REFERENCE_TYPES = frozenset({"RADM", "RPIN", "FXDR", "DISP", "PUOR", "SCOR"})  # DocumentType3Code


def _code_choice(parent: etree._Element, name: str, code: str, closed: frozenset[str] | None = None) -> None:
    """A code-or-proprietary choice: Cd when the value is a code there (an external code's form,
    or one of a closed list), else Prtry."""
    known = code in closed if closed is not None else _EXTERNAL_CODE.fullmatch(code)
    sub(sub(parent, name), "Cd" if known else "Prtry", code)


def _bank_tx_code(code: etree._Element, value: str | None, proprietary: str | None, issuer: str | None) -> None:
    """Domn from a 'DOMN/FMLY/SUBF' value; Prtry/Cd from the proprietary code, else from a value
    that is not a domain code (what the reader reads back as both), with its Issr."""
    domain = _DOMAIN_CODE.fullmatch(value) if value else None
    if domain:
        sub(sub(code, "Domn"), "Cd", domain.group(1))
        family = path(code, "Domn", "Fmly")
        sub(family, "Cd", domain.group(2))
        sub(family, "SubFmlyCd", domain.group(3))
    own = proprietary or (value if not domain else None)
    if own:
        choice = path(code, "Prtry")
        sub(choice, "Cd", own)
        if issuer:
            sub(choice, "Issr", issuer)


def _ustrd_lines(remittance: str) -> Iterable[str]:
    """One Ustrd per line; a line over 140 characters cut at its last space within them (the space dropped)."""
    for line in remittance.split("\n"):
        yield from _cut(line)


def _cut(text: str) -> Iterable[str]:
    while len(text) > _USTRD_MAX:
        cut = text.rfind(" ", 1, _USTRD_MAX + 1)
        if cut < 1:
            yield text[:_USTRD_MAX]
            text = text[_USTRD_MAX:]
        else:
            yield text[:cut]
            text = text[cut + 1 :]
    if text:
        yield text


def _date_choice(parent: etree._Element, name: str, day: date | None, moment: datetime | None) -> bool:
    if moment is not None:
        sub(sub(parent, name), "DtTm", moment.isoformat())
    elif day is not None:
        sub(sub(parent, name), "Dt", day.isoformat())
    else:
        return False
    return True
