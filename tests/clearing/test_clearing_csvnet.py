"""``deltran net OBLIGATIONS.csv``: the JSON report, and bad rows named by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deltran.clearing.csvnet import ObligationsFileError, main, net_csv

EXAMPLE = Path(__file__).parent / "data" / "obligations_4banks.csv"
A, B, C, DD = "BANKAEAA", "BANKBEBB", "BANKCECC", "BANKDEDD"


def test_example_file():
    out = net_csv(EXAMPLE)
    json.dumps(out)  # JSON-able as it is
    # USD is the hand-worked example of test_clearing_netting; AED is one pair:
    # A owes B 1000.50, B owes A 250.25 -> A pays B 750.25.
    assert out["positions"] == [
        {"participant": A, "currency": "AED", "paid": "1000.50", "received": "250.25", "net": "-750.25"},
        {"participant": B, "currency": "AED", "paid": "250.25", "received": "1000.50", "net": "750.25"},
        {"participant": A, "currency": "USD", "paid": "130.00", "received": "80.00", "net": "-50.00"},
        {"participant": B, "currency": "USD", "paid": "100.00", "received": "150.00", "net": "50.00"},
        {"participant": C, "currency": "USD", "paid": "60.00", "received": "110.00", "net": "50.00"},
        {"participant": DD, "currency": "USD", "paid": "50.00", "received": "0", "net": "-50.00"},
    ]
    assert out["instructions"] == [
        {"payer": A, "payee": B, "currency": "AED", "amount": "750.25"},
        {"payer": A, "payee": B, "currency": "USD", "amount": "50.00"},
        {"payer": DD, "payee": C, "currency": "USD", "amount": "50.00"},
    ]
    usd = out["currencies"]["USD"]
    assert {
        k: usd[k] for k in ("gross", "net", "efficiency_pct", "participants", "instruction_count", "instruction_bound")
    } == {
        "gross": "340.00",
        "net": "100.00",
        "efficiency_pct": "70.5882",  # 1 - 100 / 340, in percent with four decimals
        "participants": 4,
        "instruction_count": 2,
        "instruction_bound": 3,
    }
    assert usd["obligations"] == 7 and usd["cycles"] == [[A, B, C]]
    aed = out["currencies"]["AED"]
    # 1 - 750.25 / 1250.75 = 500.50 / 1250.75
    assert (aed["gross"], aed["net"], aed["instruction_count"], aed["instruction_bound"]) == ("1250.75", "750.25", 1, 1)
    assert aed["efficiency_pct"] == "40.0160"


def test_main_prints_json(capsys):
    assert main([str(EXAMPLE)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == net_csv(EXAMPLE)
    assert captured.err == ""


HEADER = "debtor,creditor,currency,amount\n"


@pytest.mark.parametrize(
    "rows, message",
    [
        ("A,B,USD,1.00\nA,B,USD\n", "line 3: missing amount"),
        ("A,B,USD,1.00\n,B,USD,2\n", "line 3: missing debtor"),
        ("A,B,USD,abc\n", "line 2: amount 'abc' is not a decimal number"),
        ("A,B,USD,-5.00\n", "line 2: amount '-5.00' is negative"),
        ("A,B,USD,+5.00\n", "line 2: amount '\\+5.00' has a '\\+' sign"),
        ("A,B,USD,NaN\n", "line 2: amount 'NaN' is not a decimal number"),
        ("A,B,USD,1e3\n", "line 2: amount '1e3' is in exponent notation"),
        ("A,A,USD,1.00\n", "line 2: debtor and creditor are both 'A'"),
        ("A,B,usd,1.00\n", "line 2: amount 1.00 has currency 'usd', not an ISO 4217 currency code in use"),
        ("A,B,XYZ,1.00\n", "line 2: amount 1.00 has currency 'XYZ', not an ISO 4217 currency code in use"),
        ("A,B,JPY,100.5\n", "line 2: amount '100.5' has 1 fraction digits; JPY has 0"),
        ("A,B,USD,1.005\n", "line 2: amount '1.005' has 3 fraction digits; USD has 2"),
        ("A,B,USD,1.00,extra\n", "line 2: more fields than the header has"),
    ],
)
def test_bad_rows_name_the_line(tmp_path, rows, message):
    path = tmp_path / "obligations.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(ObligationsFileError, match=message):
        net_csv(path)


def test_bad_header(tmp_path):
    path = tmp_path / "obligations.csv"
    path.write_text("debtor,creditor,amount\nA,B,1\n")
    with pytest.raises(ObligationsFileError, match="line 1: .*missing currency"):
        net_csv(path)


def test_main_exit_2_on_bad_input(tmp_path, capsys):
    path = tmp_path / "obligations.csv"
    path.write_text(HEADER + "A,B,USD,-1\n")
    assert main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "line 2" in captured.err and "negative" in captured.err
    assert main([str(tmp_path / "missing.csv")]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_empty_file_nets_nothing(tmp_path):
    path = tmp_path / "obligations.csv"
    path.write_text(HEADER)
    assert net_csv(path) == {"positions": [], "instructions": [], "currencies": {}}
