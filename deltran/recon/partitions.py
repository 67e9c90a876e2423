"""The daily marts' partitions: which business dates a daily run (re)builds, and the record of it.

A daily run for business date D rebuilds D's rows of the daily marts
(``account_reconciliation``, ``int_ledger_balances_daily``: dbt incremental
models, delete+insert by ``business_date``), not the whole history. A file
loaded since the last build may change an earlier day: a late statement, a
re-exported ledger entry, a counterpart that now matches an entry of an earlier
day, a new copy of an earlier transaction. The earliest date such a file
touches (its own rows' dates, those of every other row sharing an entry id,
UETR or EndToEndId) is where the change starts: the rows dated by their own
date (movements, postings, statements, journals) are rebuilt from there on.
Every already-built business date from there on, less the value-date
tolerance (a match without a shared reference pairs across it), is restated
in the same run (ledger balances and the explained difference are
cumulative, so the days after it change too). A person's decision on a match
(control.match_decisions) since the last build restates the day of its entries
the same way, and each restatement is
recorded in ``tiers.daily_builds`` with its reason. The snapshot
``marts.eod_account_snapshots`` (``dbt build`` runs it after the marts)
keeps the figures a restatement replaced.

Pure planning over SQL; :func:`deltran.pipeline.build_marts` runs dbt with
the plan's dates (``dbt.run(partition_dates=...)``) and then :func:`record`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg

# The earliest business date each file loaded after ``%(through)s`` touches,
# and the dates of the rows it may change.
_TOUCHED = """
with new_files as (
    select file_id, file_name from raw.ingested_files where file_id > %(through)s
),

new_bank as (
    select e.file_id, coalesce(e.booking_date, (e.booking_date_time at time zone 'UTC')::date) as touched,
        lower(nullif(e.uetr, '')) as uetr,
        nullif(nullif(e.end_to_end_id, ''), 'NOTPROVIDED') as end_to_end_id
    from raw.bank_entries as e where e.file_id in (select file_id from new_files)
),

new_ledger as (
    select l.file_id, (l.booked_at at time zone 'UTC')::date as touched, l.entry_id,
        lower(nullif(l.uetr, '')) as uetr, nullif(nullif(l.end_to_end_id, ''), 'NOTPROVIDED') as end_to_end_id
    from raw.ledger_lines as l where l.file_id in (select file_id from new_files)
),

new_keys as (
    select file_id, uetr, end_to_end_id from new_bank
    union
    select file_id, uetr, end_to_end_id from new_ledger
),

touched as (
    select file_id, touched from new_bank
    union all
    select file_id, touched from new_ledger
    union all  -- statements: their dates, and their balances' dates
    select s.file_id, least((s.to_at at time zone 'UTC')::date, (s.created_at at time zone 'UTC')::date)
    from raw.bank_statements as s where s.file_id in (select file_id from new_files)
    union all
    select b.file_id, coalesce(b.date, (b.date_time at time zone 'UTC')::date)
    from raw.bank_balances as b where b.file_id in (select file_id from new_files)
    union all  -- an entry exported again: its earlier versions' dates
    select n.file_id, (l.booked_at at time zone 'UTC')::date
    from new_ledger as n inner join raw.ledger_lines as l on l.entry_id = n.entry_id
    union all  -- a statement sent again: the entries of its earlier versions, which it replaces
    select s.file_id, coalesce(e.booking_date, (e.booking_date_time at time zone 'UTC')::date)
    from raw.bank_statements as s
    inner join raw.bank_statements as earlier
        on earlier.statement_id = s.statement_id and earlier.account is not distinct from s.account
        and earlier.file_id <> s.file_id
    inner join raw.bank_entries as e
        on e.file_id = earlier.file_id and e.statement_id = earlier.statement_id
        and e.account is not distinct from earlier.account
    where s.file_id in (select file_id from new_files)
    union all  -- every row sharing a UETR or an EndToEndId: counterparts and copies
    select k.file_id, coalesce(e.booking_date, (e.booking_date_time at time zone 'UTC')::date)
    from new_keys as k inner join raw.bank_entries as e on lower(nullif(e.uetr, '')) = k.uetr
    union all
    select k.file_id, coalesce(e.booking_date, (e.booking_date_time at time zone 'UTC')::date)
    from new_keys as k inner join raw.bank_entries as e on e.end_to_end_id = k.end_to_end_id
    union all
    select k.file_id, (l.booked_at at time zone 'UTC')::date
    from new_keys as k inner join raw.ledger_lines as l on lower(nullif(l.uetr, '')) = k.uetr
    union all
    select k.file_id, (l.booked_at at time zone 'UTC')::date
    from new_keys as k inner join raw.ledger_lines as l on l.end_to_end_id = k.end_to_end_id
),

earliest as (
    select file_id, min(touched) as earliest from touched group by file_id
)

