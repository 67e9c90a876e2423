"""Deterministic demo data: a business day of ledger, bank and interbank files with known faults."""

from .generator import INTENDED_LEVELS, generate_day, generate_days, level
from .manifest import DemoManifest

__all__ = ["INTENDED_LEVELS", "DemoManifest", "generate_day", "generate_days", "level"]
