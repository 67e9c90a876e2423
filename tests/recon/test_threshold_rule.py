"""One rule for the thresholds: Python, the dbt macros, the GX suite and the marts agree.

Hypothesis draws balances (zero, negative, first funding, on and around every
band boundary) and checks that the level is the same everywhere:

* the Python rule (deltran.recon.levels) and the dbt macros, compiled by dbt
  and evaluated by PostgreSQL;
* the Python rule and what the Great Expectations threshold checkpoint decides;
* on the real marts (files -> ingest -> dbt build -> checkpoint):
  account_reconciliation.threshold_level == the BalanceMismatch severity ==
  the level the checkpoint recorded == the Python rule.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from deltran import config, db
from deltran.recon import levels

THRESHOLDS = config.load().thresholds
CENT = Decimal("0.01")


def _near(base: Decimal, pct: Decimal, nudge: int, sign: int) -> Decimal:
    """base moved by pct % (plus ``nudge`` cents): lands on or next to a band boundary."""
    return (base + sign * (abs(base) * pct / 100)).quantize(CENT) + nudge * CENT


amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
boundaries = st.sampled_from([THRESHOLDS.ok_pct, THRESHOLDS.minor_pct, THRESHOLDS.significant_pct, Decimal(0)])


@st.composite
def balances(draw) -> tuple[Decimal, Decimal]:
    """(bank, ledger): random, zero, negative, first funding, or at a band boundary."""
    kind = draw(st.sampled_from(["random", "zero", "first_funding", "boundary", "negative_ledger"]))
    if kind == "zero":
        return Decimal("0.00"), Decimal("0.00")
    if kind == "first_funding":  # money arrived, the ledger has not minted yet
        return draw(amounts.filter(lambda a: a != 0)), Decimal("0.00")
    ledger = draw(amounts.filter(lambda a: a != 0))
    if kind == "negative_ledger":
        ledger = -abs(ledger)
    if kind in ("boundary", "negative_ledger"):
        bank = _near(ledger, draw(boundaries), draw(st.integers(-1, 1)), draw(st.sampled_from([-1, 1])))
        return bank, ledger
    return draw(amounts), ledger


def test_python_rule_examples():
    t = config.Thresholds(Decimal("0.01"), Decimal("0.05"), Decimal("0.5"))
    assert levels.classify(Decimal("100000.00"), Decimal("100000.00"), t) == "OK"
    assert levels.classify(Decimal("100010.00"), Decimal("100000.00"), t) == "OK"  # exactly 0.01 %: inclusive
    assert levels.classify(Decimal("100010.01"), Decimal("100000.00"), t) == "Minor"
    assert levels.classify(Decimal("100200.00"), Decimal("100000.00"), t) == "Significant"
    assert levels.classify(Decimal("99980.00"), Decimal("100000.00"), t) == "Critical"  # under-backed beyond OK
    assert levels.classify(Decimal("0.00"), Decimal("0.00"), t) == "OK"  # no division by zero
    assert levels.classify(Decimal("500.00"), Decimal("0.00"), t) == "Critical"  # first funding: 100 % apart
    assert levels.classify(None, Decimal("1.00"), t) == "Significant"  # unknown: payouts wait
    assert levels.percentages(Decimal("-90.00"), Decimal("-100.00")) == (Decimal(10), Decimal(0))


@pytest.fixture(scope="module")
def macro_sql(tmp_path_factory):
    """The dbt macros as dbt compiles them, over columns ``bank`` and ``ledger``."""
    import os

    from deltran.warehouse import dbt

    home = tmp_path_factory.mktemp("dbt-compile")
    old = os.environ.get("DELTRAN_HOME")
    os.environ["DELTRAN_HOME"] = str(home)
    try:
        inline = (
            "select {{ threshold_pct('bank - ledger', threshold_base('bank', 'ledger')) }} as difference_pct,"
            " {{ threshold_pct(under_backing('bank - ledger'), threshold_base('bank', 'ledger')) }}"
            " as under_backing_pct,"
            " {{ threshold_level_of('bank - ledger', threshold_base('bank', 'ledger')) }} as level"
        )
        result = dbt.run(["compile", "--inline", inline])
    finally:
        if old is None:
            os.environ.pop("DELTRAN_HOME", None)
        else:
            os.environ["DELTRAN_HOME"] = old
    return result.results[0].node.compiled_code  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def pg():
    with db.connect(autocommit=True) as conn:
        yield conn


@pytest.mark.db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=balances())
def test_dbt_macro_equals_the_python_rule(macro_sql, pg, pair):
    bank, ledger = pair
    difference_pct, under_backing_pct, level = db.one(
        pg.execute(macro_sql + " from (select %s::numeric as bank, %s::numeric as ledger) as input", (bank, ledger))
    )
    expected = levels.percentages(bank, ledger)
    # PostgreSQL divides to ~20 significant digits, Python's context to 28: equal to far below a cent's share
    for got, want in zip((difference_pct, under_backing_pct), expected, strict=True):
        assert abs(got - want) <= abs(want) * Decimal("1e-15"), (got, want)
    assert level == levels.classify(bank, ledger, THRESHOLDS)


@pytest.mark.db
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(balances(), min_size=1, max_size=25))
def test_gx_checkpoint_decides_the_python_rule(tmp_path_factory, pairs):
    from deltran.recon.checks import levels_from_validation
    from expectations import checkpoint

    rows = []
    for n, (bank, ledger) in enumerate(pairs):
        difference_pct, under_backing_pct = levels.percentages(bank, ledger)
        rows.append(
            f"('A{n:03d}', {bank}::numeric, {ledger}::numeric, {difference_pct}::numeric, {under_backing_pct}::numeric)"
        )
    query = (
        "select * from (values " + ", ".join(rows) + ") as t"
        "(account_id, bank_closing_balance, ledger_balance, difference_pct, under_backing_pct)"
    )
    settings_ = config.load()
    home = tmp_path_factory.mktemp("gx")
    settings_ = config.Settings(**{**settings_.__dict__, "home": home})
    result = checkpoint.run_query_checkpoint(
        query, "rule", "property", sqlalchemy_url=db.sqlalchemy_url(), settings=settings_, max_rows=len(rows)
    )
    ((_, validation),) = result.run_results.items()
    accounts = [f"A{n:03d}" for n in range(len(pairs))]
    decided, _ = levels_from_validation(validation, accounts, len(accounts))
    for account, (bank, ledger) in zip(accounts, pairs, strict=True):
        assert decided[account][0] == levels.classify(bank, ledger, THRESHOLDS), (account, bank, ledger)


# --- the real marts ---------------------------------------------------------------------------------------

DAY = date(2026, 11, 20)


def _amount(value: Decimal) -> tuple[str, str]:
    return f"{abs(value):.2f}", ("DBIT" if value < 0 else "CRDT")


def _statement(account: str, bank: Decimal) -> str:
    amount, sign = _amount(bank)
    balance = (
        "<Bal><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp><Amt Ccy='USD'>{amount}</Amt>"
        "<CdtDbtInd>{sign}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )
    return (
        f"<Stmt><Id>S-{account}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>{DAY}T23:00:00Z</CreDtTm>"
        f"<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>USD</Ccy></Acct>"
        + "".join(balance.format(kind=k, amount=amount, sign=sign, day=DAY) for k in ("OPBD", "CLBD"))
        + "</Stmt>"
    )


def _camt053(statements: list[str]) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'><BkToCstmrStmt>"
        f"<GrpHdr><MsgId>EOD-{DAY}</MsgId><CreDtTm>{DAY}T23:00:00Z</CreDtTm></GrpHdr>"
        + "".join(statements)
        + "</BkToCstmrStmt></Document>"
    )


def _ledger(holdings: dict[str, Decimal]) -> str:
    from reliability.files import LEDGER_HEADER

    lines = [LEDGER_HEADER]
    at = f"{DAY}T09:00:00Z"
    for n, (account, amount) in enumerate(sorted(holdings.items())):
        legs = [amount] if amount != 0 else [Decimal("1.00"), Decimal("-1.00")]  # zero: in and out again
        for k, leg in enumerate(legs):
            value, _ = _amount(leg)
            side, other = ("D", "C") if leg > 0 else ("C", "D")
            lines.append(f"o{n}_{k},open{n}_{k},{account},{value},USD,{side},{at},{DAY},opening,,,,\n")
            lines.append(f"c{n}_{k},open{n}_{k},LIAB:CLIENT:USD,{value},USD,{other},{at},{DAY},opening,,,,\n")
    return "".join(lines)


@pytest.mark.slow
@settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a dbt build; the failure prints in full
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pairs=st.lists(balances(), min_size=6, max_size=12))
def test_marts_severity_checkpoint_and_python_agree(warehouse_url, register_accounts, pairs, request):
    from deltran import ingest, pipeline

    example = request.node.name  # one registry and inbox per example: each builds its own warehouse state
    accounts = {f"ACC-{n:02d}": pair for n, pair in enumerate(pairs)}
    register_accounts(dict.fromkeys(accounts, "USD"))
    settings_ = config.load()
    with db.connect() as conn:  # a clean slate for this example
        conn.execute("truncate raw.ingested_files cascade")
    settings_.inbox.mkdir(parents=True, exist_ok=True)
    (settings_.inbox / "camt053.xml").write_text(_camt053([_statement(a, b) for a, (b, _) in accounts.items()]))
    (settings_.inbox / "ledger.csv").write_text(_ledger({a: ledger for a, (_, ledger) in accounts.items()}))
    outcomes = ingest.ingest_inbox(settings_)
    assert {o.status for o in outcomes} == {"loaded"}, example
    pipeline.build_marts(settings_, select="+discrepancies +statement_checks")
    checked = pipeline.check_thresholds(DAY, f"rule-{len(pairs)}", settings_)

    with db.connect() as conn:
        mart = dict(
            conn.execute(
                "select account_id, threshold_level from marts.account_reconciliation where business_date = %s",
                (DAY,),
            )
        )
        severity = dict(
            conn.execute(
                "select account_id, severity from marts.discrepancies"
                " where business_date = %s and discrepancy_type = 'BalanceMismatch'",
                (DAY,),
            )
        )
    python = {a: levels.classify(bank, ledger, THRESHOLDS) for a, (bank, ledger) in accounts.items()}
    assert mart == python
    assert checked["levels"] == python
    # nothing explains any difference here: a BalanceMismatch carries the account's own level, and an OK
    # difference is no break
    assert severity == {a: level for a, level in python.items() if level != "OK"}
