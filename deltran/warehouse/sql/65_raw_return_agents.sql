-- A return (pacs.004) carries its own agents: the participants it moves money
-- between, read from the return itself (parsers.payments), the original payment's
-- only where the return names none. Revision 0005; idempotent.
alter table raw.payment_returns
    add column if not exists instructing_agent   text,
    add column if not exists instructed_agent    text,
    add column if not exists debtor_agent_name   text,
    add column if not exists creditor_agent_name text;
