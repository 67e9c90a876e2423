-- depends_on: {{ ref('int_matches__references_scope') }}
-- depends_on: {{ ref('int_matches__references') }}
-- depends_on: {{ ref('int_bank_movements_numbered') }}
-- depends_on: {{ ref('int_ledger_postings_numbered') }}
{{ config(post_hook='analyze {{ this }}') }}
-- The movements and postings whose final state (int_bank_entries_matched_to_ledger)
-- a daily run decides again; every other item keeps its row. Empty outside a
-- daily run (a build of every date decides everything); one row ('all') in a
-- daily run with no earlier rows to keep (a first build, --full-refresh).
--
-- Why this is exact: an item's state is its references pair, else what the
-- later passes (batch sums, suggested and manual pairs, the ledger's own
-- reversals) and the in-flight rule make of the items the references pass
-- left. So a run decides again the references pass's scope (whose pairs it
-- decided again, int_matches__references_scope) and every item the
-- references pass leaves alone, now or in the last run (their later passes,
-- and the in-flight rule, which moves with the statements' coverage). Those
-- are the breaks and the unmatched: few, whatever the history.
{% set since = daily_restate_from() %}
{% set states = adapter.get_relation(database=target.database, schema=this.schema,
                                     identifier='int_bank_entries_matched_to_ledger') if execute else none %}
{% if since is none %}
    select null::text as side, null::text as item_id
    where false
{% elif states is none or flags.FULL_REFRESH %}
-- a daily run with no earlier states to keep decides every item: one row says so
select 'all' as side, null::text as item_id
{% else %}
-- the references pass's scope ('all' when it decided everything this run)
select side, item_id from {{ ref('int_matches__references_scope') }}
union
-- the items the references pass leaves alone now
select 'bank', b.bank_entry_id
from {{ ref('int_bank_movements_numbered') }} as b
where not exists (select 1 from {{ ref('int_matches__references') }} as p where p.bank_entry_id = b.bank_entry_id)
union
select 'ledger', l.ledger_entry_id
from {{ ref('int_ledger_postings_numbered') }} as l
where not exists (select 1 from {{ ref('int_matches__references') }} as p where p.ledger_entry_id = l.ledger_entry_id)
union
-- the items the references pass left alone in the last run
select 'bank', s.bank_entry_id
from {{ states }} as s
where s.bank_entry_id is not null and s.match_pass is distinct from 'references'
union
select 'ledger', s.ledger_entry_id
from {{ states }} as s
where s.ledger_entry_id is not null and s.match_pass is distinct from 'references'
{% endif %}
