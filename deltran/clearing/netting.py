"""Multilateral netting of one clearing window, per currency (DOMAIN.md, "Clearing windows").

The input is either raw obligations or, as the warehouse delivers them, pair
totals already aggregated by (debtor, creditor, currency) in SQL: at most
n*(n-1) edges per currency however many obligations were accepted. Several
rows for the same pair are simply added, so raw obligations and pair totals
give the same result.

Result rows (positions, bilateral nets, instructions, breaches) are named
tuples: immutable, cheap to build, and ready for ``executemany`` into the
warehouse.

Money is ``Decimal`` end to end and every sum is exact: arithmetic runs in a
context that traps ``Inexact``, so a figure that could not be represented
raises instead of being rounded. The one derived ratio, netting efficiency,
cannot be exact in general (1 - 100/340); it is the single rounded figure, to
``EFFICIENCY_DIGITS`` significant digits, half-even.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from itertools import islice
from typing import NamedTuple

import networkx as nx

# Exact arithmetic: enough digits for any sum of ISO 20022 amounts (18 digits
# each), and a trap, not a silent rounding, if that were ever exceeded.
_EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])

EFFICIENCY_DIGITS = 28
_RATIO = Context(prec=EFFICIENCY_DIGITS, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero])

# Counting simple cycles is exponential in the worst case (a dense 50-bank
# graph has astronomically many); the count stops here and says it stopped.
DEFAULT_CYCLE_LIMIT = 100

_ZERO = Decimal(0)


def _check_amount(amount: object, what: str) -> None:
    if not isinstance(amount, Decimal):
        # Never float: 0.1 + 0.2 is not money. Callers parse strings to Decimal.
        raise TypeError(f"{what} must be a decimal.Decimal, got {type(amount).__name__} {amount!r}")
    if not amount.is_finite():
        raise ValueError(f"{what} must be a finite number, got {amount}")
    if amount < 0:
        raise ValueError(f"{what} must not be negative, got {amount}")


def _check_parties(debtor: str, creditor: str, currency: str) -> None:
    if not debtor or not creditor:
        raise ValueError(f"debtor and creditor must be non-empty, got {debtor!r} -> {creditor!r}")
    if debtor == creditor:
        raise ValueError(f"debtor and creditor are the same participant {debtor!r}")
    if not currency:
        raise ValueError("currency must be non-empty")


@dataclass(frozen=True, slots=True)
class Obligation:
    """One accepted payment: ``debtor`` owes ``creditor`` ``amount`` in ``currency``."""

    debtor: str
    creditor: str
    currency: str
    amount: Decimal
    obligation_id: str | None = None
    accepted_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_parties(self.debtor, self.creditor, self.currency)
        _check_amount(self.amount, "obligation amount")


@dataclass(frozen=True, slots=True)
class PairTotal:
    """All obligations of one (debtor, creditor, currency): their sum and how many."""

    debtor: str
    creditor: str
    currency: str
    amount: Decimal
    count: int = 1

    def __post_init__(self) -> None:
        _check_parties(self.debtor, self.creditor, self.currency)
        _check_amount(self.amount, "pair total amount")
        if self.count < 0:
            raise ValueError(f"pair total count must not be negative, got {self.count}")


class BilateralNet(NamedTuple):
    """One unordered pair after bilateral netting.

    ``party_a`` < ``party_b``; ``a_to_b``/``b_to_a`` are the gross amounts each
    way. ``payer`` owes ``payee`` ``amount``; both are None when the pair nets
    to exactly zero.
    """

    party_a: str
    party_b: str
    a_to_b: Decimal
    b_to_a: Decimal
    payer: str | None
    payee: str | None
    amount: Decimal


class Position(NamedTuple):
    """A participant's multilateral net position: ``net = received - paid``."""

    participant: str
    currency: str
    paid: Decimal
    received: Decimal
    net: Decimal


class CycleComponent(NamedTuple):
    """A strongly connected component of more than one participant.

    Money can flow round it and back, which is where multilateral netting saves
    beyond bilateral netting. ``gross`` is the sum of the edges inside it.
    """

    participants: tuple[str, ...]
    edge_count: int
    gross: Decimal


class SettlementInstruction(NamedTuple):
    """``payer`` transfers ``amount`` to ``payee``: one pacs.009 transaction."""

    payer: str
    payee: str
    currency: str
    amount: Decimal


class CapBreach(NamedTuple):
    """A net debit beyond the participant's cap: ``net < -cap``, ``excess = -net - cap``."""

    participant: str
    currency: str
    net: Decimal
    cap: Decimal
    excess: Decimal


