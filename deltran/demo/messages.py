"""ISO 20022 interbank messages of the demo, written with lxml.

Only what the platform reads plus what the schemas require: pacs.008.001.08,
pacs.002.001.10 and pacs.004.001.09 as bare ``Document`` roots (no AppHdr
envelope), and one camt.056.001.08 the platform does not ingest. Output is
byte-stable: fixed element order, fixed formatting, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Sequence

from lxml import etree

from parsers import xmlwrite
from parsers.xmlwrite import sub as _sub

NS = "urn:iso:std:iso:20022:tech:xsd:"
PACS008 = "pacs.008.001.08"
PACS002 = "pacs.002.001.10"
PACS004 = "pacs.004.001.09"
CAMT056 = "camt.056.001.08"


@dataclass(frozen=True)
class Transfer:
    """One interbank customer credit transfer (a CdtTrfTxInf)."""

    instr_id: str
    end_to_end_id: str
    tx_id: str
    uetr: str
    amount: Decimal
    currency: str
    settlement_date: date
    accepted_at: datetime
    debtor_agent: str
    creditor_agent: str
    debtor_name: str
    debtor_account: str
    creditor_name: str
    creditor_account: str
    remittance: str


def iso_dt(value: datetime) -> str:
    """UTC timestamps with a 'Z', seconds precision."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _document(message: str, root: str) -> tuple[etree._Element, etree._Element]:
    return xmlwrite.document(NS + message, root)


def _party(parent: etree._Element, tag: str, name: str) -> None:
    _sub(_sub(parent, tag), "Nm", name)


def _write(doc: etree._Element, path: Path) -> Path:
    path.write_bytes(xmlwrite.to_bytes(doc))
    return path


def write_pacs008(
    path: Path, message_id: str, created_at: datetime, sender: str, receiver: str, transfers: Sequence[Transfer]
) -> Path:
    """One FIToFICstmrCdtTrf with every transfer of a sending bank in one window.

    The group header goes from the sender to the clearing hub (``receiver``); each
    transaction names its own debtor and creditor agents.
    """
    doc, body = _document(PACS008, "FIToFICstmrCdtTrf")
    hdr = _sub(body, "GrpHdr")
    _sub(hdr, "MsgId", message_id)
    _sub(hdr, "CreDtTm", iso_dt(created_at))
    _sub(hdr, "NbOfTxs", str(len(transfers)))
    _sub(hdr, "CtrlSum", xmlwrite.format_decimal(sum((t.amount for t in transfers), Decimal(0))))
    _sub(_sub(hdr, "SttlmInf"), "SttlmMtd", "CLRG")
    xmlwrite.agent(hdr, "InstgAgt", sender)
    xmlwrite.agent(hdr, "InstdAgt", receiver)
    for t in transfers:
        tx = _sub(body, "CdtTrfTxInf")
        ids = _sub(tx, "PmtId")
        _sub(ids, "InstrId", t.instr_id)
        _sub(ids, "EndToEndId", t.end_to_end_id)
        _sub(ids, "TxId", t.tx_id)
        _sub(ids, "UETR", t.uetr)
        xmlwrite.amount(tx, "IntrBkSttlmAmt", t.amount, t.currency)
        _sub(tx, "IntrBkSttlmDt", t.settlement_date.isoformat())
        _sub(tx, "AccptncDtTm", iso_dt(t.accepted_at))
        _sub(tx, "ChrgBr", "SLEV")
        xmlwrite.agent(tx, "InstgAgt", t.debtor_agent)
        xmlwrite.agent(tx, "InstdAgt", t.creditor_agent)
        _party(tx, "Dbtr", t.debtor_name)
        xmlwrite.account(_sub(tx, "DbtrAcct"), t.debtor_account)
        xmlwrite.agent(tx, "DbtrAgt", t.debtor_agent)
        xmlwrite.agent(tx, "CdtrAgt", t.creditor_agent)
        _party(tx, "Cdtr", t.creditor_name)
        xmlwrite.account(_sub(tx, "CdtrAcct"), t.creditor_account)
        _sub(_sub(tx, "RmtInf"), "Ustrd", t.remittance)
    return _write(doc, path)


def _original_references(
    tx: etree._Element, original: Transfer, original_message_id: str, original_created_at: datetime
) -> None:
    """OrgnlGrpInf and the original ids, as pacs.002 and pacs.004 both carry them."""
    grp = _sub(tx, "OrgnlGrpInf")
    _sub(grp, "OrgnlMsgId", original_message_id)
    _sub(grp, "OrgnlMsgNmId", PACS008)
    _sub(grp, "OrgnlCreDtTm", iso_dt(original_created_at))
    _sub(tx, "OrgnlInstrId", original.instr_id)
    _sub(tx, "OrgnlEndToEndId", original.end_to_end_id)
    _sub(tx, "OrgnlTxId", original.tx_id)
    _sub(tx, "OrgnlUETR", original.uetr)