select f.file_id, f.file_name, e.earliest
from new_files as f
left join earliest as e on e.file_id = f.file_id
order by f.file_id
"""
# When the new files are a small part of the raw rows (a day on a history), run
# without hash or merge joins: the planner cannot count the new files' rows (it
# took 37,000 new keys for 4,000) and joined them to every raw row by hash, 0.48 s
# at 30 demo days and growing with them; by index lookups per key, 0.10 s. When
# they are most of it (a first load), hashing is the cheaper plan and stays: an
# index lookup costs about ten times a hashed row here (NEW_SHARE_DIVISOR).
_BY_INDEX = ("set local enable_hashjoin = off", "set local enable_mergejoin = off")
NEW_SHARE_DIVISOR = 10  # by index when the new rows are under a tenth of the raw rows
# The new files' rows (by the file index) and the rows already there (the tables'
# statistics: row counts, whole numbers here, so no float reaches Python).
_NEW_SHARE = """
select
    (select count(*) from raw.bank_entries where file_id > %(through)s)
    + (select count(*) from raw.ledger_lines where file_id > %(through)s),
    (select greatest(reltuples, 0)::bigint from pg_class where oid = 'raw.bank_entries'::regclass)
    + (select greatest(reltuples, 0)::bigint from pg_class where oid = 'raw.ledger_lines'::regclass)
"""


# A first build (nothing built yet: no date to restate) reads every raw row as new, so the
# earliest date _TOUCHED would give is the earliest date any raw row carries: its key joins
# (every new key against every raw row) can only find rows counted already, and cost 18 s
# of a first build at a million entries. The same date expressions as _TOUCHED's.
_EARLIEST_ROW = """
select
    (select max(file_id) from raw.ingested_files),
    least(
        (select min(coalesce(e.booking_date, (e.booking_date_time at time zone 'UTC')::date)) from raw.bank_entries as e),
        (select min((l.booked_at at time zone 'UTC')::date) from raw.ledger_lines as l),
        (select min(least((s.to_at at time zone 'UTC')::date, (s.created_at at time zone 'UTC')::date))
         from raw.bank_statements as s),
        (select min(coalesce(b.date, (b.date_time at time zone 'UTC')::date)) from raw.bank_balances as b)
    )
"""

# The dates of the matches a person decided since ``%(through)s``: both sides' booking
# dates as the previous build saw them, else the ledger posting's.
_DECIDED = """
select d.decision_id, d.decision || ' ' || d.bank_entry_id || ' / ' || d.ledger_entry_id,
    least(
        (select min(least(m.bank_booking_date, m.ledger_booking_date))
         from intermediate.int_bank_entries_matched_to_ledger as m
         where m.bank_entry_id = d.bank_entry_id or m.ledger_entry_id = d.ledger_entry_id),
        (select min((l.booked_at at time zone 'UTC')::date) from raw.ledger_lines as l where l.entry_id = d.ledger_entry_id)
    )
from control.match_decisions as d
where d.decision_id > %(through)s
order by d.decision_id
"""
_DECIDED_NO_MATCHES = """
select d.decision_id, d.decision || ' ' || d.bank_entry_id || ' / ' || d.ledger_entry_id,
    (select min((l.booked_at at time zone 'UTC')::date) from raw.ledger_lines as l where l.entry_id = d.ledger_entry_id)
