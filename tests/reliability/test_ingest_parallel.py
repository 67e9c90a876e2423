"""A batch parsed by worker processes ends as the same batch read one file after another.

Real files (good ones, bad ones, a copy), a real PostgreSQL: the raw rows, the
ingested files and the quarantine records are compared whole.
"""

from __future__ import annotations

import shutil
from concurrent.futures.process import BrokenProcessPool

import pytest

from deltran import config, ingest

from .files import camt053, ledger, statement

pytestmark = pytest.mark.db

GOOD_STATEMENT = camt053(
    [
        statement(
            "ACC-P1", "USD", [("OPBD", "0.00", "USD"), ("CLBD", "540.00", "USD")], [("500.00", "USD"), ("40.00", "USD")]
        ),
        statement("ACC-P2", "EUR", [("OPBD", "10.00", "EUR"), ("CLBD", "10.00", "EUR")], []),
    ]
)
LEDGER = ledger({"ACC-P1": ("500.00", "USD"), "ACC-P2": ("10.00", "EUR")})
UNBALANCED = LEDGER.replace("c1,open1,LIAB:CLIENT:EUR,10.00,", "c1,open1,LIAB:CLIENT:EUR,11.00,")
assert UNBALANCED != LEDGER

BATCH = {
    "a_statement.xml": GOOD_STATEMENT,
    # cut off after its first statement's entries: rows were spooled before it failed, none may load
    "b_truncated.xml": GOOD_STATEMENT[: GOOD_STATEMENT.index("</Stmt>") + len("</Stmt>")],
    "c_ledger.csv": LEDGER,
    "d_ledger_again.csv": LEDGER,  # the same bytes under another name: a duplicate once c_ is loaded
    "e_not_a_message.xml": "<Document xmlns='urn:example:unknown'><Nothing/></Document>",
    "f_unbalanced.csv": UNBALANCED,
    "g_notes.txt": "not a file the platform takes",
    # read well, refused by the database (a NUL in text): written as its reading ends, quarantined in file order
    "g_ledger_nul.csv": LEDGER.replace("o0,open0", "o0\x00,open0").replace("c0,open0", "c0\x00,open0"),
    "h_statement_other_day.xml": GOOD_STATEMENT.replace("S-ACC-P1", "S-ACC-P1-B").replace("S-ACC-P2", "S-ACC-P2-B"),
}


def _state(conn) -> dict[str, list]:
    """Everything the batch wrote, file ids replaced by file names (the ids of the two runs differ)."""
    state = {
        "ingested_files": conn.execute(
            "select file_name, sha256, file_kind, message_version, size_bytes, row_counts::text"
            " from raw.ingested_files order by file_id"
        ).fetchall(),
        "quarantined_files": conn.execute(
            "select file_name, sha256, error from raw.quarantined_files order by quarantine_id"
        ).fetchall(),
    }
    for table in sorted(set(ingest.RAW_TABLES.values())):
        state[table] = sorted(
            conn.execute(
                f"select f.file_name, (to_jsonb(t) - 'file_id')::text from raw.{table} as t"
                " inner join raw.ingested_files as f using (file_id)"
            ).fetchall()
        )
    conn.commit()
    return state


def _run(conn, settings: config.Settings, workers: int) -> tuple[dict[str, tuple], dict[str, list], dict]:
    for folder in (settings.inbox, settings.archive, settings.quarantine):
        shutil.rmtree(folder, ignore_errors=True)
    settings.inbox.mkdir(parents=True)
    for name, text in BATCH.items():
        (settings.inbox / name).write_text(text)
    outcomes = {
        o.file_name: (o.status, o.kind, o.rows, o.error) for o in ingest.ingest_inbox(settings, workers=workers)
    }
    folders = {
        "inbox": sorted(p.name for p in settings.inbox.iterdir()),
        "archive": sorted(p.name for p in settings.archive.iterdir()),
        "quarantine": sorted(p.name for p in settings.quarantine.iterdir()),
    }
    return outcomes, _state(conn), folders


def test_a_batch_parsed_in_parallel_loads_and_quarantines_as_one_read_file_by_file(conn, monkeypatch):
    settings = config.load()
    serial = _run(conn, settings, workers=1)
    outcomes = serial[0]
    assert {name: o[0] for name, o in outcomes.items()} == {
        "a_statement.xml": "loaded",
        "b_truncated.xml": "quarantined",
        "c_ledger.csv": "loaded",
        "d_ledger_again.csv": "duplicate",
        "e_not_a_message.xml": "quarantined",
        "f_unbalanced.csv": "quarantined",
        "g_notes.txt": "quarantined",
        "g_ledger_nul.csv": "quarantined",
        "h_statement_other_day.xml": "loaded",
    }
    assert "rejected by the database" in outcomes["g_ledger_nul.csv"][3]
    assert serial[1]["bank_entries"], "the good statements' entries are loaded"
    assert not [row for row in serial[1]["bank_entries"] if row[0] == "b_truncated.xml"]

    conn.execute(
        "truncate raw.ingested_files, raw.quarantined_files, "
        + ", ".join(f"raw.{t}" for t in sorted(set(ingest.RAW_TABLES.values())))
        + " cascade"  # the tier tables that reference raw.ingested_files (empty here)
    )
    conn.commit()

    # in parallel, no file is read by this process: every one goes to a worker
    def not_here(*args, **kwargs):
        raise AssertionError("a file was read in the main process")

    monkeypatch.setattr(ingest, "_read", not_here)
    parallel = _run(conn, settings, workers=2)

    assert parallel[0] == serial[0]  # outcomes: status, kind, row counts, quarantine reason
    assert parallel[1] == serial[1]  # every raw row, ingested file and quarantine record
    assert parallel[2] == serial[2]  # the files where they ended


def test_when_the_worker_processes_die_the_batch_is_read_in_process(conn, monkeypatch):
    # a broken pool (a worker killed, or one that could not start) is not the files' fault
    settings = config.load()
    settings.inbox.mkdir(parents=True)
    for name in ("a_statement.xml", "c_ledger.csv", "g_notes.txt"):
        (settings.inbox / name).write_text(BATCH[name])

    def broken(future):
        future.cancel()
        raise BrokenProcessPool("a worker was killed")

    monkeypatch.setattr(ingest, "_read_by_worker", broken)
    outcomes = {o.file_name: o.status for o in ingest.ingest_inbox(settings, workers=2)}

    assert outcomes == {"a_statement.xml": "loaded", "c_ledger.csv": "loaded", "g_notes.txt": "quarantined"}
    assert conn.execute("select count(*) from raw.bank_entries").fetchone()[0] == 2