def write_pacs002_reject(
    path: Path,
    message_id: str,
    created_at: datetime,
    original: Transfer,
    original_message_id: str,
    original_created_at: datetime,
    reason_code: str,
    reason_text: str,
) -> Path:
    """The creditor agent rejects one earlier transfer (TxSts RJCT)."""
    doc, body = _document(PACS002, "FIToFIPmtStsRpt")
    hdr = _sub(body, "GrpHdr")
    _sub(hdr, "MsgId", message_id)
    _sub(hdr, "CreDtTm", iso_dt(created_at))
    xmlwrite.agent(hdr, "InstgAgt", original.creditor_agent)
    xmlwrite.agent(hdr, "InstdAgt", original.debtor_agent)
    tx = _sub(body, "TxInfAndSts")
    _sub(tx, "StsId", message_id + "-1")
    _original_references(tx, original, original_message_id, original_created_at)
    _sub(tx, "TxSts", "RJCT")
    reason = _sub(tx, "StsRsnInf")
    _sub(_sub(reason, "Rsn"), "Cd", reason_code)
    _sub(reason, "AddtlInf", reason_text)
    xmlwrite.agent(tx, "InstgAgt", original.creditor_agent)
    xmlwrite.agent(tx, "InstdAgt", original.debtor_agent)
    ref = _sub(tx, "OrgnlTxRef")
    xmlwrite.amount(ref, "IntrBkSttlmAmt", original.amount, original.currency)
    _sub(ref, "IntrBkSttlmDt", original.settlement_date.isoformat())
    return _write(doc, path)


def write_pacs004_return(
    path: Path,
    message_id: str,
    created_at: datetime,
    return_id: str,
    settlement_date: date,
    original: Transfer,
    original_message_id: str,
    original_created_at: datetime,
    reason_code: str,
    reason_text: str,
) -> Path:
    """The original creditor agent sends the money back to the original debtor agent."""
    returning, receiving = original.creditor_agent, original.debtor_agent
    doc, body = _document(PACS004, "PmtRtr")
    hdr = _sub(body, "GrpHdr")
    _sub(hdr, "MsgId", message_id)
    _sub(hdr, "CreDtTm", iso_dt(created_at))
    _sub(hdr, "NbOfTxs", "1")
    _sub(_sub(hdr, "SttlmInf"), "SttlmMtd", "CLRG")
    xmlwrite.agent(hdr, "InstgAgt", returning)
    xmlwrite.agent(hdr, "InstdAgt", receiving)
    tx = _sub(body, "TxInf")
    _sub(tx, "RtrId", return_id)
    _original_references(tx, original, original_message_id, original_created_at)
    xmlwrite.amount(tx, "OrgnlIntrBkSttlmAmt", original.amount, original.currency)
    _sub(tx, "OrgnlIntrBkSttlmDt", original.settlement_date.isoformat())
    xmlwrite.amount(tx, "RtrdIntrBkSttlmAmt", original.amount, original.currency)
    _sub(tx, "IntrBkSttlmDt", settlement_date.isoformat())
    _sub(tx, "ChrgBr", "SLEV")
    xmlwrite.agent(tx, "InstgAgt", returning)
    xmlwrite.agent(tx, "InstdAgt", receiving)
    chain = _sub(tx, "RtrChain")
    _sub(_sub(_sub(chain, "Dbtr"), "Pty"), "Nm", original.creditor_name)
    xmlwrite.agent(chain, "DbtrAgt", returning)
    xmlwrite.agent(chain, "CdtrAgt", receiving)
    _sub(_sub(_sub(chain, "Cdtr"), "Pty"), "Nm", original.debtor_name)
    reason = _sub(tx, "RtrRsnInf")
    _sub(_sub(reason, "Rsn"), "Cd", reason_code)
    _sub(reason, "AddtlInf", reason_text)
    ref = _sub(tx, "OrgnlTxRef")
    xmlwrite.amount(ref, "IntrBkSttlmAmt", original.amount, original.currency)
    _sub(ref, "IntrBkSttlmDt", original.settlement_date.isoformat())
    _sub(_sub(_sub(ref, "Dbtr"), "Pty"), "Nm", original.debtor_name)
    xmlwrite.agent(ref, "DbtrAgt", original.debtor_agent)
    xmlwrite.agent(ref, "CdtrAgt", original.creditor_agent)
    _sub(_sub(_sub(ref, "Cdtr"), "Pty"), "Nm", original.creditor_name)
    return _write(doc, path)


def write_camt056(
    path: Path,
    message_id: str,
    created_at: datetime,
    assigner: str,
    assignee: str,
    original_message_id: str,
    end_to_end_id: str,
    uetr: str,
    amount: Decimal,
    currency: str,
    settlement_date: date,
) -> Path:
    """A payment cancellation request: real ISO 20022, but not a message the platform takes."""
    doc, body = _document(CAMT056, "FIToFIPmtCxlReq")
    assignment = _sub(body, "Assgnmt")
    _sub(assignment, "Id", message_id)
    xmlwrite.agent(_sub(assignment, "Assgnr"), "Agt", assigner)
    xmlwrite.agent(_sub(assignment, "Assgne"), "Agt", assignee)
    _sub(assignment, "CreDtTm", iso_dt(created_at))
    tx = _sub(_sub(body, "Undrlyg"), "TxInf")
    _sub(tx, "CxlId", message_id + "-1")
    grp = _sub(tx, "OrgnlGrpInf")
    _sub(grp, "OrgnlMsgId", original_message_id)
    _sub(grp, "OrgnlMsgNmId", PACS008)
    _sub(tx, "OrgnlEndToEndId", end_to_end_id)
    _sub(tx, "OrgnlUETR", uetr)
    xmlwrite.amount(tx, "OrgnlIntrBkSttlmAmt", amount, currency)
    _sub(tx, "OrgnlIntrBkSttlmDt", settlement_date.isoformat())
    _sub(_sub(_sub(tx, "CxlRsnInf"), "Rsn"), "Cd", "DUPL")
    return _write(doc, path)
