"""pacs.008, pain.001, pacs.002 and pacs.004: one record per transaction, streamed.

Like the camt reader, each reader is told only about the GrpHdr and the
per-transaction elements as they end, reads a transaction through one pass
over its children (``values.children``), and drops it from the tree. Element
names are read by local name, so one reader serves every version (``BIC`` or
``BICFI``, ``ReqdExctnDt`` as a date or as ``Dt``/``DtTm``, the S2 variant of
pacs.002...). Values a transaction leaves out fall back to the group header
where the message puts them there (IntrBkSttlmDt, InstgAgt, InstdAgt, and the
original message of pacs.002/pacs.004).

Agents are identified by BIC only: a clearing-system member id (ClrSysMmbId,
e.g. a US ABA routing number) is not a BIC and is not put in a BIC field.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import BinaryIO, Iterator

from lxml import etree

from parsers import values
from parsers.detect import MessageInfo, end_elements, release
from parsers.errors import ParseError
from parsers.records import Payment, PaymentReturn, Record, StatusReport


def _require_group(group: values.GroupHeader | None, element: etree._Element, file: str) -> values.GroupHeader:
    if group is None:
        raise values.missing(file, element.getparent(), "GrpHdr")
    return group


def _ids(element: etree._Element | None, qlen: int) -> dict[str, str | None]:
    """Texts of the children of PmtId (or any flat id block) by local name."""
    if element is None:
        return {}
    return {child.tag[qlen:]: values.text(child) for child in element}


def _remittance(element: etree._Element | None, qlen: int) -> str | None:
    if element is None:
        return None
    return values.joined_text([line for line in element if line.tag[qlen:] == "Ustrd"])


def _reason(element: etree._Element | None, qlen: int) -> tuple[str | None, str | None]:
    """(Rsn Cd or Prtry, AddtlInf lines) of a StsRsnInf / RtrRsnInf."""
    if element is None:
        return None, None
    fields = values.children(element, qlen)
    lines = [line for line in element if line.tag[qlen:] == "AddtlInf"]
    return values.code_choice(fields.get("Rsn")), values.joined_text(lines)


def _agent(fields: dict[str, etree._Element], group: values.GroupHeader, name: str) -> str | None:
    agent = fields.get(name)
    return values.agent_bic(agent if agent is not None else group.fields.get(name))


def _settlement_date(file: str, fields: dict[str, etree._Element], group: values.GroupHeader) -> date | None:
    element = fields.get("IntrBkSttlmDt")
    if element is None:
        element = group.fields.get("IntrBkSttlmDt")
    return None if element is None else values.to_date(file, element)


def _settling_agent(fields: dict[str, etree._Element], role: str) -> str | None:
    """The agent's BIC; in a pacs.009 the debtor and creditor are themselves
    financial institutions (Dbtr/FinInstnId), usually with no separate agent."""
    agent = fields.get(f"{role}Agt")
    return values.agent_bic(agent if agent is not None else fields.get(role))


def read_credit_transfers(stream: BinaryIO, info: MessageInfo, file: str) -> Iterator[Record]:
    """pacs.008 and pacs.009: one Payment per CdtTrfTxInf."""
    q = f"{{{info.namespace}}}" if info.namespace else ""
    qlen = len(q)
    header_tag = q + "GrpHdr"
    group = None
    for element in end_elements(stream, file, info, (header_tag, q + "CdtTrfTxInf")):
        if element.tag == header_tag:
            group = values.group_header(element, file, qlen)
            continue
        group = _require_group(group, element, file)
        fields = values.children(element, qlen)
        settled = fields.get("IntrBkSttlmAmt")
        if settled is None:
            raise values.missing(file, element, "IntrBkSttlmAmt")
        amount, currency = values.amount(file, settled)
        ids = _ids(fields.get("PmtId"), qlen)
        accepted = fields.get("AccptncDtTm")
        yield Payment(
            message_type=info.message_type,
            message_id=group.message_id,
            amount=amount,
            currency=currency,
            created_at=group.created_at,
            instr_id=ids.get("InstrId"),
            end_to_end_id=ids.get("EndToEndId"),
            tx_id=ids.get("TxId"),
            uetr=ids.get("UETR"),
            settlement_date=_settlement_date(file, fields, group),
            accepted_at=None if accepted is None else values.to_datetime(file, accepted),
            debtor_agent_bic=_settling_agent(fields, "Dbtr"),
            creditor_agent_bic=_settling_agent(fields, "Cdtr"),
            instructing_agent_bic=_agent(fields, group, "InstgAgt"),
            instructed_agent_bic=_agent(fields, group, "InstdAgt"),
            debtor_name=values.party_name(fields.get("Dbtr")),
            debtor_account=values.account_id(fields.get("DbtrAcct")),
            creditor_name=values.party_name(fields.get("Cdtr")),
            creditor_account=values.account_id(fields.get("CdtrAcct")),
            remittance_info=_remittance(fields.get("RmtInf"), qlen),
            line=element.sourceline,
        )
        release(element)


def read_initiations(stream: BinaryIO, info: MessageInfo, file: str) -> Iterator[Record]:
    """pain.001: one Payment per CdtTrfTxInf, with its PmtInf's date, debtor and agent."""
    q = f"{{{info.namespace}}}" if info.namespace else ""
    qlen = len(q)
    header_tag, block_tag = q + "GrpHdr", q + "PmtInf"
    group = None
    block: etree._Element | None = None
    block_fields: dict[str, etree._Element] = {}
    for element in end_elements(stream, file, info, (header_tag, block_tag, q + "CdtTrfTxInf")):
        tag = element.tag
        if tag == header_tag:
            group = values.group_header(element, file, qlen)
            continue
        if tag == block_tag:
            block = None
            release(element)
            continue
        group = _require_group(group, element, file)
        parent = element.getparent()
        if parent is not block:
            block, block_fields = parent, values.children(parent, qlen)
        fields = values.children(element, qlen)
        amount, currency = _instructed_amount(element, fields.get("Amt"), file, qlen)
        ids = _ids(fields.get("PmtId"), qlen)
        yield Payment(
            message_type=info.message_type,
            message_id=group.message_id,
            amount=amount,
            currency=currency,
            created_at=group.created_at,
            instr_id=ids.get("InstrId"),
            end_to_end_id=ids.get("EndToEndId"),
            uetr=ids.get("UETR"),
            settlement_date=_execution_date(block_fields.get("ReqdExctnDt"), file),
            debtor_agent_bic=values.agent_bic(block_fields.get("DbtrAgt")),
            creditor_agent_bic=values.agent_bic(fields.get("CdtrAgt")),
            debtor_name=values.party_name(block_fields.get("Dbtr")),
            debtor_account=values.account_id(block_fields.get("DbtrAcct")),
            creditor_name=values.party_name(fields.get("Cdtr")),
            creditor_account=values.account_id(fields.get("CdtrAcct")),
            remittance_info=_remittance(fields.get("RmtInf"), qlen),
            line=element.sourceline,
        )
        release(element)


