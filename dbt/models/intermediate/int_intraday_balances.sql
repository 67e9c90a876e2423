{{ config(materialized='view') }}
-- One row per tier-2 check (registry account and cut-off) in tiers.intraday_checks:
-- its bank and ledger balances computed again by the cut-off rule, the macro
-- balances_at_cutoffs that deltran.recon.tiers runs for every check (so the rule's
-- dbt unit tests hold what tier 2 computes, and any stored check can be explained).
-- A view: computed only when read.
{{ balances_at_cutoffs(
    targets="select distinct account_id, cutoff_at from " ~ source('tiers', 'intraday_checks'),
    settling="interval '" ~ var('intraday_settling_minutes') ~ " minutes'",
    accounts="array(select distinct account_id from " ~ source('tiers', 'intraday_checks') ~ ")",
    bank_statements=source('raw', 'bank_statements'),
    bank_balances=source('raw', 'bank_balances'),
    bank_entries=source('raw', 'bank_entries'),
    ledger_lines=source('raw', 'ledger_lines'),
) }}
