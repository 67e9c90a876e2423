-- A daily run checks the journals its restated dates touch, each with all its
-- lines (ledger_consistency, assert_journals_balance; macro journal_lines_to_check):
-- those lines are found by journal, not by scanning every line loaded (issue 7).
-- Revision 0011; idempotent.
create index if not exists ledger_lines_journal_idx on raw.ledger_lines (journal_id);
