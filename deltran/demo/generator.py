"""Deterministic demo business days: ledger export, bank statements, interbank traffic.

Everything is drawn from ``random.Random`` seeded with (seed, date, purpose), so
the same seed and date give byte-identical files, and adding traffic of one kind
does not reshuffle another. Money is integer cents until it becomes a Decimal.

Each account carries one injected fault whose amount is computed from the day's
actual balances, so its reconciliation level is certain (see ``INTENDED_LEVELS``).
On a following day (``previous`` given) the previous day's faults are resolved
first, the way operations would (the bank books late or reverses, the ledger
books what the bank did), so every day ends with exactly its own faults.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from deltran import config
from deltran.recon import levels
from parsers.records import Balance, Entry, Statement, TransactionDetails
from parsers.writers import write_bank_to_customer

from . import messages
from .interbank import InterbankDay, customer_account, generate_interbank, log_uniform_cents
from .interbank import uetr as new_uetr
from .journal import CREDIT, DEBIT, BankEntry, Journal, Line, cents, double, ledger_delta, to_cents, write_ledger_csv
from .manifest import AccountExpectation, DemoManifest, Fault, MatchingCase, Resolution
from .reference import ACCOUNTS, CLIENTS, EMI_BANKS, FX_MID, HUB, PARTICIPANTS, TREASURY_PAIRS, Account, Bank

UTC = timezone.utc
DAY_SECONDS = 86_400
SEQ_EPOCH = date(2020, 1, 1)  # ElctrncSeqNb = days since: +1 a day, known for any date alone
MOVEMENTS_PER_ACCOUNT = (330, 370)
FEES_PER_ACCOUNT = (10, 20)
FX_JOURNALS = (15, 25)
DOMESTIC_SHARE = 0.1  # client payments without a UETR: matched by EndToEndId
MISMATCH_CENTS = 1234  # A3: the bank books 12.34 less (charges deducted on the way)

# The intraday story (tiers 1 and 2): A1's bank credits a large deposit at 11:00
# that the ledger books only at 14:00 (a drift into Significant around midday
# that recovers), and A6's tokens are minted without money at 14:40 (the
# afternoon notifications find the ledger above the bank: Critical).
DRIFT_BANK_SECONDS, DRIFT_LEDGER_SECONDS = 11 * 3_600, 14 * 3_600
MINT_SECONDS = 14 * 3_600 + 40 * 60
NOTIFICATION_HOURS = tuple(range(2, 25, 2))  # one camt.054 per bank: entries booked in the 2 hours before
REPORT_SECONDS = (5 * 60, 6 * 3_600, 12 * 3_600, 18 * 3_600)  # one camt.052 per bank: OPBD + ITBD
INTENDED_LEVELS = {"A1": "OK", "A2": "OK", "A3": "OK", "A4": "Minor", "A5": "Significant", "A6": "Critical"}


def level(bank: Decimal, ledger: Decimal) -> str:
    """The reconciliation level of an account: the platform's one rule, with the configured bands."""
    return levels.classify(bank, ledger, config.load().thresholds)


def electronic_seq_nb(business_date: date) -> int:
    return (business_date - SEQ_EPOCH).days


def _rng(seed: int, business_date: date, purpose: str) -> random.Random:
    # A str seed is hashed with SHA-512: stable across runs and Python processes.
    return random.Random(f"{seed}:{business_date.isoformat()}:{purpose}")


def _nominal_cents(seed: int, account: Account) -> int:
    """The balance an account hovers around (tens of millions, USD equivalent)."""
    usd = random.Random(f"{seed}:nominal:{account.key}").randint(15_000_000, 60_000_000)
    return int(Decimal(usd * 100) * _usd_rate(account.currency))


def _usd_rate(currency: str) -> Decimal:
    return Decimal(1) if currency == "USD" else FX_MID[("USD", currency)]


def _liability(currency: str) -> str:
    return f"LIAB:CLIENT:{currency}"


