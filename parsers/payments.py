"""pacs.008, pain.001, pacs.002 and pacs.004: one record per transaction, streamed.

Like the camt reader, each reader is told only about the GrpHdr and the
per-transaction elements as they end, reads a transaction through one pass
over its children (``values.children``), and drops it from the tree. Element
names are read by local name, so one reader serves every version (``BIC`` or
``BICFI``, ``ReqdExctnDt`` as a date or as ``Dt``/``DtTm``, the S2 variant of
pacs.002...). Values a transaction leaves out fall back to the group header
where the message puts them there (IntrBkSttlmDt, InstgAgt, InstdAgt, and the
original message of pacs.002/pacs.004).

Agents are read in every FinInstnId form (``values.participant``): the
``*_agent_bic`` fields hold a BIC only (a clearing-system member id such as a
US ABA routing number is not a BIC and is never put there), while
``debtor_agent``/``creditor_agent``/``instructing_agent``/``instructed_agent``
hold the participant key clearing nets by: the BIC, else ``USABA:021000021``,
else ``LEI:...``, else the other id. In a pacs.009 the debtor and creditor are
themselves institutions (Dbtr/FinInstnId, Cdtr/FinInstnId): without a separate
agent they are the settling parties, and their names are read from FinInstnId.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, BinaryIO, Iterator

from lxml import etree

from parsers import values
from parsers.detect import MessageInfo, end_elements, release
from parsers.errors import ParseError
from parsers.records import Payment, PaymentReturn, Record, StatusReport


def _require_group(group: values.GroupHeader | None, element: etree._Element, file: str) -> values.GroupHeader:
    if group is None:
        raise values.missing(file, element.getparent(), "GrpHdr")
    return group


def _ids(element: etree._Element | None, qlen: int, file: str) -> dict[str, str | None]:
    """Texts of the children of PmtId (or any flat id block) by local name; each id once."""
    if element is None:
        return {}
    return {name: values.text(child) for name, child in values.children(element, qlen, file).items()}


def _agent(fields: dict[str, etree._Element], group: values.GroupHeader, name: str) -> values.Participant:
    agent = fields.get(name)
    return values.participant(agent if agent is not None else group.fields.get(name))


def _settlement_date(file: str, fields: dict[str, etree._Element], group: values.GroupHeader) -> date | None:
    element = fields.get("IntrBkSttlmDt")
    if element is None:
        element = group.fields.get("IntrBkSttlmDt")
    return None if element is None else values.to_date(file, element)


def _settling(fields: dict[str, etree._Element], role: str) -> values.Participant:
    """The agent; in a pacs.009 the debtor and creditor are themselves financial
    institutions (Dbtr/FinInstnId), usually with no separate agent."""
    agent = fields.get(f"{role}Agt")
    return values.participant(agent if agent is not None else fields.get(role))


def _party_name(party: etree._Element | None, qlen: int) -> str | None:
    """Nm of a party, or of a financial institution (pacs.009 Dbtr/FinInstnId/Nm)."""
    name = values.party_name(party)
    if name is None and party is not None and any(child.tag[qlen:] == "FinInstnId" for child in party):
        name = values.participant(party).name
    return name


def _payment_details(fields: dict[str, etree._Element], file: str, qlen: int) -> dict[str, Any]:
    """The fields every credit transfer may carry beside its amount and parties."""
    out: dict[str, Any] = {}
    instructed = fields.get("InstdAmt")
    if instructed is not None:
        out["instructed_amount"], out["instructed_currency"] = values.amount(file, instructed)
    rate = fields.get("XchgRate")
    if rate is not None:
        out["exchange_rate"] = values.signed_decimal(file, rate)
    out["charge_bearer"] = values.text(fields.get("ChrgBr"))
    if "ChrgsInf" in fields:
        total = currency = None
        for charge in fields["ChrgsInf"].getparent():
            if charge.tag[qlen:] != "ChrgsInf":
                continue
            amount = values.children(charge, qlen, file).get("Amt")
            if amount is None:
                continue
            value, charge_currency = values.amount(file, amount)
            if total is None or charge_currency == currency:
                total, currency = (total or Decimal(0)) + value, charge_currency
        out["charges_amount"], out["charges_currency"] = total, currency
    out["purpose"] = values.code_choice(fields.get("Purp"))
    payment_type = fields.get("PmtTpInf")
    if payment_type is not None:
        out["local_instrument"] = values.code_choice(values.children(payment_type, qlen, file).get("LclInstrm"))
    remittance = values.remittance(fields.get("RmtInf"), file, qlen)
    out["remittance_info"] = remittance.unstructured
    out["creditor_reference"] = remittance.creditor_reference
    out["creditor_reference_type"] = remittance.creditor_reference_type
    out["referred_documents"] = remittance.referred_documents
    return out


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
        fields = values.children(element, qlen, file)
        settled = fields.get("IntrBkSttlmAmt")
        if settled is None:
            raise values.missing(file, element, "IntrBkSttlmAmt")
        amount, currency = values.amount(file, settled)
        ids = _ids(fields.get("PmtId"), qlen, file)
        accepted = fields.get("AccptncDtTm")
        debtor_agent, creditor_agent = _settling(fields, "Dbtr"), _settling(fields, "Cdtr")
        instructing, instructed = _agent(fields, group, "InstgAgt"), _agent(fields, group, "InstdAgt")
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
            debtor_agent_bic=debtor_agent.bic,
            creditor_agent_bic=creditor_agent.bic,
            instructing_agent_bic=instructing.bic,
            instructed_agent_bic=instructed.bic,
            debtor_name=_party_name(fields.get("Dbtr"), qlen),
            debtor_account=values.account_id(fields.get("DbtrAcct")),
            creditor_name=_party_name(fields.get("Cdtr"), qlen),
            creditor_account=values.account_id(fields.get("CdtrAcct")),
            debtor_agent=debtor_agent.key,
            creditor_agent=creditor_agent.key,
            instructing_agent=instructing.key,
            instructed_agent=instructed.key,
            debtor_agent_name=debtor_agent.name,
            creditor_agent_name=creditor_agent.name,
            group_tx_count=group.tx_count,
            line=element.sourceline,
            **_payment_details(fields, file, qlen),
            **info.business_header,
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
            block, block_fields = parent, values.children(parent, qlen, file)
        fields = values.children(element, qlen, file)
        amount, currency = _instructed_amount(element, fields.get("Amt"), file, qlen)
        ids = _ids(fields.get("PmtId"), qlen, file)
        debtor_agent, creditor_agent = (
            values.participant(block_fields.get("DbtrAgt")),
            values.participant(fields.get("CdtrAgt")),
        )
        details = _payment_details(fields, file, qlen)
        if details.get("local_instrument") is None and "PmtTpInf" in block_fields:
            block_type = values.children(block_fields["PmtTpInf"], qlen, file)
            details["local_instrument"] = values.code_choice(block_type.get("LclInstrm"))
        details["charge_bearer"] = details.get("charge_bearer") or values.text(block_fields.get("ChrgBr"))
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
            debtor_agent_bic=debtor_agent.bic,
            creditor_agent_bic=creditor_agent.bic,
            debtor_name=values.party_name(block_fields.get("Dbtr")),
            debtor_account=values.account_id(block_fields.get("DbtrAcct")),
            creditor_name=values.party_name(fields.get("Cdtr")),
            creditor_account=values.account_id(fields.get("CdtrAcct")),
            debtor_agent=debtor_agent.key,
            creditor_agent=creditor_agent.key,
            debtor_agent_name=debtor_agent.name,
            creditor_agent_name=creditor_agent.name,
            group_tx_count=group.tx_count,
            payment_info_id=values.text(block_fields.get("PmtInfId")),
            line=element.sourceline,
            **details,
            **info.business_header,
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
                inner = values.children(choice, qlen, file).get("Amt")
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


_MAX_GROUP_STATUSES = 10_000


def read_status_reports(stream: BinaryIO, info: MessageInfo, file: str) -> Iterator[Record]:
    """pacs.002 and pain.002: one StatusReport per TxInfAndSts; else, in a pain.002,
    one per OrgnlPmtInfAndSts with a PmtInfSts; else one per group status."""
    q = f"{{{info.namespace}}}" if info.namespace else ""
    qlen = len(q)
    header_tag, original_tag, block_tag = q + "GrpHdr", q + "OrgnlGrpInfAndSts", q + "OrgnlPmtInfAndSts"
    transaction_tag = q + "TxInfAndSts"
    group = None
    originals: list[tuple[dict[str, etree._Element], int | None]] = []
    reported = block_reported = False
    for element in end_elements(stream, file, info, (header_tag, original_tag, block_tag, transaction_tag)):
        tag = element.tag
        if tag == header_tag:
            group = values.group_header(element, file, qlen)
            continue
        if tag == original_tag:
            if len(originals) == _MAX_GROUP_STATUSES:  # each is held until the end: bound them
                raise values.error(file, element, f"more than {_MAX_GROUP_STATUSES:,} OrgnlGrpInfAndSts in one report")
            originals.append((values.children(element, qlen, file), element.sourceline))
            continue
        group = _require_group(group, element, file)
        fields = values.children(element, qlen, file)
        group_original = originals[0][0] if len(originals) == 1 else {}
        if tag == block_tag:  # pain.002: the status of one payment-information block
            status = values.text(fields.get("PmtInfSts"))
            if not block_reported and status is not None:
                reason_code, reason_text = values.reason(fields.get("StsRsnInf"), qlen)
                yield StatusReport(
                    message_type=info.message_type,
                    message_id=group.message_id,
                    status=status,
                    created_at=group.created_at,
                    original_message_id=values.text(group_original.get("OrgnlMsgId")),
                    original_message_type=values.text(group_original.get("OrgnlMsgNmId")),
                    original_payment_info_id=values.text(fields.get("OrgnlPmtInfId")),
                    reason_code=reason_code,
                    reason_text=reason_text,
                    line=element.sourceline,
                    **info.business_header,
                )
                reported = True
            block_reported = False
            release(element)
            continue
        # the transaction's own OrgnlGrpInf (.001.10+), else the one group block
        original = fields.get("OrgnlGrpInf")
        original_fields = values.children(original, qlen, file) if original is not None else group_original
        status = values.text(fields.get("TxSts")) or values.text(original_fields.get("GrpSts"))
        block = element.getparent()
        block_fields = values.children(block, qlen) if block is not None and block.tag == block_tag else {}
        if status is None and block_fields:
            status = values.text(block_fields.get("PmtInfSts"))
        if status is None:
            raise values.missing(file, element, "TxSts")
        reason_code, reason_text = values.reason(fields.get("StsRsnInf"), qlen)
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
            original_payment_info_id=values.text(block_fields.get("OrgnlPmtInfId")),
            line=element.sourceline,
            **info.business_header,
        )
        reported = block_reported = True
        release(element)
    if reported:
        return
    if group is None or not originals:
        raise ParseError(
            f"a {info.message_type} with neither TxInfAndSts nor OrgnlGrpInfAndSts", file=file, path=f"/{info.root}"
        )
    for fields, line in originals:
        status = values.text(fields.get("GrpSts"))
        if status is None:
            raise ParseError(
                "OrgnlGrpInfAndSts without GrpSts, and no TxInfAndSts",
                file=file,
                line=line,
                path=f"/{info.root}/.../GrpSts",
            )
        reason_code, reason_text = values.reason(fields.get("StsRsnInf"), qlen)
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
            **info.business_header,
        )


def _return_party(chain: dict[str, etree._Element], role: str, qlen: int) -> values.Participant:
    """The return's own agent in RtrChain (.001.09+): DbtrAgt/CdtrAgt, else a debtor or
    creditor that is itself an institution (RtrChain/Dbtr/Agt)."""
    agent = chain.get(f"{role}Agt")
    if agent is not None:
        return values.participant(agent)
    party = chain.get(role)
    if party is not None:
        for child in party:
            if child.tag[qlen:] == "Agt":
                return values.participant(child)
    return values.participant(None)


def read_returns(stream: BinaryIO, info: MessageInfo, file: str) -> Iterator[Record]:
    """pacs.004: one PaymentReturn per TxInf.

    The return's debtor and creditor agents (who pays whom: the returning bank,
    the original creditor's, pays the original debtor's bank) are its own where
    the message states them: RtrChain's DbtrAgt and CdtrAgt (.001.09+), in any
    FinInstnId form (values.participant: BIC, else clearing-system member id,
    else LEI or other id). Where it does not, they are the original
    transaction's agents as OrgnlTxRef gives them, swapped. The warehouse then
    falls back to the original transfer it holds, and last to the return's own
    instructing and instructed agents (int_obligations).
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
                group_original = values.children(element, qlen, file)  # .001.02-.08 group level
            continue
        group = _require_group(group, element, file)
        fields = values.children(element, qlen, file)
        returned = fields.get("RtrdIntrBkSttlmAmt")
        if returned is None:
            raise values.missing(file, element, "RtrdIntrBkSttlmAmt")
        amount, currency = values.amount(file, returned)
        original = fields.get("OrgnlGrpInf")
        original_fields = values.children(original, qlen, file) if original is not None else group_original
        chain = fields.get("RtrChain")
        chain_fields = values.children(chain, qlen, file) if chain is not None else {}
        debtor_agent = _return_party(chain_fields, "Dbtr", qlen)
        creditor_agent = _return_party(chain_fields, "Cdtr", qlen)
        if debtor_agent.key is None or creditor_agent.key is None:
            reference = values.children(fields["OrgnlTxRef"], qlen, file) if "OrgnlTxRef" in fields else {}
            if debtor_agent.key is None:
                debtor_agent = values.participant(reference.get("CdtrAgt"))
            if creditor_agent.key is None:
                creditor_agent = values.participant(reference.get("DbtrAgt"))
        reason_code, reason_text = values.reason(fields.get("RtrRsnInf"), qlen)
        instructing, instructed = _agent(fields, group, "InstgAgt"), _agent(fields, group, "InstdAgt")
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
            debtor_agent_bic=debtor_agent.bic,
            creditor_agent_bic=creditor_agent.bic,
            instructing_agent_bic=instructing.bic,
            instructed_agent_bic=instructed.bic,
            debtor_agent=debtor_agent.key,
            creditor_agent=creditor_agent.key,
            instructing_agent=instructing.key,
            instructed_agent=instructed.key,
            debtor_agent_name=debtor_agent.name,
            creditor_agent_name=creditor_agent.name,
            line=element.sourceline,
            **info.business_header,
        )
        release(element)
