"""Multilateral netting: one example worked by hand, then properties over random obligations."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltran.clearing import (
    BilateralNet,
    CapBreach,
    Obligation,
    PairTotal,
    Position,
    SettlementInstruction,
    aggregate,
    efficiency,
    net_all,
    net_currency,
    settlement_instructions,
)
from deltran.clearing.csvnet import report

D = Decimal


def ob(debtor: str, creditor: str, amount: str, currency: str = "USD") -> Obligation:
    return Obligation(debtor, creditor, currency, D(amount))


# Four banks, one currency. A owes B twice (60 + 40).
#   A->B 100   B->C 80   C->A 60   A->C 30   B->A 20   D->B 50
HAND = [
    ob("A", "B", "60"),
    ob("A", "B", "40"),
    ob("B", "C", "80"),
    ob("C", "A", "60"),
    ob("A", "C", "30"),
    ob("B", "A", "20"),
    ob("D", "B", "50"),
]


def test_hand_worked_example():
    r = net_currency(aggregate(HAND), "USD")
    # gross = 100 + 80 + 60 + 30 + 20 + 50 = 340, from 7 obligations
    assert r.gross == D(340)
    assert r.obligation_count == 7
    assert r.participants == ("A", "B", "C", "D")
    # bilateral, per unordered pair:
    #   {A,B}: 100 vs 20 -> A pays B 80     {A,C}: 30 vs 60 -> C pays A 30
    #   {B,C}: 80 vs 0   -> B pays C 80     {B,D}: 0 vs 50  -> D pays B 50
    # bilateral net = 80 + 30 + 80 + 50 = 240
    assert r.bilateral == (
        BilateralNet("A", "B", D(100), D(20), "A", "B", D(80)),
        BilateralNet("A", "C", D(30), D(60), "C", "A", D(30)),
        BilateralNet("B", "C", D(80), D(0), "B", "C", D(80)),
        BilateralNet("B", "D", D(0), D(50), "D", "B", D(50)),
    )
    assert r.bilateral_net == D(240)
    # positions = received - paid:
    #   A: 60 + 20 - (100 + 30) = -50    B: 100 + 50 - (80 + 20) = +50
    #   C: 80 + 30 - (60)       = +50    D: 0 - 50               = -50     sum = 0
    assert r.positions == (
        Position("A", "USD", D(130), D(80), D(-50)),
        Position("B", "USD", D(100), D(150), D(50)),
        Position("C", "USD", D(60), D(110), D(50)),
        Position("D", "USD", D(50), D(0), D(-50)),
    )
    # net settlement value = 50 + 50 = 100; efficiency = 1 - 100/340 = 12/17
    # = 0.70588235294117647058823529411|76.. -> 28 significant digits, half-even
    assert r.net == D(100)
    assert str(r.efficiency) == "0.7058823529411764705882352941"
    # bilateral netting alone saves 1 - 240/340 = 5/17
    assert str(r.bilateral_efficiency) == "0.2941176470588235294117647059"
    # cycles: A, B, C reach each other (A<->B, A<->C, A->B->C->A); D only pays in.
    assert [c.participants for c in r.cycles] == [("A", "B", "C")]
    assert r.cycles[0].gross == D(290)  # 340 minus D->B 50
    assert r.simple_cycle_count == 3 and not r.simple_cycles_truncated
    # instructions: two exact opposite pairs of 50; ties go in participant order,
    # payers [A, D] with receivers [B, C]: A->B 50, D->C 50. Bound n-1 = 3.
    assert r.instructions == (
        SettlementInstruction("A", "B", "USD", D(50)),
        SettlementInstruction("D", "C", "USD", D(50)),
    )
    assert r.instruction_count == 2 and r.instruction_bound == 3
    assert not r.settlement_held and r.cap_breaches == ()


def test_caps_flag_a_breach_and_hold_settlement():
    caps = {("A", "USD"): D(40), ("D", "USD"): D(50), ("B", "USD"): D(0), ("A", "EUR"): D(0)}
    r = net_currency(HAND, "USD", caps)
    # A is at -50 against a cap of 40: excess 10. D at exactly -cap is no breach;
    # B is a receiver; the EUR cap is for another currency.
    assert r.cap_breaches == (CapBreach("A", "USD", D(-50), D(40), D(10)),)
    assert r.settlement_held
    # The instructions are still computed, for operations to see.
    assert r.instruction_count == 2


def test_cap_must_be_decimal():
    with pytest.raises(TypeError):
        net_currency(HAND, "USD", {("A", "USD"): 40.0})


def test_exact_pairs_first_saves_a_transfer():
    # payers P 5, Q 4, R 2; receivers X 6, Y 5 (bound n-1 = 4).
    # Largest to largest alone: P->X 5 (X 1 left), Q->Y 4 (Y 1 left), R->X 1, R->Y 1: 4.
    # Pairing P<->Y (5 = 5) first: P->Y 5, then Q->X 4, R->X 2: 3 transfers.
    positions = {"P": D(-5), "Q": D(-4), "R": D(-2), "X": D(6), "Y": D(5)}
    assert settlement_instructions(positions, "EUR") == [
        SettlementInstruction("P", "Y", "EUR", D(5)),
        SettlementInstruction("Q", "X", "EUR", D(4)),
        SettlementInstruction("R", "X", "EUR", D(2)),
    ]


def test_greedy_ties_go_to_the_lowest_id():
    # No equal amounts. Largest payer P 10 pays the largest receiver; X and Y tie
    # at 6, so X (lower id) first: P->X 6, then P's 4 with Y 6 (Y 2 left), Q->Y 2.
    positions = {"Q": D(-2), "P": D(-10), "Y": D(6), "X": D(6)}
    assert settlement_instructions(positions, "EUR") == [
        SettlementInstruction("P", "X", "EUR", D(6)),
        SettlementInstruction("P", "Y", "EUR", D(4)),
        SettlementInstruction("Q", "Y", "EUR", D(2)),
    ]


def test_positions_must_sum_to_zero():
    with pytest.raises(ValueError, match="not zero"):
        settlement_instructions({"A": D(-1), "B": D(2)}, "USD")


def test_nothing_owed_efficiency_zero():
    assert efficiency(D(0), D(0)) == 0
    r = net_currency([], "USD")
    assert (r.gross, r.net, r.efficiency, r.instructions, r.instruction_bound) == (0, 0, 0, (), 0)
    # zero-amount obligations are counted but move nothing
    r = net_currency([ob("A", "B", "0.00")], "USD")
    assert r.obligation_count == 1 and r.gross == 0 and r.efficiency == 0
    assert r.participants == ("A", "B") and r.instructions == ()


def test_fully_netted_cycle_settles_nothing():
    r = net_currency([ob("A", "B", "10"), ob("B", "C", "10"), ob("C", "A", "10")], "USD")
    assert r.gross == 30 and r.net == 0 and r.efficiency == 1
    assert r.instructions == () and r.instruction_bound == 0


def test_cycle_count_is_bounded():
    names = [f"B{i}" for i in range(7)]
    dense = [ob(a, b, "1") for a in names for b in names if a != b]
    r = net_currency(dense, "USD", cycle_limit=50)
    assert r.simple_cycle_count == 50 and r.simple_cycles_truncated
    assert r.cycles[0].participants == tuple(names)
    r = net_currency(dense, "USD", cycle_limit=0)
    assert r.simple_cycle_count == 0 and r.cycles  # components are still reported


def test_no_cycles_in_a_chain():
    r = net_currency([ob("A", "B", "5"), ob("B", "C", "3")], "USD")
    assert r.cycles == () and r.simple_cycle_count == 0


def test_other_currencies_are_skipped_and_net_all_splits():
    rows = HAND + [ob("A", "B", "7.25", "EUR")]
    assert net_currency(rows, "USD") == net_currency(HAND, "USD")
    results = net_all(rows)
    assert list(results) == ["EUR", "USD"]
    assert results["EUR"].instructions == (SettlementInstruction("A", "B", "EUR", D("7.25")),)


def test_aggregate_sums_pairs_and_counts():
    assert aggregate(HAND)[:2] == [
        PairTotal("A", "B", "USD", D(100), 2),
        PairTotal("A", "C", "USD", D(30), 1),
    ]
    # pair totals fed back in keep their counts
    again = aggregate(aggregate(HAND) + aggregate(HAND))
    assert again[0] == PairTotal("A", "B", "USD", D(200), 4)


@pytest.mark.parametrize(
    "args, error",
    [
        (("A", "B", "USD", 1.5), TypeError),
        (("A", "B", "USD", 1), TypeError),
        (("A", "B", "USD", D("-1")), ValueError),
        (("A", "B", "USD", D("NaN")), ValueError),
        (("A", "A", "USD", D("1")), ValueError),
        (("", "B", "USD", D("1")), ValueError),
    ],
)
def test_obligation_rejects(args, error):
    with pytest.raises(error):
        Obligation(*args)


def test_no_rounding_of_long_amounts():
    # 30 significant digits: beyond the default 28-digit context, still exact here.
    big = D("123456789012345678901234.56789")
    r = net_currency([Obligation("A", "B", "USD", big), Obligation("A", "B", "USD", D("0.00001"))], "USD")
    assert r.gross == D("123456789012345678901234.56790")
    assert r.instructions[0].amount == r.gross


def test_imports_without_airflow_or_database():
    code = (
        "import sys; import deltran.clearing, deltran.clearing.pacs009, deltran.clearing.csvnet;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('airflow', 'psycopg', 'sqlalchemy')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- properties

CURRENCIES = ["USD", "EUR", "AED", "JPY", "ILS"]
amounts = st.one_of(
    st.builds(lambda units, digits: D(units).scaleb(-digits), st.integers(0, 10**12), st.integers(0, 5)),
    # a few repeated round amounts, so equal opposite positions and ties happen
    st.sampled_from([D("1"), D("2.50"), D("10"), D("10.00000")]),
)


@st.composite
def obligation_sets(draw) -> list[Obligation]:
    n = draw(st.integers(2, 30))
    names = draw(st.permutations([f"P{i:02d}" for i in range(n)]))
    currencies = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=3, unique=True))
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 2), st.sampled_from(currencies), amounts),
            max_size=150,
        )
    )
    return [Obligation(names[i], names[j if j < i else j + 1], c, a) for i, j, c, a in rows]


@settings(max_examples=200, deadline=None)
@given(obligation_sets())
def test_netting_properties(obligations):
    results = net_all(aggregate(obligations))
    assert set(results) == {o.currency for o in obligations}
    for ccy, r in results.items():
        mine = [o for o in obligations if o.currency == ccy]
        nets = {p.participant: p.net for p in r.positions}
        # positions sum to exactly zero
        assert sum(nets.values(), D(0)) == 0
        # gross is the sum of obligations; gross >= bilateral net >= net >= 0
        assert r.gross == sum((o.amount for o in mine), D(0))
        assert r.gross >= r.bilateral_net >= r.net >= 0
        assert r.net == sum((v for v in nets.values() if v > 0), D(0))
        assert 0 <= r.efficiency <= 1
        # applying the instructions to zero balances reproduces every position
        balance: dict[str, Decimal] = defaultdict(lambda: D(0))
        for i in r.instructions:
            assert i.amount > 0 and i.payer != i.payee and i.currency == ccy
            assert nets[i.payer] < 0 < nets[i.payee]
            balance[i.payer] -= i.amount
            balance[i.payee] += i.amount
        assert dict(balance) == {p: v for p, v in nets.items() if v != 0}
        assert sum((i.amount for i in r.instructions), D(0)) == r.net
        nonzero = sum(1 for v in nets.values() if v != 0)
        assert r.instruction_bound == max(nonzero - 1, 0)
        assert r.instruction_count <= r.instruction_bound
        # deterministic order, no pair twice
        keys = [(i.payer, i.payee) for i in r.instructions]
        assert keys == sorted(set(keys))


@settings(max_examples=100, deadline=None)
@given(obligation_sets(), st.randoms(use_true_random=False))
def test_order_does_not_matter_and_aggregation_is_transparent(obligations, rnd: random.Random):
    shuffled = list(obligations)
    rnd.shuffle(shuffled)
    base = net_all(aggregate(obligations))
    assert net_all(aggregate(shuffled)) == base
    # the printed report is identical text, not only equal numbers
    assert report(net_all(aggregate(shuffled))) == report(base)
    # netting raw obligations == aggregating first, then netting
    assert net_all(shuffled) == base
    assert report(net_all(shuffled)) == report(base)