@dataclass(frozen=True)
class NettingResult:
    """Everything one currency's netting computes, in a deterministic order.

    Settlement hold: when any participant breaches its net debit cap the
    instructions are still computed (operations see what would settle and by
    how much the cap is exceeded) but ``settlement_held`` is True and the
    caller must not issue them; ``pacs009.build_pacs009_for_result`` refuses
    a held result unless told otherwise.
    """

    currency: str
    participants: tuple[str, ...]
    obligation_count: int
    gross: Decimal
    bilateral: tuple[BilateralNet, ...]
    bilateral_net: Decimal
    positions: tuple[Position, ...]
    net: Decimal
    efficiency: Decimal
    bilateral_efficiency: Decimal
    cycles: tuple[CycleComponent, ...]
    simple_cycle_count: int
    simple_cycles_truncated: bool
    instructions: tuple[SettlementInstruction, ...]
    instruction_bound: int
    cap_breaches: tuple[CapBreach, ...]

    @property
    def settlement_held(self) -> bool:
        return bool(self.cap_breaches)

    @property
    def instruction_count(self) -> int:
        return len(self.instructions)


def aggregate(obligations: Iterable[Obligation | PairTotal]) -> list[PairTotal]:
    """Sum obligations per (debtor, creditor, currency), as the warehouse does in SQL.

    Returns pair totals sorted by (currency, debtor, creditor). Pair totals may
    be fed back in (their counts add up).
    """
    acc: dict[tuple[str, str, str], list] = {}
    with localcontext(_EXACT):
        for o in obligations:
            key = (o.currency, o.debtor, o.creditor)
            n = getattr(o, "count", 1)
            slot = acc.get(key)
            if slot is None:
                slot = acc[key] = [_ZERO, 0]
            # a zero amount moves nothing and is skipped, as net_currency skips
            # it: adding it would change the sum's written form (1 + 0.0 = 1.0)
            # with the order of the input
            if o.amount != 0:
                slot[0] = o.amount if slot[1] == 0 or slot[0] is _ZERO else slot[0] + o.amount
            slot[1] += n
    return [
        PairTotal(debtor, creditor, currency, amount, count)
        for (currency, debtor, creditor), (amount, count) in sorted(acc.items())
    ]


def efficiency(gross: Decimal, net: Decimal) -> Decimal:
    """``1 - net / gross``, computed as ``(gross - net) / gross``.

    Rounded half-even to ``EFFICIENCY_DIGITS`` significant digits: the only
    rounded figure netting produces. Defined as 0 when gross is 0 (nothing was
    owed, so nothing was saved), never a division by zero.
    """
    if gross == 0:
        return _ZERO
    with localcontext(_EXACT):
        saved = gross - net
    with localcontext(_RATIO):
        return saved / gross


