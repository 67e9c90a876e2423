-- Tier 2's drift from the data as of the previous scheduled cut-off (issue 7).
-- Revision 0009; idempotent. The column notes of 50_tiers.sql still say "the
-- day's previous check": since this revision a cut-off's drift no longer reads
-- the stored checks, so a backfill gives what the live run gave. The database
-- carries the rule where analysts and psql's \d+ see it.
comment on column tiers.intraday_checks.previous_cutoff_at is
    'the scheduled cut-off 30 minutes before this one (none for 00:00), whether a check ran then or not';
comment on column tiers.intraday_checks.drift is
    'difference - the difference at previous_cutoff_at, both computed from the data as of each moment';
comment on column tiers.intraday_checks.day_max_abs_difference is
    'the largest |difference| at the day''s scheduled cut-offs from 00:00 through this one';
