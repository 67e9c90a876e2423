-- One row per payment return (pacs.004 TxInf). received_at is when its file was loaded.
select
    md5(concat_ws('|', r.message_id, r.return_id, r.original_uetr, r.original_end_to_end_id)) as return_key,
    r.message_id,
    r.return_id,
    r.created_at,
    r.original_message_id,
    r.original_instr_id,
    nullif(nullif(r.original_end_to_end_id, ''), 'NOTPROVIDED') as original_end_to_end_id,
    r.original_tx_id,
    lower(nullif(r.original_uetr, ''))                         as original_uetr,
    r.returned_amount,
    r.currency,
    r.settlement_date,
    r.reason_code,
    r.instructing_agent_bic,
    r.instructed_agent_bic,
    f.loaded_at                                                as received_at,
    r.file_id
from {{ source('raw', 'payment_returns') }} as r
inner join {{ source('raw', 'ingested_files') }} as f on f.file_id = r.file_id
where r.message_type = 'pacs.004'
