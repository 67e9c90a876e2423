-- depends_on: {{ ref('int_matches__references_scope') }}
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
--
-- The items it leaves alone now need no search of the history: outside its
-- scope the references pass kept last run's pairs, so an item there that it
-- leaves alone now it left alone then, and the last run's state of it says
-- so (match_pass is 'references' only for a references pair). Inside its
-- scope, every item is listed anyway. So this list holds every item the
-- later passes may pair (int_matches__batch_sum and int_matches__suggested
-- read only these in a daily run, macros/daily_partition.sql).
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
-- the items the references pass left alone in the last run (and, outside its
-- scope, leaves alone now)
select 'bank', s.bank_entry_id
from {{ states }} as s
where s.bank_entry_id is not null and s.match_pass is distinct from 'references'
union
select 'ledger', s.ledger_entry_id
from {{ states }} as s
where s.ledger_entry_id is not null and s.match_pass is distinct from 'references'
{% endif %}
