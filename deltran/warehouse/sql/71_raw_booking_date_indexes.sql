-- A daily run reads the rows of the dates it restates, not the history (issue 7).
-- Revision 0010; idempotent. The incremental models numbered by booking date
-- (int_bank_movements_numbered, int_ledger_postings_numbered) and the ledger
-- balances select through the staging views with a filter on the booking date;
-- these indexes are on the very expressions those views compute it by
-- (stg_bank__statement_entries, stg_ledger__journal_lines), so the filter reads
-- the restated days' rows instead of scanning every day loaded.
create index if not exists bank_entries_booking_date_idx
    on raw.bank_entries ((coalesce(booking_date, (booking_date_time at time zone 'UTC')::date)));
create index if not exists ledger_lines_booking_date_idx
    on raw.ledger_lines (((booked_at at time zone 'UTC')::date));
