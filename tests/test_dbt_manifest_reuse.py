"""One dbt parse for many invocations in one process (the demo), and a new one when what it rests on changes."""

from __future__ import annotations

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