class _Day:
    """The two books of one business date while it is being built."""

    def __init__(self, business_date: date, bank_open: dict[str, int], ledger_open: dict[str, int], opening: bool):
        self.date = business_date
        self.stamp = business_date.strftime("%Y%m%d")
        self.bank_open, self.ledger_open = bank_open, ledger_open
        self.journals: list[Journal] = []
        self.entries: list[BankEntry] = []
        self._e2e: dict[str, int] = defaultdict(int)
        # Without an opening journal today, earlier days' files hold the opening balance.
        self._ledger_base = {key: 0 if opening else value for key, value in ledger_open.items()}
        if opening:
            eve = datetime.combine(business_date - timedelta(days=1), time(23, 59, 59), UTC)
            for a in ACCOUNTS:
                self.journals.append(
                    double(
                        "opening",
                        eve,
                        eve.date(),
                        a.iban,
                        _liability(a.currency),
                        ledger_open[a.key],
                        a.currency,
                        description="opening balance",
                    )
                )

    def at(self, seconds: int) -> datetime:
        return datetime.combine(self.date, time(), UTC) + timedelta(seconds=seconds)

    def e2e(self, prefix: str, account: Account) -> str:
        self._e2e[prefix + account.key] += 1
        return f"{prefix}{self.stamp}{account.key}{self._e2e[prefix + account.key]:04d}"

    def bank_balance(self, account: Account) -> int:
        return self.bank_open[account.key] + sum(e.signed_cents for e in self.entries if e.account is account)

    def ledger_balance(self, account: Account) -> int:
        return self._ledger_base[account.key] + ledger_delta(self.journals, account.iban)

    def movement(
        self,
        rng: random.Random,
        account: Account,
        kind: str,
        amount: int,
        seconds: int,
        *,
        ledger: bool = True,
        bank: bool = True,
        cross_border: bool | None = None,
    ) -> tuple[Journal | None, BankEntry | None]:
        """A client deposit or payout, in the ledger and/or at the bank.

        Money arrives at the bank before the ledger mints against it; a payout is
        booked in the ledger before the bank sends it.
        """
        client = rng.choice(CLIENTS)
        agent = rng.choice(PARTICIPANTS)
        client_account = customer_account(agent, rng)
        if cross_border is None:
            cross_border = rng.random() >= DOMESTIC_SHARE
        uetr = new_uetr(rng) if cross_border else None
        delay = rng.randint(5, 600)
        deposit = kind == "deposit"
        e2e = self.e2e("DP" if deposit else "WD", account)
        ledger_at, bank_at = (
            (self.at(seconds + delay), self.at(seconds)) if deposit else (self.at(seconds), self.at(seconds + delay))
        )
        own = (account.owner, account.iban, account.bank.bic)
        other = (client, client_account, agent.bic)
        debtor, creditor = (other, own) if deposit else (own, other)
        journal = entry = None
        if ledger:
            debit, credit = (
                (account.iban, _liability(account.currency))
                if deposit
                else (_liability(account.currency), account.iban)
            )
            text = f"deposit from {client}" if deposit else f"payout to {client}"
            journal = double(
                kind,
                ledger_at,
                self.date,
                debit,
                credit,
                amount,
                account.currency,
                uetr=uetr,
                end_to_end_id=e2e,
                description=text,
            )
            self.journals.append(journal)
        if bank:
            family = ("RCDT" if deposit else "ICDT") + ("/XBCT" if cross_border else "/DMCT")
            entry = BankEntry(
                account,
                amount,
                CREDIT if deposit else DEBIT,
                bank_at,
                self.date,
                f"PMNT/{family}",
                uetr,
                e2e,
                *debtor,
                *creditor,
                remittance=f"Invoice {rng.randint(10000, 99999)}",
            )
            self.entries.append(entry)
        return journal, entry


