-- One row per end-of-day statement (camt.053 Stmt) per account. A statement the
-- bank sends again in another file is kept once: the latest file wins, and
-- copies_received says how often it came (continuity checks use it).
with statements as (
    select
        s.*,
        row_number() over (partition by s.account, s.statement_id order by s.file_id desc) as version_rank,
        count(*) over (partition by s.account, s.statement_id)                              as copies_received
    from {{ source('raw', 'bank_statements') }} as s
    where s.message_type = 'camt.053'
)

select
    statement_id,
    message_id,
    account                 as account_id,
    account_currency        as currency,
    servicer_bic,
    created_at,
    from_at,
    to_at,
    electronic_seq_nb,
    legal_seq_nb,
    copies_received,
    file_id
from statements
where version_rank = 1
