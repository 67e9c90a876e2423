-- One row per interbank customer credit transfer (pacs.008 CdtTrfTxInf). The
-- same transfer received twice (a re-sent file) is kept once, the latest file
-- winning. received_at is when its file was loaded: late-arrival rules use it.
with transfers as (
    select
        p.*,
        f.loaded_at,
        coalesce(lower(nullif(p.uetr, '')), md5(concat_ws('|', p.message_id, p.tx_id, p.end_to_end_id, p.instr_id))) as transfer_id
    from {{ source('raw', 'payments') }} as p
    inner join {{ source('raw', 'ingested_files') }} as f on f.file_id = p.file_id
    where p.message_type = 'pacs.008'
),

ranked as (
    select *, row_number() over (partition by transfer_id order by file_id desc) as version_rank
    from transfers
)

select
    transfer_id,
    message_id,
    instr_id,
    nullif(nullif(end_to_end_id, ''), 'NOTPROVIDED') as end_to_end_id,
    tx_id,
    lower(nullif(uetr, ''))                         as uetr,
    amount,
    currency,
    settlement_date,
    coalesce(accepted_at, created_at)               as accepted_at,
    debtor_agent_bic,
    creditor_agent_bic,
    -- the participant clearing nets by: the BIC, else the clearing-system member id
    -- ('USABA:021000021'), else the LEI or other id (parsers.values.participant)
    coalesce(debtor_agent, debtor_agent_bic)     as debtor_agent_id,
    coalesce(creditor_agent, creditor_agent_bic) as creditor_agent_id,
    loaded_at                                       as received_at,
    file_id
from ranked
where version_rank = 1