def generate_day(
    inbox: Path,
    business_date: date,
    seed: int = 42,
    *,
    opening: bool = True,
    previous: DemoManifest | None = None,
    intraday: Path | None = None,
) -> DemoManifest:
    """Write one business date's files into ``inbox`` and return what they hold.

    ``opening`` books the ledger's opening journal (a first day only). Without
    ``previous`` the opening balances are drawn from the seed; with it they are
    the previous day's closing balances and its faults are resolved today.
    ``intraday``: a folder (not the inbox) for the day's camt.054 notifications
    and camt.052 reports; ``manifest.intraday_files`` lists them with the time
    each is created, for a runner to release them as the day goes on.
    """
    if opening and previous is not None:
        raise ValueError("the opening journal belongs to the first day only")
    inbox = Path(inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    if previous is None:
        draw = _rng(seed, business_date, "opening")
        bank_open = {a.key: _nominal_cents(seed, a) * draw.randint(90, 110) // 100 for a in ACCOUNTS}
        ledger_open = dict(bank_open)
    else:
        bank_open = {a.key: to_cents(previous.account(a.key).bank_closing) for a in ACCOUNTS}
        ledger_open = {a.key: to_cents(previous.account(a.key).ledger_balance) for a in ACCOUNTS}
    day = _Day(business_date, bank_open, ledger_open, opening)

    resolutions = _resolve(day, _rng(seed, business_date, "resolutions"), previous) if previous else []
    for a in ACCOUNTS:
        _client_flows(
            day, _rng(seed, business_date, f"movements:{a.key}"), a, _nominal_cents(seed, a), ledger_open[a.key]
        )
    _treasury(day, _rng(seed, business_date, "treasury"), seed)
    _fx(day, _rng(seed, business_date, "fx"))
    _midday_drift(day, _rng(seed, business_date, "drift"))
    faults = _inject_faults(day, _rng(seed, business_date, "faults"))
    matching_cases = _matching_cases(day, _rng(seed, business_date, "matching"))
    _assign_references(day)
    for item, entry in faults + resolutions:
        if entry is not None:
            item.acct_svcr_ref = entry.acct_svcr_ref

    manifest = DemoManifest(business_date, seed, faults=[f for f, _ in faults], resolutions=[r for r, _ in resolutions])
    manifest.matching_cases = matching_cases
    files = [f"ledger_{business_date.isoformat()}.csv"]
    ledger_lines = write_ledger_csv(inbox / files[0], business_date, day.journals)
    for bank in EMI_BANKS:
        files.append(_write_statements(inbox, day, bank))
    interbank = generate_interbank(inbox, business_date, _rng(seed, business_date, "interbank"))
    files += interbank.files
    manifest.bad_files = _write_bad_files(inbox, day, files, interbank)
    manifest.files = sorted(files + manifest.bad_files)
    manifest.rejected, manifest.returned, manifest.cycle = interbank.rejected, interbank.returned, interbank.cycle
    if intraday is not None:
        manifest.intraday_files = _write_intraday(Path(intraday), day)

    for a in ACCOUNTS:
        bank_close, ledger_close = day.bank_balance(a), day.ledger_balance(a)
        expected = level(cents(bank_close), cents(ledger_close))
        if expected != INTENDED_LEVELS[a.key]:  # the demo's faults are sized for the default bands
            raise ValueError(
                f"{a.key}: level {expected} under the configured thresholds ({config.load().thresholds}), "
                f"the demo's story needs {INTENDED_LEVELS[a.key]}: run the demo with the default DELTRAN_THRESHOLD_*"
            )
        manifest.accounts.append(
            AccountExpectation(
                a.key,
                a.iban,
                a.bank.bic,
                a.currency,
                expected,
                cents(bank_open[a.key]),
                cents(bank_close),
                cents(ledger_open[a.key]),
                cents(ledger_close),
                sum(1 for e in day.entries if e.account is a),
                electronic_seq_nb(business_date),
            )
        )
    manifest.counts = {
        "ledger_lines": ledger_lines,
        "journals": len(day.journals),
        "statement_entries": len(day.entries),
        "payments": interbank.transfers,
    }
    return manifest


def generate_days(inbox: Path, start: date, days: int, seed: int = 42) -> list[DemoManifest]:
    """Consecutive business dates with continuity: each opens at the previous close."""
    manifests: list[DemoManifest] = []
    for offset in range(days):
        previous = manifests[-1] if manifests else None
        manifests.append(
            generate_day(inbox, start + timedelta(days=offset), seed, opening=previous is None, previous=previous)
        )
    return manifests


def _client_flows(day: _Day, rng: random.Random, account: Account, nominal: int, balance: int) -> None:
    """Deposits and payouts spread over the day, drifting back towards the nominal balance; fees."""
    for seconds in sorted(rng.randint(60, DAY_SECONDS - 900) for _ in range(rng.randint(*MOVEMENTS_PER_ACCOUNT))):
        share = min(0.65, max(0.35, 0.5 + (nominal - balance) / nominal))
        amount = log_uniform_cents(rng, 100, 500_000, account.currency)
        deposit = rng.random() < share or amount > balance // 2
        balance += amount if deposit else -amount
        day.movement(rng, account, "deposit" if deposit else "withdrawal", amount, seconds)
    for _ in range(rng.randint(*FEES_PER_ACCOUNT)):
        seconds = rng.randint(60, DAY_SECONDS - 900)
        amount = log_uniform_cents(rng, 5, 250, account.currency)
        entry = BankEntry(
            account, amount, DEBIT, day.at(seconds), day.date, "ACMT/MDOP/CHRG", remittance="Transaction charges"
        )
        day.entries.append(entry)
        # The ledger books the fee from the bank's notice, so it knows the bank's reference.
        day.journals.append(
            double(
                "fee",
                day.at(seconds + rng.randint(30, 600)),
                day.date,
                f"EXP:BANKFEES:{account.currency}",
                account.iban,
                amount,
                account.currency,
                description=f"bank charges {account.bank.name}",
                bank_entry=entry,
            )
        )


def _treasury(day: _Day, rng: random.Random, seed: int) -> None:
    """One rebalancing transfer per same-currency pair: one journal, two bank entries."""
    accounts = {a.key: a for a in ACCOUNTS}
    for first, second in TREASURY_PAIRS:
        source, target = (accounts[first], accounts[second])[:: 1 if rng.random() < 0.5 else -1]
        amount = _nominal_cents(seed, source) * rng.randint(100, 300) // 10_000
        seconds = rng.randint(3_600, 79_200)
        uetr, e2e = new_uetr(rng), day.e2e("TR", source)
        parties = (source.owner, source.iban, source.bank.bic, target.owner, target.iban, target.bank.bic)
        # Each leg is booked in the ledger when the bank books it (through a
        # treasury suspense account in between), so neither account is ever
        # under-backed while the money travels between the banks.
        for account, direction, delay in (
            (source, DEBIT, rng.randint(30, 300)),
            (target, CREDIT, rng.randint(300, 900)),
        ):
            at = day.at(seconds + delay)
            suspense = f"TREASURY:IN-TRANSIT:{source.currency}"
            debit, credit = (suspense, source.iban) if direction == DEBIT else (target.iban, suspense)
            day.journals.append(
                double(
                    "transfer",
                    at,
                    day.date,
                    debit,
                    credit,
                    amount,
                    source.currency,
                    uetr=uetr,
                    end_to_end_id=e2e,
                    description=f"treasury rebalancing {source.key} -> {target.key}",
                )
            )
            day.entries.append(
                BankEntry(
                    account,
                    amount,
                    direction,
                    at,
                    day.date,
                    "PMNT/" + ("ICDT" if direction == DEBIT else "RCDT") + "/XBCT",
                    uetr,
                    e2e,
                    *parties,
                    remittance="Treasury rebalancing",
                )
            )


def _fx(day: _Day, rng: random.Random) -> None:
    """Client conversions: ledger only (no money leaves the EMI accounts), balanced per currency."""
    for _ in range(rng.randint(*FX_JOURNALS)):
        (base, quote), rate = rng.choice(sorted(FX_MID.items()))
        sell, buy = (base, quote) if rng.random() < 0.5 else (quote, base)
        sold = log_uniform_cents(rng, 1_000, 200_000, sell)
        rate = rate if sell == base else 1 / rate
        bought = int((sold * rate * Decimal("0.998")).to_integral_value(ROUND_HALF_EVEN))
        client = rng.choice(CLIENTS)
        day.journals.append(
            Journal(
                "fx",
                day.at(rng.randint(60, DAY_SECONDS - 60)),
                day.date,
                [
                    Line(_liability(sell), "D", sold, sell),
                    Line(f"FX:POSITION:{sell}", "C", sold, sell),
                    Line(f"FX:POSITION:{buy}", "D", bought, buy),
                    Line(_liability(buy), "C", bought, buy),
                ],
                description=f"FX {sell}->{buy} for {client}",
            )
        )


def _inject_faults(day: _Day, rng: random.Random) -> list[tuple[Fault, BankEntry | None]]:
    """One fault per account, sized from the account's balances at that point of the day."""
    accounts = {a.key: a for a in ACCOUNTS}
    ledger, bank = day.ledger_balance, day.bank_balance

    def fault(
        kind_of_fault: str,
        a: Account,
        side: str,
        kind: str,
        amount: int,
        difference: int,
        journal: Journal | None,
        entry: BankEntry | None,
        text: str,
    ) -> Fault:
        source = journal or entry
        assert source is not None, "a fault has a ledger or a bank side"
        return Fault(
            kind_of_fault,
            a.iban,
            a.key,
            a.currency,
            side,
            kind,
            cents(amount),
            cents(difference),
            source.uetr,
            source.end_to_end_id,
            None,
            source.booked_at,
            text,
        )

    out: list[tuple[Fault, BankEntry | None]] = []
    # A1: a deposit the ledger booked and the bank never credited (tiny: level stays OK).
    a = accounts["A1"]
    amount = ledger(a) * rng.randint(10, 30) // 1_000_000
    journal, _ = day.movement(rng, a, "deposit", amount, rng.randint(3_600, 79_200), bank=False, cross_border=True)
    out.append(
        (
            fault(
                "MissingTxn",
                a,
                "ledger",
                "deposit",
                amount,
                -amount,
                journal,
                None,
                "deposit in the ledger, not credited by the bank",
            ),
            None,
        )
    )
    # A2: the bank books one small deposit twice, under two references.
    a = accounts["A2"]
    amount = ledger(a) * rng.randint(10, 30) // 1_000_000
    _, entry = day.movement(rng, a, "deposit", amount, rng.randint(3_600, 72_000), cross_border=True)
    assert entry is not None  # bank=True: the bank books it
    duplicate = dataclasses.replace(entry, booked_at=entry.booked_at + timedelta(seconds=rng.randint(60, 900)))
    day.entries.append(duplicate)
    out.append(
        (
            fault(
                "DuplicateTxn",
                a,
                "bank",
                "deposit",
                amount,
                amount,
                None,
                duplicate,
                "the same deposit booked twice by the bank",
            ),
            duplicate,
        )
    )
    # A3: the bank credits 12.34 less than the ledger booked.
    a = accounts["A3"]
    amount = log_uniform_cents(rng, 20_000, 80_000, a.currency)
    journal, entry = day.movement(rng, a, "deposit", amount, rng.randint(3_600, 79_200), cross_border=True)
    assert entry is not None  # bank=True: the bank books it
    entry.cents -= MISMATCH_CENTS
    out.append(
        (
            fault(
                "AmountMismatch",
                a,
                "both",
                "deposit",
                amount,
                -MISMATCH_CENTS,
                journal,
                entry,
                "charges deducted on the way: the bank credited less",
            ),
            entry,
        )
    )
    # A4: interest credited by the bank only, ~0.03 % of the balance (Minor).
    a = accounts["A4"]
    amount = ledger(a) * 3 // 10_000
    entry = BankEntry(
        a,
        amount,
        CREDIT,
        day.at(84_600),
        day.date,
        "ACMT/MCOP/INTR",
        debtor_name=a.bank.name,
        creditor_name=a.owner,
        creditor_account=a.iban,
        remittance="Credit interest",
    )
    day.entries.append(entry)
    out.append(
        (
            fault(
                "MissingTxn",
                a,
                "bank",
                "interest",
                amount,
                amount,
                None,
                entry,
                "interest credited by the bank, not in the ledger",
            ),
            entry,
        )
    )
    # A5: an unidentified incoming payment, ~0.2 % of the balance (Significant).
    a = accounts["A5"]
    amount = ledger(a) * 2 // 1_000
    _, entry = day.movement(rng, a, "deposit", amount, rng.randint(3_600, 79_200), ledger=False, cross_border=True)
    out.append(
        (
            fault(
                "MissingTxn",
                a,
                "bank",
                "deposit",
                amount,
                amount,
                None,
                entry,
                "incoming payment the ledger has not booked",
            ),
            entry,
        )
    )
    # A6: tokens minted without money (ledger exceeds bank by ~0.8 %: Critical).
    a = accounts["A6"]
    amount = bank(a) * 8 // 1_000
    rng.randint(3_600, 79_200)  # drawn and unused: the mint is at a fixed time, nothing else moves
    journal = double(
        "mint",
        day.at(MINT_SECONDS),
        day.date,
        a.iban,
        _liability(a.currency),
        amount,
        a.currency,
        uetr=new_uetr(rng),
        end_to_end_id=day.e2e("MN", a),
        description="tokens minted, funds not received",
    )
    day.journals.append(journal)
    out.append(
        (
            fault("MissingTxn", a, "ledger", "mint", amount, -amount, journal, None, "mint without money at the bank"),
            None,
        )
    )
    return out


def _matching_cases(day: _Day, rng: random.Random) -> list[MatchingCase]:
    """Movements that only the later matching passes can pair, each balanced on both
    books so no account's level moves: a deposit with no shared reference and one
    candidate (suggested), two equal deposits with no reference (ambiguous: never
    paired, four MissingTxn), a payout batch the bank books as one entry without
    details (the sum of one journal's postings), and two instalments of different
    amounts under one EndToEndId (paired by reference and amount)."""
    accounts = {a.key: a for a in ACCOUNTS}
    out: list[MatchingCase] = []

    def unreferenced_deposit(a: Account, amount: int, seconds: int, client: str, named: bool) -> None:
        agent = rng.choice(PARTICIPANTS)
        entry = BankEntry(
            a, amount, CREDIT, day.at(seconds), day.date, "PMNT/RCDT/DMCT",
            debtor_name=client if named else None, debtor_account=customer_account(agent, rng),
            debtor_agent=agent.bic, creditor_name=a.owner, creditor_account=a.iban, creditor_agent=a.bank.bic,
            remittance="cash deposit at counter",
        )  # fmt: skip
        day.entries.append(entry)
        day.journals.append(
            double(
                "deposit", day.at(seconds + rng.randint(60, 900)), day.date, a.iban, _liability(a.currency), amount,
                a.currency, description=f"deposit from {client} (no reference)", counterparty=client if named else None,
            )
        )  # fmt: skip

    a = accounts["A1"]
    amount = log_uniform_cents(rng, 5_000, 90_000, a.currency)
    unreferenced_deposit(a, amount, rng.randint(3_600, 79_200), rng.choice(CLIENTS), named=True)
    out.append(MatchingCase("no_reference_unique", a.iban, a.key, a.currency, [cents(amount)], "suggested", 1, 1))

    a = accounts["A2"]
    amount = log_uniform_cents(rng, 5_000, 90_000, a.currency)
    client = rng.choice(CLIENTS)
    for _ in range(2):
        unreferenced_deposit(a, amount, rng.randint(3_600, 79_200), client, named=False)
    out.append(MatchingCase("no_reference_ambiguous", a.iban, a.key, a.currency, [cents(amount)] * 2, "unpaired", 2, 2))

    a = accounts["A4"]
    parts = [log_uniform_cents(rng, 1_000, 40_000, a.currency) for _ in range(3)]
    seconds = rng.randint(3_600, 72_000)
    lines: list[Line] = []
    for part in parts:
        lines += [Line(_liability(a.currency), "D", part, a.currency), Line(a.iban, "C", part, a.currency)]
    day.journals.append(Journal("withdrawal", day.at(seconds), day.date, lines, description="payout batch"))
    day.entries.append(
        BankEntry(
            a, sum(parts), DEBIT, day.at(seconds + rng.randint(300, 1_800)), day.date, "PMNT/ICDT/BOOK",
            remittance="batch of 3 payouts", without_details=True,
        )
    )  # fmt: skip
    out.append(
        MatchingCase("batch_without_details", a.iban, a.key, a.currency, [cents(p) for p in parts], "batch_sum", 1, 3)
    )

    a = accounts["A3"]
    e2e = day.e2e("IN", a)
    instalments = sorted({log_uniform_cents(rng, 2_000, 60_000, a.currency) for _ in range(2)})
    for number, part in enumerate(instalments, start=1):
        at = rng.randint(3_600, 72_000)
        client = rng.choice(CLIENTS)
        day.journals.append(
            double(
                "withdrawal", day.at(at), day.date, _liability(a.currency), a.iban, part, a.currency,
                end_to_end_id=e2e, description=f"instalment {number} to {client}",
            )
        )  # fmt: skip
        day.entries.append(
            BankEntry(
                a, part, DEBIT, day.at(at + rng.randint(30, 600)), day.date, "PMNT/ICDT/DMCT", None, e2e,
                a.owner, a.iban, a.bank.bic, client, None, None, remittance=f"instalment {number}",
            )
        )  # fmt: skip
    out.append(
        MatchingCase(
            "instalments", a.iban, a.key, a.currency, [cents(p) for p in instalments], "end_to_end_id",
            len(instalments), len(instalments), e2e,
        )
    )  # fmt: skip
    return out


def _resolve(day: _Day, rng: random.Random, previous: DemoManifest) -> list[tuple[Resolution, BankEntry | None]]:
    """Settle yesterday's faults early today, so today ends with only its own."""
    accounts = {a.key: a for a in ACCOUNTS}
    out: list[tuple[Resolution, BankEntry | None]] = []
    for index, f in enumerate(previous.faults):
        a, at = accounts[f.account_key], day.at(300 + 120 * index)
        amount, then = abs(to_cents(f.difference)), previous.business_date
        entry = None
        if f.type == "MissingTxn" and f.kind == "mint":
            action = "LedgerBurn"
            day.journals.append(
                double(
                    "burn",
                    at,
                    day.date,
                    _liability(a.currency),
                    a.iban,
                    amount,
                    a.currency,
                    uetr=f.uetr,
                    end_to_end_id=f.end_to_end_id,
                    description="burn of tokens minted without funds",
                )
            )
        elif f.type == "MissingTxn" and f.side == "ledger":
            action = "BankLateBooking"
            entry = BankEntry(
                a,
                amount,
                CREDIT,
                at,
                then,
                "PMNT/RCDT/XBCT",
                f.uetr,
                f.end_to_end_id,
                rng.choice(CLIENTS),
                None,
                None,
                a.owner,
                a.iban,
                a.bank.bic,
                remittance="Late credit",
            )
        elif f.type == "DuplicateTxn":
            action = "BankReversal"
            entry = BankEntry(
                a,
                amount,
                DEBIT,
                at,
                then,
                "PMNT/RCDT/XBCT",
                f.uetr,
                f.end_to_end_id,
                remittance=f"Reversal of duplicate booking {f.acct_svcr_ref}",
                is_reversal=True,
            )
        elif f.type == "AmountMismatch":
            action = "LedgerAdjustment"
            day.journals.append(
                double(
                    "fee",
                    at,
                    then,
                    f"EXP:BANKFEES:{a.currency}",
                    a.iban,
                    amount,
                    a.currency,
                    bank_reference=f.acct_svcr_ref,
                    description=f"charges deducted from {f.end_to_end_id}",
                )
            )
        else:  # MissingTxn on the bank side: the ledger books what the bank did
            action = "LedgerLateBooking"
            credit = f"INC:INTEREST:{a.currency}" if f.kind == "interest" else _liability(a.currency)
            day.journals.append(
                double(
                    "deposit",
                    at,
                    then,
                    a.iban,
                    credit,
                    amount,
                    a.currency,
                    uetr=f.uetr,
                    end_to_end_id=f.end_to_end_id,
                    bank_reference=f.acct_svcr_ref,
                    description=f"booked from bank statement: {f.kind}",
                )
            )
        if entry is not None:
            day.entries.append(entry)
        out.append(
            (
                Resolution(
                    f.type,
                    then,
                    a.iban,
                    a.key,
                    a.currency,
                    "bank" if entry else "ledger",
                    action,
                    cents(amount),
                    f.uetr,
                    f.end_to_end_id,
                    None if entry else f.acct_svcr_ref,
                ),
                entry,
            )
        )
    return out


def _assign_references(day: _Day) -> None:
    """AcctSvcrRef per bank, in booking order: unique per bank (and across days)."""
    order = {a.key: i for i, a in enumerate(ACCOUNTS)}
    for bank in EMI_BANKS:
        booked = sorted(
            (e for e in day.entries if e.account.bank == bank), key=lambda e: (e.booked_at, order[e.account.key])
        )
        for number, entry in enumerate(booked, start=1):
            entry.acct_svcr_ref = f"{bank.short}{day.stamp}{number:06d}"


def _write_statements(inbox: Path, day: _Day, bank: Bank) -> str:
    """One camt.053 per bank, one Stmt per account, arithmetic exact by construction."""
    name = f"camt053_{bank.bic}_{day.date.isoformat()}.xml"
    message_id = f"{bank.short}{day.stamp}C053"
    created_at = datetime.combine(day.date + timedelta(days=1), time(1, 0), UTC)
    statements = []
    for account in (a for a in ACCOUNTS if a.bank == bank):
        entries = sorted((e for e in day.entries if e.account is account), key=lambda e: (e.booked_at, e.acct_svcr_ref))
        credits = [e.cents for e in entries if e.credit_debit == CREDIT]
        debits = [e.cents for e in entries if e.credit_debit == DEBIT]
        open_cents = day.bank_open[account.key]
        close_cents = open_cents + sum(credits) - sum(debits)
        statement_id = f"{day.stamp}-{account.iban}"
        seq = electronic_seq_nb(day.date)
        header = Statement(
            "camt.053",
            message_id,
            statement_id,
            account.iban,
            account.currency,
            bank.bic,
            created_at,
            datetime.combine(day.date, time(), UTC),
            datetime.combine(day.date, time(23, 59, 59), UTC),
            seq,
            seq,
            len(entries),
            len(credits),
            cents(sum(credits)),
            len(debits),
            cents(sum(debits)),
        )
        balances = [
            Balance(
                "camt.053",
                message_id,
                statement_id,
                account.iban,
                code,
                cents(abs(value)),
                account.currency,
                CREDIT if value >= 0 else DEBIT,
                date=day.date,
            )
            for code, value in (("OPBD", open_cents), ("CLBD", close_cents))
        ]
        records = _entries("camt.053", message_id, statement_id, account, entries)
        statements.append((header, balances, records))
    write_bank_to_customer(inbox / name, "camt.053", message_id, created_at, statements)
    return name


def _entries(
    message_type: str, message_id: str, statement_id: str, account: Account, entries: list[BankEntry]
) -> list[Entry]:
    """The parser's Entry records of a statement or notification, one per bank entry."""
    return [
        Entry(
            message_type,
            message_id,
            statement_id,
            account.iban,
            account.currency,
            cents(e.cents),
            account.currency,
            e.credit_debit,
            status="BOOK",
            booking_date=e.booked_at.date(),
            booking_date_time=e.booked_at,
            value_date=e.value_date,
            acct_svcr_ref=e.acct_svcr_ref,
            is_reversal=e.is_reversal,
            bank_tx_code=e.bank_tx_code,
            entry_index=index,
            # a batch booked without details matches by sum (matching pass 2)
            transactions=[]
            if e.without_details
            else [
                TransactionDetails(
                    end_to_end_id=e.end_to_end_id,
                    uetr=e.uetr,
                    acct_svcr_ref=e.acct_svcr_ref,
                    debtor_name=e.debtor_name,
                    debtor_account=e.debtor_account,
                    debtor_agent_bic=e.debtor_agent,
                    creditor_name=e.creditor_name,
                    creditor_account=e.creditor_account,
                    creditor_agent_bic=e.creditor_agent,
                    remittance_info=e.remittance,
                )
            ],
        )
        for index, e in enumerate(entries)
    ]


def _write_bad_files(inbox: Path, day: _Day, files: list[str], interbank: InterbankDay) -> list[str]:
    """Two files ingest must quarantine: a camt.053 cut off in transit, and a
    well-formed message it does not take (a cancellation request for the payment
    that is rejected anyway, so it could change nothing if it were read)."""
    source = next(f for f in files if f.startswith(f"camt053_{EMI_BANKS[2].bic}"))
    data = (inbox / source).read_bytes()
    truncated = source.replace(".xml", "_truncated.xml")
    (inbox / truncated).write_bytes(data[: len(data) * 3 // 5])
    p = interbank.rejected.payment
    unsupported = f"camt056_{p.debtor_agent}_{day.date.isoformat()}.xml"
    messages.write_camt056(
        inbox / unsupported,
        f"{p.debtor_agent[:4]}{day.stamp}C056",
        p.accepted_at + timedelta(minutes=2),
        p.debtor_agent,
        HUB.bic,
        p.message_id,
        p.end_to_end_id,
        p.uetr,
        p.amount,
        p.currency,
        day.date,
    )
    return [truncated, unsupported]


def _midday_drift(day: _Day, rng: random.Random) -> None:
    """A1: a deposit of ~0.2 % of the balance, at the bank at 11:00, in the ledger only at 14:00."""
    a = next(x for x in ACCOUNTS if x.key == "A1")
    amount = day.ledger_balance(a) * 2 // 1_000
    journal, _ = day.movement(rng, a, "deposit", amount, DRIFT_BANK_SECONDS, cross_border=True)
    assert journal is not None  # a deposit always has its ledger journal
    journal.booked_at = day.at(DRIFT_LEDGER_SECONDS)


def _write_intraday(folder: Path, day: _Day) -> list[tuple[datetime, str]]:
    """camt.054 notifications every 2 hours and camt.052 reports every 6 hours, per bank.

    A notification carries the entries booked in the 2 hours before its
    creation; a report the opening (OPBD) and the interim booked balance (ITBD)
    at its creation. Returns (created at, file name), in time order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    start = datetime.combine(day.date, time(), UTC)
    out: list[tuple[datetime, str]] = []
    for bank in EMI_BANKS:
        accounts = [a for a in ACCOUNTS if a.bank == bank]
        since = start
        for hour in NOTIFICATION_HOURS:
            created = start + timedelta(hours=hour) - (timedelta(seconds=1) if hour == 24 else timedelta())
            statements: list[tuple[Statement, list[Balance], list[Entry]]] = []
            message_id = f"{bank.short}{day.stamp}N{hour:02d}"
            for account in accounts:
                entries = sorted(
                    (e for e in day.entries if e.account is account and since < e.booked_at <= created),
                    key=lambda e: (e.booked_at, e.acct_svcr_ref),
                )
                if not entries:
                    continue
                statement_id = f"{day.stamp}N{hour:02d}-{account.iban}"
                header = Statement(
                    "camt.054", message_id, statement_id, account.iban, account.currency, bank.bic, created
                )
                statements.append((header, [], _entries("camt.054", message_id, statement_id, account, entries)))
            since = created
            if statements:
                name = f"camt054_{bank.bic}_{created:%Y-%m-%dT%H%M%S}.xml"
                write_bank_to_customer(folder / name, "camt.054", message_id, created, statements)
                out.append((created, name))
        for seconds in REPORT_SECONDS:
            created = start + timedelta(seconds=seconds)
            message_id = f"{bank.short}{day.stamp}R{seconds // 60:04d}"
            statements = []
            for account in accounts:
                booked = sum(e.signed_cents for e in day.entries if e.account is account and e.booked_at <= created)
                interim = day.bank_open[account.key] + booked
                statement_id = f"{day.stamp}R{seconds // 60:04d}-{account.iban}"
                header = Statement(
                    "camt.052", message_id, statement_id, account.iban, account.currency, bank.bic, created
                )
                balances = [
                    Balance(
                        "camt.052",
                        message_id,
                        statement_id,
                        account.iban,
                        code,
                        cents(abs(value)),
                        account.currency,
                        CREDIT if value >= 0 else DEBIT,
                        date=day.date if code == "OPBD" else None,
                        date_time=created if code == "ITBD" else None,
                    )
                    for code, value in (("OPBD", day.bank_open[account.key]), ("ITBD", interim))
                ]
                statements.append((header, balances, []))
            name = f"camt052_{bank.bic}_{created:%Y-%m-%dT%H%M%S}.xml"
            write_bank_to_customer(folder / name, "camt.052", message_id, created, statements)
            out.append((created, name))
    return sorted(out)
