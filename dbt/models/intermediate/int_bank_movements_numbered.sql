{{ config(pre_hook="set local enable_nestloop = off", post_hook='analyze {{ this }}',
          indexes=[{'columns': ['bank_entry_id']}, {'columns': ['uetr']}, {'columns': ['end_to_end_id']}, {'columns': ['acct_svcr_ref']}, {'columns': ['booking_date']}]) }}
-- (The indexes: a daily run's references scope looks items up by id, reference
-- and date, int_matches__references_scope.)
-- (No nested loop: the staging views estimate a few rows where there are millions,
-- and a nested loop over them is quadratic: 1e8 comparisons at 100,000 entries.)
-- One row per booked bank movement on an EMI account, numbered within its
-- transaction key and amount: copy_number 2 and up are the same transaction
-- booked again (instalments of other amounts under one EndToEndId are not copies).
-- Its own table (analyzed) so the matching joins plan on real row counts.
--
-- bank_movement_key names the movement by what the bank said about it (account,
-- currency, direction, amount, booking date, AcctSvcrRef, NtryRef, UETR,
-- EndToEndId) and, for identical twins, their order: unlike bank_entry_id
-- (statement id and position) it survives the same statement delivered again
-- under another Stmt/Id, page split or file. A person's match decisions
-- (control.match_decisions) and match_id hang on it. Change it only together
-- with the backfill in warehouse/sql/50_match_decisions.sql.
select
    e.*,
    md5(concat_ws(
        '|',
        e.account_id, e.currency, e.credit_debit, trim_scale(e.amount), e.booking_date,
        coalesce(e.acct_svcr_ref, ''), coalesce(e.entry_ref, ''), coalesce(e.uetr, ''), coalesce(e.end_to_end_id, ''),
        row_number()
            over (
                partition by
                    e.account_id, e.currency, e.credit_debit, e.amount, e.booking_date,
                    e.acct_svcr_ref, e.entry_ref, e.uetr, e.end_to_end_id
                order by e.statement_id, e.entry_index, e.detail_index
            )
    )) as bank_movement_key,
    coalesce(e.value_date, e.booking_date) as effective_value_date,
    case when coalesce(e.uetr, e.end_to_end_id) is null then 1 else
            row_number() over (
                partition by e.account_id, e.currency, e.credit_debit, coalesce(e.uetr, e.end_to_end_id), e.amount
                order by e.booking_date, e.statement_id, e.entry_index, e.detail_index
            )
    end as copy_number
from {{ ref('stg_bank__statement_entries') }} as e
where coalesce(e.status, 'BOOK') = 'BOOK'
