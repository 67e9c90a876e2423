"""The demo's interbank traffic and bad files: valid ISO 20022, inside their windows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from lxml import etree

from deltran.demo.reference import PARTICIPANTS, iban_is_valid

from demo_files import DAY, schema

NS = "urn:iso:std:iso:20022:tech:xsd:"
P8 = "{" + NS + "pacs.008.001.08}"


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def payments(inbox) -> list[dict]:
    """Every CdtTrfTxInf of the pacs.008 files, with its file's window close."""
    out = []
    for path in sorted(inbox.glob("pacs008_*.xml")):
        close = datetime.fromisoformat(path.stem.split("_")[2] + ":00:00+00:00")
        root = etree.parse(str(path)).getroot()
        header = root.find(f"{P8}FIToFICstmrCdtTrf/{P8}GrpHdr")
        for tx in root.iter(f"{P8}CdtTrfTxInf"):
            out.append(
                {
                    "file": path.name,
                    "close": close,
                    "msg_id": header.findtext(f"{P8}MsgId"),
                    "created": _dt(header.findtext(f"{P8}CreDtTm")),
                    "sender": header.findtext(f"{P8}InstgAgt/{P8}FinInstnId/{P8}BICFI"),
                    "uetr": tx.findtext(f"{P8}PmtId/{P8}UETR"),
                    "e2e": tx.findtext(f"{P8}PmtId/{P8}EndToEndId"),
                    "instr": tx.findtext(f"{P8}PmtId/{P8}InstrId"),
                    "tx_id": tx.findtext(f"{P8}PmtId/{P8}TxId"),
                    "amount": Decimal(tx.findtext(f"{P8}IntrBkSttlmAmt")),
                    "ccy": tx.find(f"{P8}IntrBkSttlmAmt").get("Ccy"),
                    "date": tx.findtext(f"{P8}IntrBkSttlmDt"),
                    "accepted": _dt(tx.findtext(f"{P8}AccptncDtTm")),
                    "chrgbr": tx.findtext(f"{P8}ChrgBr"),
                    "debtor_agent": tx.findtext(f"{P8}DbtrAgt/{P8}FinInstnId/{P8}BICFI"),
                    "creditor_agent": tx.findtext(f"{P8}CdtrAgt/{P8}FinInstnId/{P8}BICFI"),
                    "instructing": tx.findtext(f"{P8}InstgAgt/{P8}FinInstnId/{P8}BICFI"),
                    "instructed": tx.findtext(f"{P8}InstdAgt/{P8}FinInstnId/{P8}BICFI"),
                    "ibans": [e.text for e in tx.iter(f"{P8}IBAN")],
                }
            )
    return out


@pytest.mark.parametrize(
    "prefix, version",
    [("pacs008_", "pacs.008.001.08"), ("pacs002_", "pacs.002.001.10"), ("pacs004_", "pacs.004.001.09")],
)
def test_interbank_files_are_valid(demo, prefix, version):
    inbox, _ = demo
    xsd = schema(version)
    paths = sorted(inbox.glob(prefix + "*.xml"))
    assert paths
    for path in paths:
        xsd.assertValid(etree.parse(str(path)))


def test_payments_fall_in_their_windows(demo):
    inbox, manifest = demo
    rows = payments(inbox)
    assert len(rows) == manifest.counts["payments"]
    per_window = Counter(r["close"].hour for r in rows)
    assert set(per_window) == {0, 6, 12, 18}
    assert all(130 <= n <= 170 for n in per_window.values()), per_window
    for r in rows:
        assert r["close"] - timedelta(hours=6) < r["accepted"] <= r["close"], r
        assert r["created"] >= r["accepted"]
        assert r["date"] == DAY.isoformat() and r["chrgbr"] == "SLEV"
        assert r["sender"] == r["debtor_agent"] == r["instructing"] != r["creditor_agent"] == r["instructed"]
        assert all(iban_is_valid(i) for i in r["ibans"])
    assert {r["close"] for r in rows if r["close"].hour == 0} == {datetime.fromisoformat(f"{DAY}T00:00:00+00:00")}
    assert {r["ccy"] for r in rows} == {"USD", "AED", "ILS"}
    assert {r["debtor_agent"] for r in rows} == {b.bic for b in PARTICIPANTS}
    assert len({r["uetr"] for r in rows}) == len({r["e2e"] for r in rows}) == len(rows)


