"""DelTran: payment clearing and ledger-vs-bank reconciliation."""
