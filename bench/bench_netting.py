"""Benchmark of the pure clearing core (no database): aggregation and netting.

    python bench/bench_netting.py [--obligations 1000000] [--participants 50] [--currencies 5] [--seed 20250310]

Generates obligations with a fixed seed (amounts in minor units as exact
Decimals: cents, whole yen),
then times
  (a) aggregating the raw obligations per (debtor, creditor, currency) in Python,
  (b) netting from the pair totals, every currency, instructions included:
      what runs after the warehouse has aggregated in SQL; at most n*(n-1)
      edges per currency, so it takes milliseconds whatever the volume;
  (c) for comparison, netting the raw obligations directly.
The database part (SQL aggregation) is timed elsewhere.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deltran.clearing import Obligation, aggregate, net_all

CURRENCIES = ["USD", "EUR", "AED", "ILS", "JPY", "GBP", "CHF", "SGD"]
MINOR_UNITS = {"JPY": 0}


def generate(n_obligations: int, n_participants: int, n_currencies: int, seed: int) -> list[Obligation]:
    rnd = random.Random(seed)
    banks = [f"BANK{i:02d}XXX" for i in range(n_participants)]
    currencies = CURRENCIES[:n_currencies]
    out = []
    for _ in range(n_obligations):
        debtor, creditor = rnd.sample(banks, 2)
        currency = rnd.choice(currencies)
        digits = MINOR_UNITS.get(currency, 2)
        units = rnd.randrange(1, 10_000_000)  # 0.01 .. 99,999.99 (JPY 1 .. 9,999,999)
        out.append(Obligation(debtor, creditor, currency, Decimal(units).scaleb(-digits)))
    return out


def timed(fn, *args, repeat: int = 1, **kwargs):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--obligations", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=50)
    parser.add_argument("--currencies", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250310)
    parser.add_argument("--skip-raw", action="store_true", help="skip (c), netting raw obligations")
    args = parser.parse_args(argv)

    t_gen, obligations = timed(generate, args.obligations, args.participants, args.currencies, args.seed)
    print(
        f"generated {len(obligations):,} obligations, {args.participants} participants, "
        f"{args.currencies} currencies (seed {args.seed}) in {t_gen:.2f} s"
    )

    t_agg, pairs = timed(aggregate, obligations)
    print(
        f"(a) aggregate in Python: {t_agg * 1000:,.0f} ms -> {len(pairs):,} pair totals "
        f"({len(obligations) / t_agg:,.0f} obligations/s)"
    )

    t_net, results = timed(net_all, pairs, repeat=5)
    t_net_nocyc, _ = timed(net_all, pairs, repeat=5, cycle_limit=0)
    print(
        f"(b) net from pair totals, {len(results)} currencies, with instructions: "
        f"{t_net * 1000:,.1f} ms (best of 5; {t_net_nocyc * 1000:,.1f} ms without counting simple cycles)"
    )
    for ccy, r in results.items():
        print(
            f"    {ccy}: {r.obligation_count:,} obligations, gross {r.gross:,}, net {r.net:,}, "
            f"efficiency {r.efficiency:.4%}, bilateral {r.bilateral_efficiency:.4%}, "
            f"{r.instruction_count} instructions (bound {r.instruction_bound}), "
            f"{len(r.cycles)} cyclic component(s), simple cycles "
            f"{'>= ' if r.simple_cycles_truncated else ''}{r.simple_cycle_count}"
        )

    if not args.skip_raw:
        t_raw, raw = timed(net_all, obligations)
        assert raw == results, "netting raw obligations must equal netting pair totals"
        print(f"(c) net raw obligations directly (no aggregation): {t_raw * 1000:,.0f} ms, same result")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