def test_cycle_is_in_the_files(demo):
    inbox, manifest = demo
    by_uetr = {r["uetr"]: r for r in payments(inbox)}
    legs = [by_uetr[p.uetr] for p in manifest.cycle]
    assert [(r["debtor_agent"], r["creditor_agent"]) for r in legs] == [
        ("DLTAAEADXXX", "DLTBGB2LXXX"),
        ("DLTBGB2LXXX", "DLTCILITXXX"),
        ("DLTCILITXXX", "DLTAAEADXXX"),
    ]
    assert {r["ccy"] for r in legs} == {"USD"} and len({r["close"] for r in legs}) == 1


def test_rejection_names_an_earlier_payment_of_its_window(demo):
    inbox, manifest = demo
    rejected = manifest.rejected
    p2 = "{" + NS + "pacs.002.001.10}"
    tx = etree.parse(str(inbox / rejected.file)).getroot().find(f"{p2}FIToFIPmtStsRpt/{p2}TxInfAndSts")
    original = {r["uetr"]: r for r in payments(inbox)}[tx.findtext(f"{p2}OrgnlUETR")]
    assert tx.findtext(f"{p2}TxSts") == "RJCT"
    assert tx.findtext(f"{p2}StsRsnInf/{p2}Rsn/{p2}Cd") == "AC04"
    assert tx.findtext(f"{p2}OrgnlGrpInf/{p2}OrgnlMsgId") == original["msg_id"] == rejected.payment.message_id
    assert tx.findtext(f"{p2}OrgnlEndToEndId") == original["e2e"] == rejected.payment.end_to_end_id
    assert original["created"] <= rejected.created_at <= original["close"]
    assert rejected.payment.uetr not in {p.uetr for p in manifest.cycle}


def test_return_reverses_another_payment(demo):
    inbox, manifest = demo
    returned = manifest.returned
    p4 = "{" + NS + "pacs.004.001.09}"
    root = etree.parse(str(inbox / returned.file)).getroot()
    tx = root.find(f"{p4}PmtRtr/{p4}TxInf")
    original = {r["uetr"]: r for r in payments(inbox)}[tx.findtext(f"{p4}OrgnlUETR")]
    assert original["uetr"] != manifest.rejected.payment.uetr
    assert Decimal(tx.findtext(f"{p4}RtrdIntrBkSttlmAmt")) == original["amount"] == returned.payment.amount
    assert tx.findtext(f"{p4}OrgnlEndToEndId") == original["e2e"]
    assert tx.findtext(f"{p4}InstgAgt/{p4}FinInstnId/{p4}BICFI") == original["creditor_agent"]
    assert tx.findtext(f"{p4}InstdAgt/{p4}FinInstnId/{p4}BICFI") == original["debtor_agent"]
    assert original["close"] < returned.created_at


def test_bad_files(demo):
    inbox, manifest = demo
    truncated, unsupported = manifest.bad_files
    with pytest.raises(etree.XMLSyntaxError):
        etree.parse(str(inbox / truncated))
    root = etree.parse(str(inbox / unsupported)).getroot()
    assert etree.QName(root).namespace == NS + "camt.056.001.08"


def test_files_parse_with_the_project_reader(demo):
    import parsers
    from parsers.errors import ParseError

    inbox, manifest = demo
    kinds: Counter = Counter()
    for name in manifest.files:
        if name in manifest.bad_files or not name.endswith(".xml"):
            continue
        for record in parsers.iter_records(inbox / name):
            kinds[type(record).__name__] += 1
    assert kinds["Statement"] == 6 and kinds["Balance"] == 12
    assert kinds["Entry"] == manifest.counts["statement_entries"]
    assert kinds["Payment"] == manifest.counts["payments"]
    assert kinds["StatusReport"] == 1 and kinds["PaymentReturn"] == 1
    for name in manifest.bad_files:
        with pytest.raises(ParseError):
            list(parsers.iter_records(inbox / name))