def _instructed_amount(
    transaction: etree._Element, amount: etree._Element | None, file: str, qlen: int
) -> tuple[Decimal, str]:
    """Amt/InstdAmt, or Amt/EqvtAmt/Amt (an amount in another currency to be converted)."""
    if amount is not None:
        for choice in amount:
            name = choice.tag[qlen:]
            if name == "InstdAmt":
                return values.amount(file, choice)
            if name == "EqvtAmt":
                inner = values.children(choice, qlen).get("Amt")
                if inner is not None:
                    return values.amount(file, inner)
    raise values.missing(file, transaction, "Amt/InstdAmt")


def _execution_date(element: etree._Element | None, file: str) -> date | None:
    """ReqdExctnDt: a plain date up to .001.08, a Dt/DtTm choice from .001.09."""
    if element is None:
        return None
    if len(element):
        return values.date_choice(file, element)[0]
    return values.to_date(file, element)


def read_status_reports(stream: BinaryIO, info: MessageInfo, file: str) -> Iterator[Record]:
    """pacs.002: one StatusReport per TxInfAndSts, else one per group status."""
    q = f"{{{info.namespace}}}" if info.namespace else ""
    qlen = len(q)
    header_tag, original_tag = q + "GrpHdr", q + "OrgnlGrpInfAndSts"
    group = None
    originals: list[tuple[dict[str, etree._Element], int | None]] = []
    reported = False
    for element in end_elements(stream, file, info, (header_tag, original_tag, q + "TxInfAndSts")):
        tag = element.tag
        if tag == header_tag:
            group = values.group_header(element, file, qlen)
            continue
        if tag == original_tag:
            originals.append((values.children(element, qlen), element.sourceline))
            continue
        group = _require_group(group, element, file)
        fields = values.children(element, qlen)
        # the transaction's own OrgnlGrpInf (.001.10+), else the one group block
        original = fields.get("OrgnlGrpInf")
        original_fields = (
            values.children(original, qlen) if original is not None else originals[0][0] if len(originals) == 1 else {}
        )
        status = values.text(fields.get("TxSts")) or values.text(original_fields.get("GrpSts"))
        if status is None:
            raise values.missing(file, element, "TxSts")
        reason_code, reason_text = _reason(fields.get("StsRsnInf"), qlen)
        yield StatusReport(
            message_type=info.message_type,
            message_id=group.message_id,
            status=status,
            created_at=group.created_at,
            original_message_id=values.text(original_fields.get("OrgnlMsgId")),
            original_message_type=values.text(original_fields.get("OrgnlMsgNmId")),
            original_instr_id=values.text(fields.get("OrgnlInstrId")),
            original_end_to_end_id=values.text(fields.get("OrgnlEndToEndId")),
            original_tx_id=values.text(fields.get("OrgnlTxId")),
            original_uetr=values.text(fields.get("OrgnlUETR")),
            reason_code=reason_code,
            reason_text=reason_text,
            line=element.sourceline,
        )
        reported = True
        release(element)
    if reported:
        return
    if group is None or not originals:
        raise ParseError("a pacs.002 with neither TxInfAndSts nor OrgnlGrpInfAndSts", file=file, path=f"/{info.root}")
    for fields, line in originals:
        status = values.text(fields.get("GrpSts"))
        if status is None:
            raise ParseError(
                "OrgnlGrpInfAndSts without GrpSts, and no TxInfAndSts",
                file=file,
                line=line,
                path=f"/{info.root}/.../GrpSts",
            )
        reason_code, reason_text = _reason(fields.get("StsRsnInf"), qlen)
        yield StatusReport(
            message_type=info.message_type,
            message_id=group.message_id,
            status=status,
            created_at=group.created_at,
            original_message_id=values.text(fields.get("OrgnlMsgId")),
            original_message_type=values.text(fields.get("OrgnlMsgNmId")),
            reason_code=reason_code,
            reason_text=reason_text,
            line=line,
        )


