"""The command line without surprises: help with an example everywhere, clear errors, non-zero exits."""

from __future__ import annotations

import argparse

import pytest

from deltran import cli


def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from _subcommands(child, (*path, name))


SUBCOMMANDS = list(_subcommands(cli.build_parser()))


def test_there_are_subcommands_to_check():
    names = {path for path, _ in SUBCOMMANDS}
    assert {("report",), ("breaker", "reset"), ("discrepancy", "history"), ("matches", "confirm")} <= names


@pytest.mark.parametrize(("path", "parser"), SUBCOMMANDS, ids=[" ".join(p) for p, _ in SUBCOMMANDS])
def test_every_subcommand_and_option_explains_itself_with_an_example(path, parser):
    text = parser.format_help()
    assert "example" in text, f"deltran {' '.join(path)} --help shows no example"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        assert action.help, f"deltran {' '.join(path)}: {action.dest} has no help text"


def test_a_date_in_another_format_is_refused_with_the_format_to_use(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["report", "20/11/2026"])
    assert exit_.value.code == 2
    assert "'20/11/2026' is not a date: write it as YYYY-MM-DD" in capsys.readouterr().err


def test_dbt_without_arguments_says_what_to_give(capsys):
    assert cli.main(["dbt"]) == 2
    assert "give dbt's arguments" in capsys.readouterr().err


def test_a_missing_argument_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["breaker", "reset", "AE889010000012345670001"])
    assert exit_.value.code == 2
    assert "--reason" in capsys.readouterr().err


def test_net_help_gives_the_csv_format(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["net", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "debtor,creditor,currency,amount" in out and "minor units" in out


@pytest.mark.db
def test_an_unknown_id_and_an_empty_history_exit_non_zero(warehouse_url, capsys):
    assert cli.main(["discrepancy", "history", "nonexistent"]) == 1
    assert "no discrepancy 'nonexistent'" in capsys.readouterr().err
    assert cli.main(["matches", "history", "nonexistent"]) == 1
    assert "no decision recorded on 'nonexistent'" in capsys.readouterr().err
