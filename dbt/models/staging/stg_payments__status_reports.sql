-- One row per payment status (pacs.002 TxInfAndSts, or the group status).
select
    message_id,
    created_at,
    original_message_id,
    original_message_type,
    original_instr_id,
    nullif(nullif(original_end_to_end_id, ''), 'NOTPROVIDED') as original_end_to_end_id,
    original_tx_id,
    lower(nullif(original_uetr, ''))                         as original_uetr,
    status,
    reason_code,
    reason_text,
    file_id
from {{ source('raw', 'payment_statuses') }}
where message_type = 'pacs.002'
