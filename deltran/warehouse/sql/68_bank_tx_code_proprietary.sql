-- ISO 20022 readers, second round (issue 11). Revision 0008; idempotent.

-- The proprietary bank transaction code (BkTxCd/Prtry/Cd) and its issuer
-- (Prtry/Issr: ZKA, SWIFT, a bank's own list) are kept beside a domain code
-- (bank_tx_code keeps Domn/Cd/Fmly/Cd/SubFmlyCd, else Prtry/Cd as before), on
-- the entry and on its transaction details (tx_*). Empty on rows loaded before.
alter table raw.bank_entries
    add column if not exists bank_tx_code_proprietary    text,
    add column if not exists bank_tx_code_issuer         text,
    add column if not exists tx_bank_tx_code_proprietary text,
    add column if not exists tx_bank_tx_code_issuer      text;
