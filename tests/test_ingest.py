"""Ingest on a real PostgreSQL: one file one transaction, hash memory, quarantine."""

from __future__ import annotations

import pytest

from deltran import config, ingest

pytestmark = pytest.mark.db

HEADER = (
    "entry_id,journal_id,account,amount,currency,side,booked_at,value_date,kind,uetr,end_to_end_id,"
    "bank_reference,description\n"
)
GOOD = HEADER + (
    "e1,j1,AE070331234567890123456,1000.10,AED,D,2026-11-20T10:00:00Z,2026-11-20,deposit,U1,E1,,tab\there\n"
    "e2,j1,LIAB:CLIENT:AED,1000.10,AED,C,2026-11-20T10:00:00Z,2026-11-20,deposit,U1,E1,,back\\slash\n"
)
UNBALANCED = HEADER + (
    "x1,j9,A,100.00,USD,D,2026-11-20T10:00:00Z,,deposit,,,,\nx2,j9,B,99.00,USD,C,2026-11-20T10:00:00Z,,deposit,,,,\n"
)


def _inbox(files: dict[str, str]) -> config.Settings:
    settings = config.load()
    settings.inbox.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (settings.inbox / name).write_text(text)
    return settings


def count(conn, table: str) -> int:
    return conn.execute(f"select count(*) from {table}").fetchone()[0]


def test_loads_a_file_once_and_archives_it(conn):
    settings = _inbox({"ledger_a.csv": GOOD})
    first = ingest.ingest_inbox(settings)
    assert [(o.status, o.rows) for o in first] == [("loaded", {"ledger_lines": 2})]
    assert (settings.archive / "ledger_a.csv").exists() and not any(settings.inbox.iterdir())
    # the same bytes again, under another name: nothing changes
    _inbox({"ledger_again.csv": GOOD})
    second = ingest.ingest_inbox(settings)
    assert [o.status for o in second] == ["duplicate"]
    assert count(conn, "raw.ledger_lines") == 2
    assert count(conn, "raw.ingested_files") == 1
    text = conn.execute("select description from raw.ledger_lines order by line_number").fetchall()
    assert text == [("tab\there",), ("back\\slash",)]


def test_a_batch_analyzes_the_tables_it_grew_by_a_tenth_and_leaves_the_rest_to_autovacuum(conn):
    lines = "".join(
        f"m{n}{side},j{n},AE070331234567890123456,1.00,AED,{side},2026-11-20T10:00:00Z,,deposit,,,,\n"
        for n in range(200)
        for side in "DC"
    )
    settings = _inbox({"ledger_many.csv": HEADER + lines})
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded"]
    # the first batch analyzed what it loaded: the planner counts 400 lines, not none
    counted = conn.execute("select reltuples from pg_class where oid = 'raw.ledger_lines'::regclass").fetchone()[0]
    assert counted == 400

    def outcome(rows: int) -> ingest.FileOutcome:
        return ingest.FileOutcome("f.csv", "0" * 64, "loaded", "ledger", {"ledger_lines": rows})

    assert "ledger_lines" not in ingest.tables_to_analyze(conn, [outcome(40)])  # a tenth: autovacuum's
    assert "ledger_lines" in ingest.tables_to_analyze(conn, [outcome(41)])
    assert "ledger_lines" in ingest.tables_to_analyze(conn, [outcome(21), outcome(20)])  # the batch, not a file
    assert ingest.tables_to_analyze(conn, [ingest.FileOutcome("f.csv", "0" * 64, "duplicate")]) == []
    # a table never analyzed (reltuples -1) is analyzed whatever the batch
    assert "payments" in ingest.tables_to_analyze(
        conn, [ingest.FileOutcome("p.xml", "1" * 64, "loaded", "pacs.008", {"payments": 1})]
    )