from control.match_decisions as d
where d.decision_id > %(through)s
order by d.decision_id
"""


@dataclass(frozen=True)
class Plan:
    """What a daily run for ``business_date`` builds: its own date and the dates it restates (with why)."""

    business_date: date
    files_through: int  # the last loaded file the build sees
    decisions_through: int = 0  # the last match decision the build sees
    restated: dict[date, str] = field(default_factory=dict)
    # the earliest date a file or decision since the last build touches: models
    # partitioned by a row's own date (booking date, journal date) rebuild every
    # date from here, with or without a statement that day. Not less the
    # value-date tolerance, unlike the restated business dates: a pair across
    # dates links its rows by item (the matching scopes), not by date
    touched_from: date | None = None

    @property
    def dates(self) -> list[date]:
        return sorted({self.business_date, *self.restated})

    @property
    def restate_from(self) -> date:
        """Rows dated on or after this may change; those before it may not (macros/daily_partition.sql).

        The business date, or the earliest date touched if earlier. A restated
        business date before it (one the value-date tolerance reaches) gets its
        rows of the daily marts rebuilt; the rows dated by their own date
        there are kept, as nothing new touched them.
        """
        return min(self.business_date, self.touched_from) if self.touched_from else self.business_date

    def summary(self) -> dict[str, object]:
        return {
            "business_date": self.business_date.isoformat(),
            "restated": {d.isoformat(): reason for d, reason in sorted(self.restated.items())},
        }


def touched_by_files(conn: psycopg.Connection, seen: int) -> list[tuple[int, str, date | None]]:
    """(file id, name, earliest date touched) of each file loaded after file ``seen``."""
    shares = conn.execute(_NEW_SHARE, {"through": seen}).fetchone()
    new_rows, all_rows = (int(shares[0]), int(shares[1])) if shares else (0, 0)
    with conn.transaction():
        if new_rows * NEW_SHARE_DIVISOR < all_rows:
            for setting in _BY_INDEX:
                conn.execute(setting)
        return conn.execute(_TOUCHED, {"through": seen}).fetchall()


def first_build_touched(conn: psycopg.Connection) -> tuple[int | None, date | None]:
    """(the last file loaded, the earliest date any raw row carries): what touched_by_files
    gives for a first build (every file new) as its last file id and earliest date."""
    row = conn.execute(_EARLIEST_ROW).fetchone()
    return (row[0], row[1]) if row else (None, None)


def _built_dates_sql(conn: psycopg.Connection) -> str:
    """A query of the business dates that have rows: built by a daily run, or by a build of every date before it."""
    has_mart = conn.execute("select to_regclass('marts.account_reconciliation') is not null").fetchone()
    mart_dates = " union select business_date from marts.account_reconciliation" if has_mart and has_mart[0] else ""
    return f"select business_date from tiers.daily_builds{mart_dates}"


def plan(conn: psycopg.Connection, business_date: date, value_date_tolerance_days: int = 0) -> Plan:
    """The partitions a daily run for ``business_date`` builds now (see the module's docstring)."""
    through = conn.execute(
        "select coalesce(max(files_through), 0), coalesce(max(decisions_through), 0) from tiers.daily_builds"
    ).fetchone()
    seen, seen_decisions = (int(through[0]), int(through[1])) if through else (0, 0)
    built_dates = _built_dates_sql(conn)
    anything_built = conn.execute(f"select exists ({built_dates})").fetchone()
    if not (anything_built and anything_built[0]):
        # a first build: every raw row is new, and no built date can be restated
        last_file, earliest_row = first_build_touched(conn)
        files = [(last_file, "every file loaded (a first build)", earliest_row)] if last_file else []
    else:
        files = touched_by_files(conn, seen)
    last = max((file_id for file_id, _, _ in files), default=seen)
    has_matches = conn.execute(
        "select to_regclass('intermediate.int_bank_entries_matched_to_ledger') is not null"
    ).fetchone()
    decided = conn.execute(
        _DECIDED if has_matches and has_matches[0] else _DECIDED_NO_MATCHES, {"through": seen_decisions}
    ).fetchall()
    last_decision = max((decision_id for decision_id, _, _ in decided), default=seen_decisions)
    dated = [(name, earliest) for _, name, earliest in files if earliest is not None]
    dated += [("match decision " + what, earliest) for _, what, earliest in decided if earliest is not None]
    if not dated:
        return Plan(business_date, last, last_decision)
    touched_from = min(earliest for _, earliest in dated)
    # a match without a shared reference pairs within the value-date tolerance:
    # the business dates it reaches may change too
    start = touched_from - timedelta(days=value_date_tolerance_days)
    built = [
        d
        for (d,) in conn.execute(
            f"select business_date from ({built_dates}) as b where business_date >= %s group by 1 order by 1",
            (start,),
        )
    ]
    restated: dict[date, str] = {}
    for day in built:
        if day == business_date:
            continue
        why = sorted({name for name, earliest in dated if earliest - timedelta(days=value_date_tolerance_days) <= day})
        restated[day] = "restated: loaded or decided after its last build, changes it: " + _names(why)
    return Plan(business_date, last, last_decision, restated, touched_from=touched_from)


def _names(names: list[str], shown: int = 5) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" (+{more} more)" if more > 0 else "")


def record(conn: psycopg.Connection, built: Plan, run_id: str | None) -> None:
    """One tiers.daily_builds row per date the run built (the run's own, and each restatement)."""
    with conn.cursor() as cur:
        cur.executemany(
            "insert into tiers.daily_builds"
            " (business_date, run_business_date, is_restatement, reason, files_through, decisions_through, run_id)"
            " values (%s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    day,
                    built.business_date,
                    day in built.restated,
                    built.restated.get(day, "the run's business date"),
                    built.files_through,
                    built.decisions_through,
                    run_id,
                )
                for day in built.dates
            ],
        )


def restatements(conn: psycopg.Connection, business_date: date | None = None) -> list[tuple]:
    """(business_date, run_business_date, reason, built_at) of the restatements, oldest first."""
    return conn.execute(
        "select business_date, run_business_date, reason, built_at from tiers.daily_builds"
        " where is_restatement and (%(d)s::date is null or business_date = %(d)s) order by build_id",
        {"d": business_date},
    ).fetchall()
