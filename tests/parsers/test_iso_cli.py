"""`deltran parse`: rows on stdout, amounts exact, errors on stderr with exit status 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from parsers import ROW_FIELDS, cli

DATA = Path(__file__).parent / "data"
STATEMENT = DATA / "valid" / "camt053_batch_reversal.xml"


def test_jsonl_keeps_amounts_as_written(capsys) -> None:
    assert cli.main([str(STATEMENT)]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert err == ""
    # the entries as they are read, then the statement (complete once it has ended) and its balances
    assert [row["record"] for row in rows] == ["entry"] * 6 + ["statement", "balance", "balance"]
    assert rows[7]["amount"] == "100.50" and rows[8]["amount"] == "249.12"
    assert rows[5]["amount"] == "5" and rows[5]["value_date"] == "2024-05-02"
    assert rows[6]["created_at"] == "2024-05-02T05:59:59.123456+02:00"
    for row in rows:
        assert list(row) == ["record", *ROW_FIELDS[row["record"]]]


def test_csv_has_one_header_for_all_record_kinds(capsys) -> None:
    assert cli.main(["--format", "csv", str(STATEMENT)]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    header = ["record"]
    for kind in ("statement", "balance", "entry", "finding"):
        header += [name for name in ROW_FIELDS[kind] if name not in header]
    assert list(table[0]) == header
    assert [row["record"] for row in table].count("entry") == 6
    assert table[7]["amount"] == "100.50" and table[7]["entry_index"] == ""
    assert table[0]["is_reversal"] == "false" and table[3]["is_reversal"] == "true"


def test_payment_csv_has_only_payment_columns(capsys) -> None:
    assert cli.main(["--format", "csv", str(DATA / "valid" / "pacs008_group_defaults.xml")]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert header == ["record", *ROW_FIELDS["payment"]]


def test_parse_error_goes_to_stderr_with_status_2(capsys) -> None:
    bad = DATA / "invalid" / "amount_six_decimals.xml"
    assert cli.main([str(bad)]) == 2
    out, err = capsys.readouterr()
    assert f"{bad}:19: /Document/BkToCstmrStmt/Stmt/Ntry/Amt: amount '1.123456'" in err


def test_unknown_message_and_missing_file_exit_2(capsys, tmp_path: Path) -> None:
    assert cli.main([str(DATA / "invalid" / "camt056_not_taken.xml")]) == 2
    assert "camt.056" in capsys.readouterr().err
    assert cli.main([str(tmp_path / "missing.xml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_progress_only_on_a_terminal(capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli, "_PROGRESS_MIN_BYTES", 0)
    monkeypatch.setattr(cli, "_PROGRESS_EVERY", 1)
    assert cli.main([str(STATEMENT)]) == 0
    assert capsys.readouterr().err == ""  # captured stderr is not a TTY
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    assert cli.main([str(STATEMENT)]) == 0
    assert "100%" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["--format", "xml", str(STATEMENT)])
    assert raised.value.code == 2


def test_every_message_read_has_its_csv_columns() -> None:
    from parsers.registry import READERS

    assert set(cli.KINDS) == set(READERS)
