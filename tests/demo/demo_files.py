"""Readers of the generated files for the demo tests, written apart from the generator
(lxml and csv straight on the files) so the tests check the files, not the code."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from lxml import etree

import iso20022_corpus

DAY = date(2026, 11, 20)
CAMT = "{urn:iso:std:iso:20022:tech:xsd:camt.053.001.08}"


@dataclass
class Stmt:
    """What a test needs of one camt.053 Stmt, read straight from the XML."""

    iban: str
    currency: str
    servicer: str
    seq: int
    opening: Decimal
    closing: Decimal
    opening_date: str
    closing_date: str
    summary: dict[str, Decimal]
    entries: list[dict] = field(default_factory=list)


def _signed(bal) -> Decimal:
    amount = Decimal(bal.findtext(f"{CAMT}Amt"))
    return amount if bal.findtext(f"{CAMT}CdtDbtInd") == "CRDT" else -amount


def read_statements(path: Path) -> list[Stmt]:
    out = []
    for st in etree.parse(str(path)).getroot().iter(f"{CAMT}Stmt"):
        balances = {b.findtext(f"{CAMT}Tp/{CAMT}CdOrPrtry/{CAMT}Cd"): b for b in st.findall(f"{CAMT}Bal")}
        summary = st.find(f"{CAMT}TxsSummry")
        stmt = Stmt(
            iban=st.findtext(f"{CAMT}Acct/{CAMT}Id/{CAMT}IBAN"),
            currency=st.findtext(f"{CAMT}Acct/{CAMT}Ccy"),
            servicer=st.findtext(f"{CAMT}Acct/{CAMT}Svcr/{CAMT}FinInstnId/{CAMT}BICFI"),
            seq=int(st.findtext(f"{CAMT}ElctrncSeqNb")),
            opening=_signed(balances["OPBD"]),
            closing=_signed(balances["CLBD"]),
            opening_date=balances["OPBD"].findtext(f"{CAMT}Dt/{CAMT}Dt"),
            closing_date=balances["CLBD"].findtext(f"{CAMT}Dt/{CAMT}Dt"),
            summary={
                "count": Decimal(summary.findtext(f"{CAMT}TtlNtries/{CAMT}NbOfNtries")),
                "credits": Decimal(summary.findtext(f"{CAMT}TtlCdtNtries/{CAMT}Sum")),
                "debits": Decimal(summary.findtext(f"{CAMT}TtlDbtNtries/{CAMT}Sum")),
            },
        )
        for ntry in st.findall(f"{CAMT}Ntry"):
            details = ntry.findall(f"{CAMT}NtryDtls/{CAMT}TxDtls")
            refs = details[0].find(f"{CAMT}Refs") if details else None
            stmt.entries.append(
                {
                    "amount": Decimal(ntry.findtext(f"{CAMT}Amt")),
                    "currency": ntry.find(f"{CAMT}Amt").get("Ccy"),
                    "cdi": ntry.findtext(f"{CAMT}CdtDbtInd"),
                    "status": ntry.findtext(f"{CAMT}Sts/{CAMT}Cd"),
                    "booked": ntry.findtext(f"{CAMT}BookgDt/{CAMT}DtTm"),
                    "value_date": ntry.findtext(f"{CAMT}ValDt/{CAMT}Dt"),
                    "ref": ntry.findtext(f"{CAMT}AcctSvcrRef"),
                    "reversal": ntry.findtext(f"{CAMT}RvslInd") == "true",
                    "details": len(details),
                    "uetr": refs.findtext(f"{CAMT}UETR") if refs is not None else None,
                    "e2e": refs.findtext(f"{CAMT}EndToEndId") if refs is not None else None,
                    "tx_ref": refs.findtext(f"{CAMT}AcctSvcrRef") if refs is not None else None,
                }
            )
        out.append(stmt)
    return out


def read_ledger(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ledger_balances(rows: list[dict]) -> dict[str, Decimal]:
    """D - C per account: an EMI account's IBAN is an asset of the ledger."""
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        amount = Decimal(row["amount"])
        balances[row["account"]] += amount if row["side"] == "D" else -amount
    return balances


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(iso20022_corpus.require(iso20022_corpus.XSD / f"{name}.xsd"))))