def settlement_instructions(positions: Mapping[str, Decimal], currency: str) -> list[SettlementInstruction]:
    """Transfers from net payers to net receivers that settle every position exactly.

    ``positions`` maps participant -> net (received - paid) and must sum to
    zero. Returns the instructions sorted by payer, then payee.

    Heuristic (the true minimum is NP-hard): first pair off payers and receivers
    with exactly equal amounts, ties in participant order; then repeatedly take
    the largest remaining payer (ties: lowest id), pay a receiver whose
    remainder equals the payer's exactly if one exists, else check the same
    from the largest receiver's side, else pay the largest receiver. Every
    transfer closes at least one participant and the last closes two, so at
    most n-1 transfers for n non-zero positions; each exact match saves one.
    No payer ever pays the same receiver twice.
    """
    out: list[SettlementInstruction] = []
    with localcontext(_EXACT):
        total = sum(positions.values(), _ZERO)
        if total != 0:
            raise ValueError(f"{currency}: positions sum to {total}, not zero; cannot settle")
        owe = {p: -v for p, v in positions.items() if v < 0}
        due = {p: v for p, v in positions.items() if v > 0}

        # Phase 1: exactly equal opposite positions, one transfer per pair.
        owe_by_amount: dict[Decimal, list[str]] = defaultdict(list)
        due_by_amount: dict[Decimal, list[str]] = defaultdict(list)
        for p in sorted(owe):
            owe_by_amount[owe[p]].append(p)
        for p in sorted(due):
            due_by_amount[due[p]].append(p)
        for amount in sorted(set(owe_by_amount) & set(due_by_amount), reverse=True):
            for payer, payee in zip(owe_by_amount[amount], due_by_amount[amount], strict=False):
                out.append(SettlementInstruction(payer, payee, currency, owe.pop(payer)))
                del due[payee]

        # Phase 2: greedy largest to largest, taking exact matches as they appear.
        # Heaps hold (-amount, id); entries are stale once the remainder changed.
        owe_heap = [(-v, p) for p, v in owe.items()]
        due_heap = [(-v, p) for p, v in due.items()]
        heapq.heapify(owe_heap)
        heapq.heapify(due_heap)
        owe_index: dict[Decimal, set[str]] = defaultdict(set)
        due_index: dict[Decimal, set[str]] = defaultdict(set)
        for p, v in owe.items():
            owe_index[v].add(p)
        for p, v in due.items():
            due_index[v].add(p)

        def top(heap: list, rem: dict[str, Decimal]) -> str:
            while True:
                neg, p = heap[0]
                if rem.get(p) == -neg:
                    return p
                heapq.heappop(heap)

        def settle(payer: str, payee: str) -> None:
            x = min(owe[payer], due[payee])
            out.append(SettlementInstruction(payer, payee, currency, x))
            for rem, index, heap, p in ((owe, owe_index, owe_heap, payer), (due, due_index, due_heap, payee)):
                index[rem[p]].discard(p)
                left = rem[p] - x
                if left == 0:
                    del rem[p]
                else:
                    rem[p] = left
                    index[left].add(p)
                    heapq.heappush(heap, (-left, p))

        while owe:
            payer = top(owe_heap, owe)
            match = due_index.get(owe[payer])
            if match:
                settle(payer, min(match))
                continue
            payee = top(due_heap, due)
            match = owe_index.get(due[payee])
            if match:
                settle(min(match), payee)
                continue
            settle(payer, payee)
        if due:  # cannot happen when positions sum to zero
            raise AssertionError(f"{currency}: receivers left unpaid: {due}")
    out.sort(key=lambda i: (i.payer, i.payee))
    return out


def _pair_edges(
    pairs: Iterable[PairTotal | Obligation], currency: str
) -> tuple[dict[tuple[str, str], Decimal], set[str], int]:
    """Step 1: the gross amount per (debtor, creditor) of one currency, its participants and obligations."""
    edges: dict[tuple[str, str], Decimal] = {}
    nodes: set[str] = set()
    count = 0
    for row in pairs:
        if row.currency != currency:
            continue
        count += getattr(row, "count", 1)
        nodes.add(row.debtor)
        nodes.add(row.creditor)
        if row.amount == 0:
            continue
        key = (row.debtor, row.creditor)
        edges[key] = edges[key] + row.amount if key in edges else row.amount
    return edges, nodes, count


def _bilateral(edges: Mapping[tuple[str, str], Decimal]) -> tuple[list[BilateralNet], Decimal]:
    """Step 2: each pair netted against itself, and the total that would still move."""
    bilateral: list[BilateralNet] = []
    bilateral_net = _ZERO
    seen: set[tuple[str, str]] = set()
    for u, v in edges:
        a, b = (u, v) if u < v else (v, u)
        if (a, b) in seen:
            continue
        seen.add((a, b))
        ab = edges.get((a, b), _ZERO)
        ba = edges.get((b, a), _ZERO)
        diff = ab - ba
        if diff > 0:
            bilateral.append(BilateralNet(a, b, ab, ba, a, b, diff))
        elif diff < 0:
            bilateral.append(BilateralNet(a, b, ab, ba, b, a, -diff))
        else:
            bilateral.append(BilateralNet(a, b, ab, ba, None, None, _ZERO))
        bilateral_net += abs(diff)
    bilateral.sort(key=lambda x: (x.party_a, x.party_b))
    return bilateral, bilateral_net


def _positions(
    edges: Mapping[tuple[str, str], Decimal], participants: tuple[str, ...], currency: str
) -> tuple[tuple[Position, ...], Decimal]:
    """Step 3: every participant's paid, received and net; the gross. Nets sum to zero or this raises."""
    paid = dict.fromkeys(participants, _ZERO)
    received = dict.fromkeys(participants, _ZERO)
    gross = _ZERO
    for (u, v), amount in edges.items():
        gross += amount
        paid[u] += amount
        received[v] += amount
    positions = tuple(Position(p, currency, paid[p], received[p], received[p] - paid[p]) for p in participants)
    total = sum((pos.net for pos in positions), _ZERO)
    if total != 0:
        # The invariant of DOMAIN.md: every amount paid is received by someone.
        raise AssertionError(f"{currency}: net positions sum to {total}, not zero")
    return positions, gross


