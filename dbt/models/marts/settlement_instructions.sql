-- One row per settlement instruction of a clearing window and currency: the
-- payer transfers amount to the payee. Together they settle every net position.
select
    window_closing,
    currency,
    sequence as instruction_sequence,
    payer,
    payee,
    amount
from {{ source('clearing', 'instructions') }}
