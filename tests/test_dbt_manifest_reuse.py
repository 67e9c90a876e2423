"""One dbt parse for many invocations in one process (the demo), and a new one when what it rests on changes."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest

from deltran.warehouse import dbt

pytestmark = [pytest.mark.slow, pytest.mark.db]


def test_one_parse_serves_the_invocations_of_the_block_until_the_vars_change(conn, monkeypatch):
    from dbt.cli.main import dbtRunner

    calls = []
    invoke = dbtRunner.invoke

    def recording_invoke(self, args, **kwargs):  # the real invocation, recorded
        calls.append((args[0], self.manifest is not None))
        return invoke(self, args, **kwargs)

    monkeypatch.setattr(dbtRunner, "invoke", recording_invoke)
    with dbt.many_invocations_in_this_process():
        dbt.run(["seed", "--select", "account_registry"])
        dbt.run(["build", "--select", "account_registry"])
        monkeypatch.setenv("DELTRAN_THRESHOLD_OK_PCT", "0.02")  # other --vars: the models read them
        dbt.run(["seed", "--select", "account_registry"])
    dbt.run(["seed", "--select", "account_registry"])  # outside the block, dbt parses by itself

    assert calls == [
        ("parse", False),
        ("seed", True),
        ("build", True),
        ("parse", False),
        ("seed", True),
        ("seed", False),
    ]
    assert conn.execute("select count(*) from reference.account_registry").fetchone()[0] > 0


def test_the_partition_dates_change_without_a_new_parse_and_reach_the_sql(conn, monkeypatch):
    """The daily partition's dates travel in the environment (dbt.PARTITION_DATES_ENV), not in --vars: a new
    date reuses the parsed project, and each invocation's SQL filters on that invocation's dates."""
    from dbt.cli.main import dbtRunner

    from deltran import config

    settings = config.load()
    dbt.run(["seed", "--select", "account_registry"], settings)
    dbt.run(["run", "--select", "+int_ledger_balances_daily"], settings)  # the incremental table exists
    calls = []
    invoke = dbtRunner.invoke

    def recording_invoke(self, args, **kwargs):
        calls.append(args[0])
        return invoke(self, args, **kwargs)

    monkeypatch.setattr(dbtRunner, "invoke", recording_invoke)
    compiled = settings.var / "dbt" / "target" / "compiled" / "deltran" / "models" / "intermediate"
    sql_of = {}
    with dbt.many_invocations_in_this_process():
        for dates in ([date(2026, 10, 1)], [date(2026, 10, 2), date(2026, 10, 3)], None):
            dbt.run(["compile", "--select", "int_ledger_balances_daily"], settings, partition_dates=dates)
            sql_of[None if dates is None else tuple(dates)] = (compiled / "int_ledger_balances_daily.sql").read_text()
    assert calls == ["parse", "compile", "compile", "compile"]  # one parse for three sets of dates
    assert "'2026-10-01'::date" in sql_of[(date(2026, 10, 1),)]
    assert "'2026-10-02'::date" not in sql_of[(date(2026, 10, 1),)]
    two_days = sql_of[(date(2026, 10, 2), date(2026, 10, 3))]
    assert "'2026-10-02'::date" in two_days and "'2026-10-03'::date" in two_days
    assert "'2026-10-01'::date" not in two_days
    assert not re.search(r"'\d{4}-\d{2}-\d{2}'::date", sql_of[None])  # no dates: every date, and the variable is gone
    assert dbt.PARTITION_DATES_ENV not in os.environ
