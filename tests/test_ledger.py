"""The ledger export reader: exact amounts, clear errors, balanced journals."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltran.ledger import FIELDS, REQUIRED, LedgerFormatError, _raw_rows, parse_amount, read_ledger

HEADER = (
    "entry_id,journal_id,account,amount,currency,side,booked_at,value_date,kind,uetr,end_to_end_id,"
    "bank_reference,description\n"
)


def write(tmp_path, body: str, name: str = "ledger.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body if name.endswith(".csv") else body)
    return path


def test_reads_typed_rows_with_exact_amounts(tmp_path):
    path = write(
        tmp_path,
        (
            "e1,j1,AE070331234567890123456,1000.10,AED,D,2026-11-20T10:00:00Z,2026-11-20,deposit,U1,E1,,in\n"
            "e2,j1,LIAB:CLIENT:AED,1000.10,AED,C,2026-11-20T10:00:00Z,2026-11-20,deposit,U1,E1,,in\n"
        ),
    )
    rows = list(read_ledger(path))
    assert [r["amount"] for r in rows] == [Decimal("1000.10"), Decimal("1000.10")]
    assert rows[0]["booked_at"].utcoffset().total_seconds() == 0
    assert rows[0]["line_number"] == 2 and rows[1]["line_number"] == 3
    assert rows[0]["bank_reference"] is None


def test_json_lines_amounts_stay_decimal(tmp_path):
    path = write(
        tmp_path,
        (
            '{"entry_id":"e1","journal_id":"j1","account":"A","amount":0.1,"currency":"USD","side":"D","booked_at":"2026-11-20T10:00:00+00:00","kind":"fee"}\n'
            '{"entry_id":"e2","journal_id":"j1","account":"B","amount":"0.1","currency":"USD","side":"C","booked_at":"2026-11-20T10:00:00+00:00","kind":"fee"}\n'
        ),
        name="ledger.jsonl",
    )
    assert [r["amount"] for r in read_ledger(path)] == [Decimal("0.1"), Decimal("0.1")]


def test_unbalanced_journal_is_refused_whole(tmp_path):
    path = write(
        tmp_path,
        (
            "e1,j1,A,100.00,USD,D,2026-11-20T10:00:00Z,,deposit,,,,\n"
            "e2,j1,B,99.99,USD,C,2026-11-20T10:00:00Z,,deposit,,,,\n"
        ),
    )
    with pytest.raises(LedgerFormatError, match=r"j1 USD off by 0.01"):
        list(read_ledger(path))


@pytest.mark.parametrize(
    "line, message",
    [
        ("e1,j1,A,abc,USD,D,2026-11-20T10:00:00Z,,deposit,,,,", "not a decimal number"),
        ("e1,j1,A,-5,USD,D,2026-11-20T10:00:00Z,,deposit,,,,", "negative"),
        ("e1,j1,A,1.123456,USD,D,2026-11-20T10:00:00Z,,deposit,,,,", "6 fraction digits; USD has 2"),
        ("e1,j1,A,10.005,EUR,D,2026-11-20T10:00:00Z,,deposit,,,,", "3 fraction digits; EUR has 2"),
        ("e1,j1,A,100.5,JPY,D,2026-11-20T10:00:00Z,,deposit,,,,", "1 fraction digits; JPY has 0"),
        ("e1,j1,A,1E+2,USD,D,2026-11-20T10:00:00Z,,deposit,,,,", "exponent notation"),
        ("e1,j1,A,+5.00,USD,D,2026-11-20T10:00:00Z,,deposit,,,,", r"'\+' sign"),
        ("e1,j1,A,1234567890123456789,USD,D,2026-11-20T10:00:00Z,,deposit,,,,", "more than 18 digits"),
        ("e1,j1,A,1,XYZ,D,2026-11-20T10:00:00Z,,deposit,,,,", "not an ISO 4217 currency code in use"),
        ("e1,j1,A,1,USD,D,2026-11-20T10:00:00Z,,deposit,,,,,surplus", r"1 field\(s\) more than the header has"),
        ("e1,j1,A,1,USD,X,2026-11-20T10:00:00Z,,deposit,,,,", "side must be D or C"),
        ("e1,j1,A,1,usd,D,2026-11-20T10:00:00Z,,deposit,,,,", "ISO 4217"),
        ("e1,j1,A,1,USD,D,2026-11-20T10:00:00,,deposit,,,,", "no time zone"),
        ("e1,,A,1,USD,D,2026-11-20T10:00:00Z,,deposit,,,,", "missing journal_id"),
    ],
)
def test_bad_line_names_file_line_and_reason(tmp_path, line, message):
    path = write(tmp_path, line + "\n")
    with pytest.raises(LedgerFormatError, match=message) as info:
        list(read_ledger(path))
    assert str(info.value).startswith("ledger.csv:2: ")


def test_float_amount_is_refused():
    with pytest.raises(ValueError, match="not a float"):
        parse_amount(0.1, "USD")


def test_trailing_zeros_are_notation_not_precision():
    assert str(parse_amount("10.500", "EUR")) == "10.500"
    assert parse_amount("100.00", "JPY") == Decimal(100)
    assert parse_amount("1.234", "KWD") == Decimal("1.234")


@pytest.mark.parametrize(
    "line, message",
    [
        ('"amount":1e2', "exponent notation"),
        ('"amount":"1.5","note":"x"', r"unknown field\(s\) 'note'"),
        ('"amount":false', "missing amount"),
        ('"amount":"  "', "missing amount"),
    ],
)
def test_json_lines_obey_the_same_rules(tmp_path, line, message):
    obj = (
        '{"entry_id":"e1","journal_id":"j1","account":"A","currency":"USD","side":"D",'
        f'"booked_at":"2026-11-20T10:00:00+00:00","kind":"fee",{line}}}\n'
    )
    path = write(tmp_path, obj, name="ledger.jsonl")
    with pytest.raises(LedgerFormatError, match=message):
        list(read_ledger(path))


def test_duplicate_entry_id_is_refused(tmp_path):
    path = write(
        tmp_path,
        ("e1,j1,A,1,USD,D,2026-11-20T10:00:00Z,,deposit,,,,\ne1,j1,B,1,USD,C,2026-11-20T10:00:00Z,,deposit,,,,\n"),
    )
    with pytest.raises(LedgerFormatError, match="appears twice"):
        list(read_ledger(path))


# Fields as an export may write them: empty, with the characters CSV quotes, over several lines.
_field = st.text(alphabet=st.sampled_from(list('ab,"\n\r ')), max_size=6)


# Every required column, some optional ones, in any order; now and then one required column left out.
_header = st.tuples(st.sets(st.sampled_from([f for f in FIELDS if f not in REQUIRED])), st.booleans()).flatmap(
    lambda chosen: st.permutations(list(REQUIRED[1:] if chosen[1] else REQUIRED) + sorted(chosen[0]))
)


@given(header=_header, rows=st.lists(st.lists(_field, max_size=len(FIELDS) + 2), max_size=6))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_csv_rows_are_read_as_csv_dictreader_reads_them(tmp_path, header, rows):
    """The C reader path (_raw_rows) gives csv.DictReader's rows and line numbers: the
    fields beyond the header under None, those short of it None, blank lines skipped."""
    path = tmp_path / "ledger.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        expected = [(reader.line_num, row) for row in reader]
    if not set(REQUIRED) <= set(header):
        with pytest.raises(LedgerFormatError, match="header lacks"):
            list(_raw_rows(path))
        return
    assert list(_raw_rows(path)) == expected
