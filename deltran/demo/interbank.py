"""Interbank traffic of one business date: the clearing windows' pacs.008 files,
one pacs.002 rejection and one pacs.004 return.

Every payment's AccptncDtTm lies in its window (T-6h, T]; the window closing at
00:00 of the business date holds the previous evening's payments. A fixed
A->B->C->A cycle in USD is added to the 12:00 window so netting has a cycle
to explain besides whatever the random traffic forms.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from deltran.clearing.windows import CLOSING_HOURS, WINDOW_LENGTH

from . import messages
from .manifest import PaymentIds, ReferencedPayment
from .messages import Transfer
from .reference import BANK_A, BANK_B, BANK_C, CLIENTS, CURRENCIES, HUB, PARTICIPANTS, USD_PER_UNIT, Bank, iban

UTC = timezone.utc
WINDOW_HOURS = CLOSING_HOURS
WINDOW = WINDOW_LENGTH
PAYMENTS_PER_WINDOW = (140, 160)
REJECT_REASON = ("AC04", "Closed account number")
RETURN_REASON = ("AC06", "Blocked account")


def cents(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


def uetr(rng: random.Random) -> str:
    """A UUID v4 (as the UETR pattern requires) drawn from the seeded generator."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def log_uniform_cents(rng: random.Random, low_usd: float, high_usd: float, currency: str) -> int:
    """Amounts spread over orders of magnitude, like real payment flows."""
    usd = low_usd * (high_usd / low_usd) ** rng.random()
    return max(1, round(usd / USD_PER_UNIT[currency] * 100))


def customer_account(bank: Bank, rng: random.Random) -> str:
    """A customer account at a participant: an IBAN where the country has them."""
    n = rng.randrange(10**9)
    if bank.country == "AE":
        return iban("AE", f"901{n:016d}")
    if bank.country == "GB":
        return iban("GB", f"DLTB409012{n % 10**8:08d}")
    if bank.country == "IL":
        return iban("IL", f"091800{n:013d}")
    if bank.country == "DE":
        return iban("DE", f"50070010{n % 10**10:010d}")
    return f"{n:010d}"  # US, SG: no IBAN


def window_closes(business_date: date) -> list[datetime]:
    return [datetime.combine(business_date, time(h), UTC) for h in WINDOW_HOURS]


@dataclass
class _Sent:
    """A transfer and the file (message) it travelled in."""

    transfer: Transfer
    window_close: datetime
    message_id: str = ""
    created_at: datetime | None = None

    def ids(self) -> PaymentIds:
        t = self.transfer
        return PaymentIds(
            self.message_id,
            t.instr_id,
            t.end_to_end_id,
            t.tx_id,
            t.uetr,
            t.amount,
            t.currency,
            t.debtor_agent,
            t.creditor_agent,
            t.accepted_at,
            self.window_close,
        )


@dataclass
class InterbankDay:
    files: list[str]
    transfers: int
    rejected: ReferencedPayment
    returned: ReferencedPayment
    cycle: list[PaymentIds]


class _Ids:
    """Per sending bank and day counters for InstrId, TxId and EndToEndId."""

    def __init__(self, business_date: date):
        self.day = business_date.strftime("%Y%m%d")
        self.counters: dict[str, int] = defaultdict(int)

    def next(self, bank: Bank) -> tuple[str, str, str]:
        self.counters[bank.bic] += 1
        n = self.counters[bank.bic]
        return (
            f"{bank.short}{self.day}{n:05d}",
            f"E2E{self.day}{bank.short}{n:05d}",
            f"{bank.short}TX{self.day}{n:05d}",
        )


def _transfer(
    rng: random.Random,
    ids: _Ids,
    business_date: date,
    accepted_at: datetime,
    debtor: Bank,
    creditor: Bank,
    currency: str,
    amount_cents: int,
) -> Transfer:
    instr_id, e2e, tx_id = ids.next(debtor)
    return Transfer(
        instr_id=instr_id,
        end_to_end_id=e2e,
        tx_id=tx_id,
        uetr=uetr(rng),
        amount=cents(amount_cents),
        currency=currency,
        settlement_date=business_date,
        accepted_at=accepted_at,
        debtor_agent=debtor.bic,
        creditor_agent=creditor.bic,
        debtor_name=rng.choice(CLIENTS),
        debtor_account=customer_account(debtor, rng),
        creditor_name=rng.choice(CLIENTS),
        creditor_account=customer_account(creditor, rng),
        remittance=f"Invoice {rng.randint(10000, 99999)}",
    )


def _accepted_in(rng: random.Random, close: datetime) -> datetime:
    return close - timedelta(seconds=rng.randint(0, int(WINDOW.total_seconds()) - 1))