def read_returns(stream: BinaryIO, info: MessageInfo, file: str) -> Iterator[Record]:
    """pacs.004: one PaymentReturn per TxInf.

    The return's own debtor and creditor agents come from RtrChain (.001.09+):
    the returning bank (the original creditor's) pays the original debtor's
    bank. Without RtrChain they are the original transaction's agents from
    OrgnlTxRef, swapped.
    """
    q = f"{{{info.namespace}}}" if info.namespace else ""
    qlen = len(q)
    header_tag, original_tag, transaction_tag = q + "GrpHdr", q + "OrgnlGrpInf", q + "TxInf"
    group = None
    group_original: dict[str, etree._Element] = {}
    for element in end_elements(stream, file, info, (header_tag, original_tag, transaction_tag)):
        tag = element.tag
        if tag == header_tag:
            group = values.group_header(element, file, qlen)
            continue
        if tag == original_tag:
            parent = element.getparent()
            if parent is not None and parent.tag != transaction_tag:
                group_original = values.children(element, qlen)  # .001.02-.08 group level
            continue
        group = _require_group(group, element, file)
        fields = values.children(element, qlen)
        returned = fields.get("RtrdIntrBkSttlmAmt")
        if returned is None:
            raise values.missing(file, element, "RtrdIntrBkSttlmAmt")
        amount, currency = values.amount(file, returned)
        original = fields.get("OrgnlGrpInf")
        original_fields = values.children(original, qlen) if original is not None else group_original
        chain = fields.get("RtrChain")
        if chain is not None:
            chain_fields = values.children(chain, qlen)
            debtor_agent = values.agent_bic(chain_fields.get("DbtrAgt"))
            creditor_agent = values.agent_bic(chain_fields.get("CdtrAgt"))
        else:
            reference = values.children(fields["OrgnlTxRef"], qlen) if "OrgnlTxRef" in fields else {}
            debtor_agent = values.agent_bic(reference.get("CdtrAgt"))
            creditor_agent = values.agent_bic(reference.get("DbtrAgt"))
        reason_code, reason_text = _reason(fields.get("RtrRsnInf"), qlen)
        yield PaymentReturn(
            message_type=info.message_type,
            message_id=group.message_id,
            returned_amount=amount,
            currency=currency,
            created_at=group.created_at,
            return_id=values.text(fields.get("RtrId")),
            original_message_id=values.text(original_fields.get("OrgnlMsgId")),
            original_message_type=values.text(original_fields.get("OrgnlMsgNmId")),
            original_instr_id=values.text(fields.get("OrgnlInstrId")),
            original_end_to_end_id=values.text(fields.get("OrgnlEndToEndId")),
            original_tx_id=values.text(fields.get("OrgnlTxId")),
            original_uetr=values.text(fields.get("OrgnlUETR")),
            settlement_date=_settlement_date(file, fields, group),
            reason_code=reason_code,
            reason_text=reason_text,
            debtor_agent_bic=debtor_agent,
            creditor_agent_bic=creditor_agent,
            instructing_agent_bic=_agent(fields, group, "InstgAgt"),
            instructed_agent_bic=_agent(fields, group, "InstdAgt"),
            line=element.sourceline,
        )
        release(element)
