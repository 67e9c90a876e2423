"""Clearing: windows, multilateral netting and pacs.009 settlement instructions.

Pure logic over plain data: no Airflow, no database. The warehouse aggregates
obligations per (debtor, creditor, currency) in SQL and hands the pair totals
to ``net_currency``; ``aggregate`` does the same in Python for files and tests.
"""

from .netting import (
    BilateralNet,
    CapBreach,
    CycleComponent,
    NettingResult,
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
from .windows import NaiveDatetimeError, window_bounds, window_closing, window_label

__all__ = [
    "BilateralNet",
    "CapBreach",
    "CycleComponent",
    "NaiveDatetimeError",
    "NettingResult",
    "Obligation",
    "PairTotal",
    "Position",
    "SettlementInstruction",
    "aggregate",
    "efficiency",
    "net_all",
    "net_currency",
    "settlement_instructions",
    "window_bounds",
    "window_closing",
    "window_label",
]