def generate_interbank(inbox: Path, business_date: date, rng: random.Random) -> InterbankDay:
    """Write the day's pacs.008/002/004 files into ``inbox``."""
    ids = _Ids(business_date)
    sent: list[_Sent] = []
    cycle: list[_Sent] = []
    for close in window_closes(business_date):
        for _ in range(rng.randint(*PAYMENTS_PER_WINDOW)):
            currency = rng.choices(CURRENCIES, weights=(5, 3, 2))[0]
            debtor, creditor = rng.sample(PARTICIPANTS, 2)
            amount = log_uniform_cents(rng, 1_000, 2_000_000, currency)
            t = _transfer(rng, ids, business_date, _accepted_in(rng, close), debtor, creditor, currency, amount)
            sent.append(_Sent(t, close))
        if close.hour == 12:
            for debtor, creditor in ((BANK_A, BANK_B), (BANK_B, BANK_C), (BANK_C, BANK_A)):
                amount = rng.randint(2_300_000_00, 2_700_000_00)
                t = _transfer(rng, ids, business_date, _accepted_in(rng, close), debtor, creditor, "USD", amount)
                cycle.append(_Sent(t, close))
                sent.append(cycle[-1])

    files = _write_pacs008_files(inbox, business_date, sent)
    rejected = _reject(inbox, business_date, sent, cycle)
    returned = _return(inbox, business_date, rng, sent)
    files += [rejected.file, returned.file]
    return InterbankDay(files, len(sent), rejected, returned, [s.ids() for s in cycle])


def _write_pacs008_files(inbox: Path, business_date: date, sent: list[_Sent]) -> list[str]:
    """One file per window and sending bank, sent when its last payment was accepted."""
    groups: dict[tuple[datetime, str], list[_Sent]] = defaultdict(list)
    for s in sent:
        groups[(s.window_close, s.transfer.debtor_agent)].append(s)
    names = []
    for (close, bic), group in sorted(groups.items()):
        group.sort(key=lambda s: (s.transfer.accepted_at, s.transfer.instr_id))
        stamp = f"{business_date:%Y-%m-%d}T{close:%H}"
        message_id = f"{bic[:4]}{business_date:%Y%m%d}T{close:%H}P008"
        created_at = group[-1].transfer.accepted_at
        for s in group:
            s.message_id, s.created_at = message_id, created_at
        name = f"pacs008_{bic}_{stamp}.xml"
        messages.write_pacs008(inbox / name, message_id, created_at, bic, HUB.bic, [s.transfer for s in group])
        names.append(name)
    return names


def _reject(inbox: Path, business_date: date, sent: list[_Sent], exclude: list[_Sent]) -> ReferencedPayment:
    """The creditor agent rejects a 12:00-window payment before that window closes.

    The payment comes from the window's earliest-sent file, so the rejection can
    follow the file and still precede the close.
    """
    candidates = [s for s in sent if s.window_close.hour == 12 and s not in exclude]
    first_file = min(candidates, key=lambda s: (s.created_at, s.message_id)).message_id
    target = min(
        (s for s in candidates if s.message_id == first_file),
        key=lambda s: (s.transfer.accepted_at, s.transfer.instr_id),
    )
    assert target.created_at is not None  # set when its pacs.008 was written
    created_at = min(target.created_at + timedelta(minutes=5), target.window_close)
    t = target.transfer
    message_id = f"{t.creditor_agent[:4]}{business_date:%Y%m%d}T12P002"
    name = f"pacs002_{t.creditor_agent}_{business_date:%Y-%m-%d}T12.xml"
    messages.write_pacs002_reject(
        inbox / name, message_id, created_at, t, target.message_id, target.created_at, *REJECT_REASON
    )
    return ReferencedPayment(target.ids(), message_id, name, REJECT_REASON[0], created_at)


def _return(inbox: Path, business_date: date, rng: random.Random, sent: list[_Sent]) -> ReferencedPayment:
    """The creditor agent returns a 06:00-window payment during the 18:00 window."""
    candidates = [s for s in sent if s.window_close.hour == 6]
    target = rng.choice(candidates)
    assert target.created_at is not None  # set when its pacs.008 was written
    close = window_closes(business_date)[3]
    created_at = _accepted_in(rng, close)
    t = target.transfer
    message_id = f"{t.creditor_agent[:4]}{business_date:%Y%m%d}T18P004"
    name = f"pacs004_{t.creditor_agent}_{business_date:%Y-%m-%d}T18.xml"
    messages.write_pacs004_return(
        inbox / name,
        message_id,
        created_at,
        f"RTR{business_date:%Y%m%d}{t.creditor_agent[:4]}0001",
        business_date,
        t,
        target.message_id,
        target.created_at,
        *RETURN_REASON,
    )
    return ReferencedPayment(target.ids(), message_id, name, RETURN_REASON[0], created_at)
