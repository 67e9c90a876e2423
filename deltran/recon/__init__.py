"""Reconciliation controls: threshold checks (Great Expectations) and the circuit breaker.

* :mod:`deltran.recon.checks`: ``run_threshold_checks(business_date, run_id)``
  runs the GX checkpoint of :mod:`expectations` on one business date of
  ``marts.account_reconciliation``, records the level of every account and
  applies it to the breaker.
* :mod:`deltran.recon.breaker`: breaker and payout-suspension state in the
  ``control`` schema; ``reset``, ``open_network``, ``status`` for the CLI.

Importing this package does not import Great Expectations (``checks`` does so
only when a check runs).
"""
