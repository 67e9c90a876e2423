-- One row per payment return (pacs.004 TxInf), by return identity: the
-- instructing agent + RtrId (else MsgId) + the original payment it returns.
-- A return delivered again in another file is kept once, the first delivery
-- winning, so it is never cleared twice. received_at is when its first file was loaded.
with returns as (
    select
        r.*,
        f.loaded_at,
        md5(concat_ws(
            '|',
            btrim(r.instructing_agent_bic),
            coalesce(nullif(btrim(r.return_id), ''), btrim(r.message_id)),
            coalesce(
                lower(nullif(btrim(r.original_uetr), '')), btrim(r.original_tx_id), btrim(r.original_end_to_end_id)
            )
        )) as return_key
    from {{ source('raw', 'payment_returns') }} as r
    inner join {{ source('raw', 'ingested_files') }} as f on f.file_id = r.file_id
    where r.message_type = 'pacs.004'
),

ranked as (
    select *, row_number() over (partition by return_key order by file_id) as delivery_rank
    from returns
)

select
    return_key,
    message_id,
    return_id,
    created_at,
    original_message_id,
    original_instr_id,
    nullif(nullif(original_end_to_end_id, ''), 'NOTPROVIDED') as original_end_to_end_id,
    original_tx_id,
    lower(nullif(original_uetr, ''))                         as original_uetr,
    returned_amount,
    currency,
    settlement_date,
    reason_code,
    instructing_agent_bic,
    instructed_agent_bic,
    -- participant keys (parsers.values.participant): the BIC, else the clearing-system
    -- member id ('USABA:021000021'), else the LEI or other id. debtor/creditor: the
    -- return's own agents (RtrChain), else the original's from OrgnlTxRef, swapped
    coalesce(debtor_agent, debtor_agent_bic)             as debtor_agent_id,
    coalesce(creditor_agent, creditor_agent_bic)         as creditor_agent_id,
    coalesce(instructing_agent, instructing_agent_bic)   as instructing_agent_id,
    coalesce(instructed_agent, instructed_agent_bic)     as instructed_agent_id,
    debtor_agent_name,
    creditor_agent_name,
    loaded_at                                                as received_at,
    file_id
from ranked
where delivery_rank = 1