def test_bad_files_go_to_quarantine_and_the_rest_goes_on(conn):
    settings = _inbox(
        {
            "a_unbalanced.csv": UNBALANCED,
            "b_good.csv": GOOD,
            "c_notes.txt": "hello",
            "d_broken.xml": "<Document><BkToCstmrStmt>",
        }
    )
    outcomes = {o.file_name: o for o in ingest.ingest_inbox(settings)}
    assert outcomes["b_good.csv"].status == "loaded"
    for name in ("a_unbalanced.csv", "c_notes.txt", "d_broken.xml"):
        assert outcomes[name].status == "quarantined", name
        assert (settings.quarantine / name).exists()
    assert "j9 USD off by 1.00" in outcomes["a_unbalanced.csv"].error
    assert "unsupported file type .txt" in outcomes["c_notes.txt"].error
    # nothing half-loaded: only the good file's rows are there
    assert count(conn, "raw.ledger_lines") == 2
    recorded = dict(conn.execute("select file_name, error from raw.quarantined_files").fetchall())
    assert set(recorded) == {"a_unbalanced.csv", "c_notes.txt", "d_broken.xml"}


def test_a_value_the_database_refuses_rolls_back_the_whole_file(conn):
    # PostgreSQL text cannot hold a NUL character: the last row fails inside COPY
    settings = _inbox({"ledger_nul.csv": GOOD.replace("back\\slash", "nul\x00byte")})
    [outcome] = ingest.ingest_inbox(settings)
    assert outcome.status == "quarantined"
    assert "rejected by the database" in outcome.error
    assert count(conn, "raw.ledger_lines") == 0
    assert count(conn, "raw.ingested_files") == 0


@pytest.mark.slow
def test_every_real_sample_file_loads_whole_or_is_quarantined_whole(conn, tmp_path, iso20022_samples):
    """Real bank and standards-body files: each loads in full, or is refused with its reason."""
    import shutil

    import parsers

    settings = config.load()
    settings.inbox.mkdir(parents=True)
    expected_rows = {}
    for path in sorted(iso20022_samples.glob("*/*.xml")):
        # copied into this test's temporary inbox only: ingest moves what it reads
        target = settings.inbox / f"{path.parent.name}__{path.name}"
        shutil.copyfile(path, target)
        try:
            kinds: dict[str, int] = {}
            for record in parsers.iter_records(path):
                for row in parsers.to_rows(record):
                    table = ingest.RAW_TABLES[row["record"]]
                    kinds[table] = kinds.get(table, 0) + 1
            expected_rows[target.name] = kinds
        except parsers.ParseError:
            expected_rows[target.name] = None
    outcomes = {o.file_name: o for o in ingest.ingest_inbox(settings)}
    assert set(outcomes) == set(expected_rows)
    duplicates = 0
    for name, rows in expected_rows.items():
        outcome = outcomes[name]
        if rows is None:
            assert outcome.status == "quarantined" and outcome.error, name
        elif outcome.status == "duplicate":  # the corpus holds a few byte-identical files
            duplicates += 1
        else:
            assert outcome.status == "loaded", (name, outcome.error)
            assert outcome.rows == rows, name
    loaded = [o for o in outcomes.values() if o.status == "loaded"]
    assert {o.kind for o in loaded} >= {
        "camt.052",
        "camt.053",
        "camt.054",
        "pacs.002",
        "pacs.004",
        "pacs.008",
        "pain.001",
    }
    # the raw tables hold exactly what the loaded files said, nothing of the refused ones
    for table in set(ingest.RAW_TABLES.values()):
        want = sum(o.rows.get(table, 0) for o in loaded)
        assert count(conn, f"raw.{table}") == want, table
    assert count(conn, "raw.quarantined_files") == sum(1 for r in expected_rows.values() if r is None)


def test_the_proprietary_bank_transaction_code_reaches_the_raw_rows_beside_the_domain_code(conn, iso20022_samples):
    # hbci4java's camt.052.001.08 gives both in a TxDtls: domain PMNT/RDDT/ESDD, proprietary NDDT+105+9200+992 (issuer DK)
    sample = iso20022_samples / "camt.052" / "hbci4java__camt.052.001.08__test-camt-parse-05200108.xml"
    settings = _inbox({sample.name: sample.read_text(encoding="utf-8")})
    assert [o.status for o in ingest.ingest_inbox(settings)] == ["loaded"]
    codes = conn.execute(
        "select distinct tx_bank_tx_code, tx_bank_tx_code_proprietary, tx_bank_tx_code_issuer from raw.bank_entries"
        " where tx_bank_tx_code_proprietary is not null"
    ).fetchall()
    assert ("PMNT/RDDT/ESDD", "NDDT+105+9200+992", "DK") in codes