def _cap_breaches(
    positions: Iterable[Position], currency: str, caps: Mapping[tuple[str, str], Decimal] | None
) -> list[CapBreach]:
    """Step 4: positions below minus their participant's net debit cap (exactly -cap is not a breach)."""
    breaches: list[CapBreach] = []
    for pos in positions:
        cap = (caps or {}).get((pos.participant, currency))
        if cap is None:
            continue
        _check_amount(cap, f"net debit cap of {pos.participant} {currency}")
        if pos.net < -cap:
            breaches.append(CapBreach(pos.participant, currency, pos.net, cap, -pos.net - cap))
    return breaches


def _cycles(
    graph: nx.DiGraph[str], edges: Mapping[tuple[str, str], Decimal], cycle_limit: int
) -> tuple[list[CycleComponent], int, bool]:
    """Step 6: strongly connected components (where netting saves), and the simple cycles up to a limit."""
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        internal = [amt for (u, v), amt in edges.items() if u in component and v in component]
        with localcontext(_EXACT):
            inside = sum(internal, _ZERO)
        cycles.append(CycleComponent(tuple(sorted(component)), len(internal), inside))
    cycles.sort(key=lambda c: (-len(c.participants), c.participants))

    simple_cycles = 0
    truncated = False
    if cycle_limit > 0 and cycles:
        simple_cycles = sum(1 for _ in islice(nx.simple_cycles(graph), cycle_limit + 1))
        if simple_cycles > cycle_limit:
            simple_cycles, truncated = cycle_limit, True
    return cycles, simple_cycles, truncated


def net_currency(
    pairs: Iterable[PairTotal | Obligation],
    currency: str,
    caps: Mapping[tuple[str, str], Decimal] | None = None,
    *,
    cycle_limit: int = DEFAULT_CYCLE_LIMIT,
) -> NettingResult:
    """Net one currency's obligations (rows of other currencies are skipped).

    ``pairs`` are pair totals (or raw obligations; rows for the same pair add
    up). ``caps`` maps (participant, currency) to a net debit cap; a position
    below ``-cap`` is a breach (exactly ``-cap`` is not). ``cycle_limit``
    bounds the simple-cycle count (0 skips counting).

    The steps: gross per pair, bilateral nets, positions, cap breaches,
    settlement instructions (checked to total the net settlement value), cycles.
    """
    with localcontext(_EXACT):
        # Plain dicts for the sums (networkx attribute access is slow per edge);
        # the graph is built from them in one call, for components and cycles.
        edges, nodes, count = _pair_edges(pairs, currency)
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(sorted(nodes))
        graph.add_edges_from((u, v, {"amount": amount}) for (u, v), amount in edges.items())
        participants = tuple(sorted(graph.nodes))

        bilateral, bilateral_net = _bilateral(edges)
        positions, gross = _positions(edges, participants, currency)
        net = sum((pos.net for pos in positions if pos.net > 0), _ZERO)
        breaches = _cap_breaches(positions, currency, caps)

        # Step 5: who pays whom; the total must be the net settlement value.
        instructions = settlement_instructions({p.participant: p.net for p in positions}, currency)
        nonzero = sum(1 for pos in positions if pos.net != 0)
        issued = sum((i.amount for i in instructions), _ZERO)
        if issued != net:
            raise AssertionError(f"{currency}: instructions total {issued}, net settlement value {net}")

    cycles, simple_cycles, truncated = _cycles(graph, edges, cycle_limit)
    return NettingResult(
        currency=currency,
        participants=participants,
        obligation_count=count,
        gross=gross,
        bilateral=tuple(bilateral),
        bilateral_net=bilateral_net,
        positions=positions,
        net=net,
        efficiency=efficiency(gross, net),
        bilateral_efficiency=efficiency(gross, bilateral_net),
        cycles=tuple(cycles),
        simple_cycle_count=simple_cycles,
        simple_cycles_truncated=truncated,
        instructions=tuple(instructions),
        instruction_bound=max(nonzero - 1, 0),
        cap_breaches=tuple(breaches),
    )


def net_all(
    pairs: Iterable[PairTotal | Obligation],
    caps: Mapping[tuple[str, str], Decimal] | None = None,
    *,
    cycle_limit: int = DEFAULT_CYCLE_LIMIT,
) -> dict[str, NettingResult]:
    """Net every currency present, keyed and ordered by currency code."""
    by_currency: dict[str, list] = defaultdict(list)
    for row in pairs:
        by_currency[row.currency].append(row)
    return {ccy: net_currency(by_currency[ccy], ccy, caps, cycle_limit=cycle_limit) for ccy in sorted(by_currency)}
