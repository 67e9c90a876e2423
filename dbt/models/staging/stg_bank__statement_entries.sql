-- One row per booked movement of a kept end-of-day statement: per Ntry, or per
-- TxDtls of a batch-booked Ntry. bank_entry_id names the movement by account,
-- statement and position, not by the file that delivered it: stable across
-- re-runs and across a re-sent statement.
select
    md5(concat_ws('|', e.account, e.statement_id, e.entry_index, e.detail_index)) as bank_entry_id,
    e.statement_id,
    e.account                                                                     as account_id,
    e.entry_ref,
    e.entry_index,
    e.detail_index,
    e.amount,
    e.currency,
    e.credit_debit,
    case e.credit_debit when 'CRDT' then e.amount else -e.amount end              as signed_amount,
    e.entry_amount,
    e.detail_count,
    e.status,
    coalesce(e.booking_date, (e.booking_date_time at time zone 'UTC')::date)      as booking_date,
    e.value_date,
    coalesce(e.tx_acct_svcr_ref, e.acct_svcr_ref)                                 as acct_svcr_ref,
    lower(nullif(e.uetr, ''))                                                     as uetr,
    nullif(nullif(e.end_to_end_id, ''), 'NOTPROVIDED')                            as end_to_end_id,
    e.is_reversal,
    e.bank_tx_code,
    -- BkTxCd/Prtry/Cd and its issuer, kept beside a domain code (bank_tx_code)
    e.bank_tx_code_proprietary,
    e.bank_tx_code_issuer,
    -- the other party of the movement: who paid in (CRDT), who was paid (DBIT)
    nullif(case e.credit_debit when 'CRDT' then e.debtor_name else e.creditor_name end, '') as counterparty_name,
    -- RmtInf/Strd/CdtrRefInf/Ref (RF..., as printed or not): no spaces, upper case, as the ledger's
    nullif(upper(replace(e.creditor_reference, ' ', '')), '')                       as creditor_reference,
    e.file_id
from {{ source('raw', 'bank_entries') }} as e
inner join {{ ref('stg_bank__statements') }} as s
    on s.statement_id = e.statement_id
    and s.account_id is not distinct from e.account
    and s.file_id = e.file_id
where e.message_type = 'camt.053'
