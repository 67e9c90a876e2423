"""One bad file never blocks the inbox; a quarantined file always has its record.

Real files, a real PostgreSQL; the outage is a real one (the server is shut down
while a file is being handled).
"""

from __future__ import annotations

import psycopg
import pytest

from deltran import config, db, ingest

pytestmark = pytest.mark.db

HEADER = "entry_id,journal_id,account,amount,currency,side,booked_at,value_date,kind,uetr,end_to_end_id,bank_reference,description\n"
GOOD = HEADER + (
    "e1,j1,AE070331234567890123456,10.00,AED,D,2026-11-20T10:00:00Z,,deposit,,,,\n"
    "e2,j1,LIAB:CLIENT:AED,10.00,AED,C,2026-11-20T10:00:00Z,,deposit,,,,\n"
)


def _drop(settings: config.Settings, files: dict[str, bytes]) -> None:
    settings.inbox.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (settings.inbox / name).write_bytes(data)


def test_any_failure_reading_a_file_quarantines_it_and_the_batch_goes_on(conn):
    settings = config.load()
    huge = "9" * 5000
    _drop(
        settings,
        {
            "a_bad_bytes.csv": GOOD.encode().replace(b"deposit", b"dep\xff\xfesit", 1),
            "b_overlong_field.csv": (GOOD.replace(",,,,\n", ",,,," + "x" * 200_000 + "\n", 1)).encode(),
            "c_number_too_large.csv": GOOD.replace("10.00", "1E+999999999").encode(),
            "d_json_int_too_large.jsonl": (
                '{"entry_id": "x", "journal_id": "j", "account": "A", "amount": ' + huge + ', "currency": "USD",'
                ' "side": "D", "booked_at": "2026-11-20T10:00:00Z", "kind": "deposit"}\n'
            ).encode(),
            "e_bad_bytes.jsonl": b'{"entry_id": "\xff"}\n',
            "z_good.csv": GOOD.encode(),
        },
    )
    outcomes = {o.file_name: o for o in ingest.ingest_inbox(settings)}  # does not raise
    assert outcomes["z_good.csv"].status == "loaded"
    bad = sorted(name for name in outcomes if name != "z_good.csv")
    for name in bad:
        assert outcomes[name].status == "quarantined", name
        assert outcomes[name].error, name
        assert (settings.quarantine / name).exists(), name
    assert not list(settings.inbox.iterdir())
    recorded = dict(conn.execute("select file_name, error from raw.quarantined_files").fetchall())
    assert sorted(recorded) == bad


def test_two_quarantined_files_with_the_same_bytes_keep_a_record_each(conn):
    settings = config.load()
    _drop(settings, {"one.txt": b"same bytes", "two.txt": b"same bytes"})
    ingest.ingest_inbox(settings)
    _drop(settings, {"one.txt": b"same bytes"})  # and the first again, in a later batch, same name
    ingest.ingest_inbox(settings)
    rows = conn.execute(
        "select file_name, error, quarantine_path from raw.quarantined_files order by quarantine_id"
    ).fetchall()
    assert [r[0] for r in rows] == ["one.txt", "two.txt"]  # the very same file again keeps its one record
    assert all("unsupported file type .txt" in r[1] for r in rows)
    assert len({r[2] for r in rows}) == 2
    assert all(settings.quarantine.joinpath(r[2]).exists() for r in rows)


def test_a_database_outage_while_quarantining_leaves_the_file_in_the_inbox(private_server, monkeypatch):
    settings = config.load()
    _drop(settings, {"broken.csv": b"not,a,ledger\n1,2,3\n"})
    real_rows_of = ingest._rows_of

    def outage_then_read(path):
        private_server.stop()  # the database goes away while the file is read
        return real_rows_of(path)

    monkeypatch.setattr(ingest, "_rows_of", outage_then_read)
    with pytest.raises(psycopg.OperationalError):
        ingest.ingest_inbox(settings)
    # the platform failed, not the file: it waits in the inbox, nothing is in quarantine without a record
    assert (settings.inbox / "broken.csv").exists()
    assert not settings.quarantine.exists() or not list(settings.quarantine.iterdir())

    monkeypatch.setattr(ingest, "_rows_of", real_rows_of)
    private_server.start()
    db._embedded_url.cache_clear()
    [outcome] = ingest.ingest_inbox(settings)
    assert outcome.status == "quarantined"
    with db.connect() as conn:
        [(name, path)] = conn.execute("select file_name, quarantine_path from raw.quarantined_files").fetchall()
    assert name == "broken.csv" and settings.quarantine.joinpath("broken.csv").exists()
    assert path == str(settings.quarantine / "broken.csv")
