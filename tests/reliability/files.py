"""Bank statements and ledger exports as files, for the reliability tests."""

from __future__ import annotations

from datetime import date

DAY = date(2026, 11, 20)


def balance(kind: str, amount: str, ccy: str) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp><Amt Ccy='{ccy}'>{amount}</Amt>"
        f"<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{DAY.isoformat()}</Dt></Dt></Bal>"
    )


def entry(n: int, amount: str, ccy: str) -> str:
    return (
        f"<Ntry><Amt Ccy='{ccy}'>{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{DAY.isoformat()}</Dt></BookgDt><ValDt><Dt>{DAY.isoformat()}</Dt></ValDt>"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>E2E-{n}</EndToEndId></Refs></TxDtls></NtryDtls></Ntry>"
    )


def statement(account: str, ccy: str, balances: list[tuple[str, str, str]], entries: list[tuple[str, str]]) -> str:
    return (
        f"<Stmt><Id>S-{account}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{DAY.isoformat()}T23:00:00Z</CreDtTm>"
        f"<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>{ccy}</Ccy></Acct>"
        + "".join(balance(*b) for b in balances)
        + "".join(entry(n, amount, c) for n, (amount, c) in enumerate(entries))
        + "</Stmt>"
    )


def camt053(statements: list[str]) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'><BkToCstmrStmt>"
        f"<GrpHdr><MsgId>EOD-{DAY.isoformat()}</MsgId><CreDtTm>{DAY.isoformat()}T23:00:00Z</CreDtTm></GrpHdr>"
        + "".join(statements)
        + "</BkToCstmrStmt></Document>"
    )


LEDGER_HEADER = "entry_id,journal_id,account,amount,currency,side,booked_at,value_date,kind,uetr,end_to_end_id,bank_reference,description\n"


def ledger(holdings: dict[str, tuple[str, str]]) -> str:
    lines = [LEDGER_HEADER]
    for n, (account, (amount, ccy)) in enumerate(sorted(holdings.items())):
        at = f"{DAY.isoformat()}T09:00:00Z"
        lines.append(f"o{n},open{n},{account},{amount},{ccy},D,{at},{DAY.isoformat()},opening,,,,\n")
        lines.append(f"c{n},open{n},LIAB:CLIENT:{ccy},{amount},{ccy},C,{at},{DAY.isoformat()},opening,,,,\n")
    return "".join(lines)
