-- One row per interbank customer credit transfer (pacs.008 CdtTrfTxInf), by
-- payment identity (DOMAIN.md): the UETR, else the instructing agent + MsgId +
-- TxId (or EndToEndId). The same payment delivered again, in a re-sent file
-- (other whitespace, a new MsgId with the same UETR), is the same transfer_id
-- and is kept once: the FIRST delivery wins, with its amount and arrival time,
-- so a re-send can never look like a new or a late payment. copies_received
-- says how often it came. received_at is when its first file was loaded.
with transfers as (
    select
        p.*,
        f.loaded_at,
        coalesce(
            lower(btrim(nullif(btrim(p.uetr), ''))),
            md5(concat_ws(
                '|',
                coalesce(btrim(p.instructing_agent_bic), btrim(p.debtor_agent_bic)),
                btrim(p.message_id),
                coalesce(
                    nullif(btrim(p.tx_id), ''),
                    nullif(nullif(btrim(p.end_to_end_id), ''), 'NOTPROVIDED'),
                    btrim(p.instr_id)
                )
            ))
        ) as transfer_id
    from {{ source('raw', 'payments') }} as p
    inner join {{ source('raw', 'ingested_files') }} as f on f.file_id = p.file_id
    where p.message_type = 'pacs.008'
),

ranked as (
    select
        *,
        row_number() over (partition by transfer_id order by file_id) as delivery_rank,
        count(*) over (partition by transfer_id)                      as copies_received
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
    copies_received,
    file_id
from ranked
where delivery_rank = 1
