"""Great Expectations suites and checkpoints as code (GX Core 1.x).

* :mod:`expectations.threshold_suite`: the four threshold levels of DOMAIN.md as
  one expectation per band boundary, each naming in its ``meta`` the level a
  failing row means; thresholds from :mod:`deltran.config`.
* :mod:`expectations.checkpoint`: the ephemeral context, the daily batch of
  ``marts.account_reconciliation``, the validation definition and the
  checkpoint with its Data Docs action.

:func:`deltran.recon.checks.run_threshold_checks` runs it and turns the result
into levels, rows in ``control.threshold_checks`` and breaker actions.
"""

import logging

# GX's public-API registry (bookkeeping for GX's own API docs) logs at INFO each
# function it skips, again for every context built: about 200 lines of
# "Skipping registering function ... because it is a closure" per check, in
# every task log. They say nothing about the run; GX's warnings still show.
logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
