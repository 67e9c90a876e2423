-- Each raw row's place in its file is unique: a ledger line by its line number,
-- a statement movement by statement, account, entry and detail position. The
-- staging views' grain rests on it (stg_ledger__journal_lines keeps each
-- entry's row of the latest (file, line); stg_bank__statement_entries names a
-- movement by account, statement and position, from one file per statement),
-- so the database holds it when a file is loaded (a file breaking it is
-- quarantined, the rest goes on) instead of a data test reading every row of
-- the history in each daily run (issue 7). The readers number the rows, so no
-- file loaded before can break it.
-- Revision 0012; idempotent.
create unique index if not exists ledger_lines_position_key on raw.ledger_lines (file_id, line_number);
create unique index if not exists bank_entries_statement_position_key
    on raw.bank_entries (file_id, statement_id, account, entry_index, detail_index) nulls not distinct
    where message_type = 'camt.053';
