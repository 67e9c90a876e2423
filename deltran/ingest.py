"""Inbox -> raw tables: one file, one transaction, remembered by its SHA-256.

For each file in the inbox:
- its SHA-256 is already in raw.ingested_files: nothing is loaded again (the file
  is archived), so re-running a day or a backfill changes nothing;
- it parses: every record is written with COPY inside one transaction together
  with its raw.ingested_files row, then the file moves to the archive;
- it does not (bad XML, a message the platform does not take, an unbalanced
  journal, a value the database refuses): the transaction is rolled back, the
  file moves to quarantine and raw.quarantined_files records why. The rest of
  the batch goes on.

Anything that fails while reading a file (bad bytes, an over-long field, a
number too large to hold, whatever the reader raises) is the file's fault: it
is quarantined and the batch goes on. The quarantine record is committed before
the file is moved, and each quarantined file has a record of its own.

An infrastructure failure (the database going away) is not the file's fault: it
propagates, the file stays in the inbox, and the Airflow task retries.

The file is parsed once: rows are spooled per raw table into temporary files
(memory stays flat for files of any size) and then COPYed table by table,
because one connection runs one COPY at a time.

The files of a batch may be parsed side by side (Settings.ingest_workers
processes, when the batch holds more than one file to read and enough bytes to
pay for the processes' start-up): a worker only reads a file into its COPY
spool. Everything else stays in this process: the SHA-256 duplicate check and
the file's id in file order, the one transaction per file (a file read well is
written as its reading ends), quarantine and the rest in file order; a batch
therefore ends with the same rows, ids and quarantine records whether it was
parsed in parallel or one file after another.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import operator
import shutil
import tempfile
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

import psycopg
from psycopg.types.json import Json

import parsers
from deltran import config, db
from deltran.ledger import FIELDS as LEDGER_FIELDS
from deltran.ledger import SUFFIXES as LEDGER_SUFFIXES
from deltran.ledger import LedgerFormatError, read_ledger

log = logging.getLogger(__name__)

# record kind (parsers.records.to_rows) -> raw table
RAW_TABLES = {
    "statement": "bank_statements",
    "balance": "bank_balances",
    "entry": "bank_entries",
    "payment": "payments",
    "status": "payment_statuses",
    "return": "payment_returns",
    "finding": "statement_findings",
    "ledger": "ledger_lines",
}
LEDGER_COLUMNS = ("line_number",) + LEDGER_FIELDS
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
# Below this many bytes to read, a batch is parsed in this process: starting the
# worker processes (a fresh interpreter importing the parsers) costs more.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# What the database says about a file's values (a number out of range, a NUL in
# text, a check it breaks, a field over a limit) is the file's fault; anything
# else (connection lost, server down, disk full) is the platform's and propagates.
FILE_FAULTS = (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded)


@dataclass
class FileOutcome:
    file_name: str
    sha256: str
    status: str  # loaded | duplicate | quarantined
    kind: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    error: str | None = None


class BadFile(Exception):
    """The file's own fault: it goes to quarantine with this message."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _bool_text(value: bool) -> str:
    return "t" if value else "f"


def _null_text(_: None) -> str:
    return r"\N"


# The kinds of value the readers give besides text, as COPY's text format writes
# them; none of these texts holds a character COPY escapes.
_TEXT_OF: dict[type, Callable[[Any], str]] = {
    type(None): _null_text,
    bool: _bool_text,
    int: int.__str__,
    Decimal: Decimal.__str__,
    datetime: datetime.isoformat,
    date: date.isoformat,
}


def _copy_text(value: object) -> str:
    """One value in PostgreSQL's COPY text format."""
    to_text = _TEXT_OF.get(value.__class__)
    if to_text is not None:
        return to_text(value)
    if isinstance(value, (datetime, date)):  # a subclass of one
        return value.isoformat()
    text = str(value)
    if any(ch in text for ch in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_line(values: tuple) -> str:
    """One row in COPY text format (no newline): what joining _copy_text of each value gives.

    The per-row hot path of ingest (a million rows a day, several values each):
    each value is written by its class, and the line is checked for characters
    COPY must escape once, as a whole (its only backslashes are its nulls'),
    rather than value by value.
    """
    try:
        texts = [v if v.__class__ is str else _TEXT_OF[v.__class__](v) for v in values]
    except KeyError:  # another kind of value (a str subclass, a dict): value by value
        return "\t".join([_copy_text(v) for v in values])
    joined = "\t".join(texts)
    if (
        joined.count("\t") != len(texts) - 1
        or joined.count("\\") != values.count(None)
        or "\n" in joined
        or "\r" in joined
    ):
        return "\t".join([_copy_text(v) for v in values])  # something to escape: value by value
    return joined


def _columns(kind: str) -> tuple[str, ...]:
    return LEDGER_COLUMNS if kind == "ledger" else parsers.ROW_FIELDS[kind]


def _rows_of(path: Path) -> tuple[str, str | None, Iterator[tuple[str, dict]]]:
    """(file kind, message version, iterator of (record kind, row))."""
    suffix = path.suffix.lower()
    if suffix in LEDGER_SUFFIXES:
        return "ledger", None, (("ledger", row) for row in read_ledger(path))
    if suffix == ".xml":
        # one reading: the message type from the file's head, then its records from there on
        info, records = parsers.read_message(path)

        def rows() -> Iterator[tuple[str, dict]]:
            for record in records:
                for row in parsers.to_rows(record):
                    yield row["record"], row

        return info.message_type, info.version, rows()
    raise BadFile(
        f"unsupported file type {suffix or '(none)'}: "
        f"expected .xml (ISO 20022) or {', '.join(LEDGER_SUFFIXES)} (ledger export)"
    )


def _memory_spool() -> IO[str]:
    return tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY_BYTES, mode="w+")


def _spool(
    rows: Iterable[tuple[str, dict]], file_id: int, new_spool: Callable[[], IO[str]] = _memory_spool
) -> dict[str, tuple[IO[str], int]]:
    """Rows as COPY lines (file_id first) in one temporary file per raw table."""
    spools: dict[str, tuple[IO[str], int]] = {}
    getters = {kind: operator.itemgetter(*_columns(kind)) for kind in RAW_TABLES}
    prefix = f"{file_id}\t"
    for kind, row in rows:
        if kind not in RAW_TABLES:
            raise BadFile(f"record kind {kind!r} has no raw table")
        handle, count = spools.get(kind) or (new_spool(), 0)
        try:
            values = getters[kind](row)
        except KeyError:  # a row without some column: empty there
            values = tuple(row.get(column) for column in _columns(kind))
        handle.write(prefix + _copy_line(values) + "\n")
        spools[kind] = (handle, count + 1)
    return spools


def _next_file_id(conn: psycopg.Connection) -> int:
    # the file's id first (a quarantined file leaves a gap in the sequence), so
    # the spooled lines carry it and go to COPY in large blocks as they are
    file_id = db.one(conn.execute("select nextval(pg_get_serial_sequence('raw.ingested_files', 'file_id'))"))[0]
    conn.commit()
    return int(file_id)


Read = tuple[str, str | None, dict[str, tuple[IO[str], int]]]  # file kind, version, spools


def _read(path: Path, file_id: int, new_spool: Callable[[], IO[str]] = _memory_spool) -> Read:
    """The file's rows spooled as COPY lines; BadFile for whatever the file caused."""
    try:
        file_kind, version, rows = _rows_of(path)
        return file_kind, version, _spool(rows, file_id, new_spool)
    except (parsers.ParseError, LedgerFormatError, BadFile) as exc:
        raise BadFile(str(exc)) from exc
    except MemoryError:
        raise
    except Exception as exc:  # reading touches no database: whatever fails here, the file caused it
        raise BadFile(f"could not be read ({type(exc).__name__}): {exc}") from exc


# What a worker process hands back: ("read", file kind, version, {record kind:
# (spool file path, rows)}) or ("bad", the quarantine reason).
WorkerResult = tuple


def _read_in_worker(path: str, file_id: int, spool_dir: str) -> WorkerResult:
    """A worker process's job: read one file into spool files under spool_dir.

    The spools are closed and named, not sent back: the main process opens
    them for COPY. Files left by a bad file go with spool_dir.
    """

    def new_spool() -> IO[str]:
        return tempfile.NamedTemporaryFile(
            mode="w", encoding="utf-8", newline="", dir=spool_dir, suffix=".copy", delete=False
        )

    try:
        file_kind, version, spools = _read(Path(path), file_id, new_spool)
    except BadFile as exc:
        return ("bad", str(exc))
    named = {}
    for kind, (handle, count) in spools.items():
        handle.close()
        named[kind] = (handle.name, count)
    return ("read", file_kind, version, named)


def _read_by_worker(future: Future) -> Read:
    """A worker's result as _read gives it (its spool files opened), or BadFile."""
    result = future.result()  # a worker's MemoryError or a broken pool propagates: not the file's fault
    if result[0] == "bad":
        raise BadFile(result[1])
    _, file_kind, version, named = result
    spools: dict[str, tuple[IO[str], int]] = {}
    try:
        for kind, (name, count) in named.items():
            spools[kind] = (open(name, encoding="utf-8", newline=""), count)  # noqa: SIM115
    except BaseException:
        for handle, _ in spools.values():
            handle.close()
        raise
    return file_kind, version, spools


def _load(conn: psycopg.Connection, path: Path, sha256: str, reading: tuple[int, Future] | None = None) -> FileOutcome:
    if reading is None:
        file_id = _next_file_id(conn)
        file_kind, version, spools = _read(path, file_id)
    else:  # read by a worker process (ingest_inbox), its id taken before
        file_id, future = reading
        try:
            file_kind, version, spools = _read_by_worker(future)
        except BrokenProcessPool as exc:
            # the pool died (a worker killed, or one that could not start: with
            # the spawn method a worker imports the caller's __main__, so a
            # script must guard its entry point): not the file's fault, read it here
            log.warning("worker processes unavailable (%s): reading %s in-process", exc, path.name)
            file_kind, version, spools = _read(path, file_id)
    counts = {RAW_TABLES[kind]: count for kind, (_, count) in spools.items()}
    try:
        with conn.transaction():
            # Timestamps written without an offset in the file are taken as UTC.
            conn.execute("set local timezone = 'UTC'")
            conn.execute(
                "insert into raw.ingested_files"
                " (file_id, sha256, file_name, file_kind, message_version, size_bytes, row_counts)"
                " values (%s, %s, %s, %s, %s, %s, %s::jsonb)",
                (file_id, sha256, path.name, file_kind, version, path.stat().st_size, Json(counts)),
            )
            with conn.cursor() as cur:
                for kind, (handle, _) in spools.items():
                    columns = ", ".join(f'"{name}"' for name in ("file_id",) + _columns(kind))
                    handle.seek(0)
                    with cur.copy(f"copy raw.{RAW_TABLES[kind]} ({columns}) from stdin") as copy:
                        while block := handle.read(1 << 20):
                            copy.write(block)
    except FILE_FAULTS as exc:  # a value the database refuses is the file's fault
        raise BadFile(f"rejected by the database: {exc.diag.message_primary or exc}") from exc
    finally:
        for handle, _ in spools.values():
            handle.close()
    return FileOutcome(path.name, sha256, "loaded", file_kind, counts)


def _move(path: Path, folder: Path, sha256: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists() and sha256_of(target) != sha256:
        target = folder / f"{path.stem}.{sha256[:12]}{path.suffix}"
    shutil.move(str(path), target)
    return target


def _quarantine(
    conn: psycopg.Connection, path: Path, sha256: str, error: str, settings: config.Settings
) -> FileOutcome:
    """Record first, then move: a file never sits in quarantine without its reason.

    Every quarantined file gets a record of its own (two files with the same
    bytes under other names included) and a name of its own in the folder; the
    very same file (name and bytes) delivered again keeps its one record, so
    re-running a day changes nothing. If the database fails
    here, the error propagates and the file stays in the inbox for the next run.
    """
    settings.quarantine.mkdir(parents=True, exist_ok=True)
    with conn.transaction():
        inserted = conn.execute(
            "insert into raw.quarantined_files (sha256, file_name, error, quarantine_path) values (%s, %s, %s, '')"
            " on conflict (sha256, file_name) do nothing returning quarantine_id",
            (sha256, path.name, error),
        ).fetchone()
        if inserted is None:  # the very same file (name and bytes) again: its record and place stand
            target = Path(
                db.one(
                    conn.execute(
                        "select quarantine_path from raw.quarantined_files where sha256 = %s and file_name = %s",
                        (sha256, path.name),
                    )
                )[0]
            )
        else:
            target = settings.quarantine / path.name
            if target.exists():
                target = settings.quarantine / f"{path.stem}.q{inserted[0]}{path.suffix}"
            conn.execute(
                "update raw.quarantined_files set quarantine_path = %s where quarantine_id = %s",
                (str(target), inserted[0]),
            )
    shutil.move(str(path), target)
    log.warning("quarantined %s: %s", path.name, error)
    return FileOutcome(path.name, sha256, "quarantined", error=error)


def _known_kind(conn: psycopg.Connection, sha256: str) -> tuple[str] | None:
    known = conn.execute("select file_kind from raw.ingested_files where sha256 = %s", (sha256,)).fetchone()
    conn.commit()
    return known


def ingest_file(
    conn: psycopg.Connection,
    path: Path,
    settings: config.Settings,
    *,
    sha256: str | None = None,
    reading: tuple[int, Future] | None = None,
) -> FileOutcome:
    """One file: duplicate, loaded or quarantined.

    reading: (file id, a worker's future) when ingest_inbox has the file parsed
    in a worker process; the duplicate check is made here all the same.
    """
    sha256 = sha256 or sha256_of(path)
    outcome = _ingest_unless_bad(conn, path, settings, sha256, reading)
    if isinstance(outcome, str):
        return _quarantine(conn, path, sha256, outcome, settings)
    return outcome


def _ingest_unless_bad(
    conn: psycopg.Connection,
    path: Path,
    settings: config.Settings,
    sha256: str,
    reading: tuple[int, Future] | None = None,
) -> FileOutcome | str:
    """A duplicate or a loaded file (archived either way), or why it must be quarantined (not recorded yet)."""
    known = _known_kind(conn, sha256)
    if known:
        _move(path, settings.archive, sha256)
        return FileOutcome(path.name, sha256, "duplicate", known[0])
    try:
        outcome = _load(conn, path, sha256, reading)
    except BadFile as exc:
        return str(exc)
    _move(path, settings.archive, sha256)
    log.info("loaded %s (%s): %s", path.name, outcome.kind, outcome.rows)
    return outcome


def inbox_files(settings: config.Settings) -> list[Path]:
    """Files waiting in the inbox, oldest name first; hidden and partial files are skipped."""
    if not settings.inbox.exists():
        return []
    return sorted(
        p
        for p in settings.inbox.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith((".part", ".tmp"))
    )


def _parallel_workers(paths: list[Path], workers: int) -> int:
    """How many worker processes to read this batch with (1: in this process)."""
    if min(workers, len(paths)) < 2 or sum(p.stat().st_size for p in paths) < PARALLEL_MIN_BYTES:
        return 1
    return workers


def _ingest_in_parallel(
    conn: psycopg.Connection, paths: list[Path], settings: config.Settings, workers: int
) -> list[FileOutcome]:
    """The batch's files read by worker processes and written here one by one: each file read
    well as its reading ends, then the rest in file order.

    Each file not yet ingested gets its id in file order, and all are
    submitted at once, largest first: workers read ahead while this process
    writes the files already read, and the longest reading (the day's ledger
    export, named after the statements) does not start last, with nothing left
    to read beside it. A second copy of the same bytes within the batch is not
    submitted: by its turn the first copy is loaded (it is then a duplicate) or
    quarantined (it is read here, and gets its own record).
    """
    # spawn, not fork: the task process may hold threads and a database connection
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="deltran-ingest-") as spool_dir:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            hashes: dict[Path, str] = {}
            file_ids: dict[Path, int] = {}
            submitted: set[str] = set()
            for path in paths:
                hashes[path] = sha256 = sha256_of(path)
                if sha256 in submitted or _known_kind(conn, sha256):
                    continue
                submitted.add(sha256)
                file_ids[path] = _next_file_id(conn)
            readings: dict[Path, tuple[int, Future]] = {
                path: (file_ids[path], pool.submit(_read_in_worker, str(path), file_ids[path], spool_dir))
                for path in sorted(file_ids, key=lambda p: p.stat().st_size, reverse=True)
            }
            # Each file read well is written as soon as its reading ends, not in name order: the
            # day's largest file, read first (the ledger export), would otherwise be written last
            # with the workers idle (its COPY maintains every index of its raw table: about 18 s at a
            # million lines). Its id was taken in name order before, so the rows are the same; what
            # is quarantined, and anything else (a duplicate, a second copy in the batch, a worker
            # that failed), waits for the pass in name order below, so the records are too.
            written: dict[Path, FileOutcome | str] = {}  # loaded, or the reason the database refused it
            reading_of = {future: path for path, (_, future) in readings.items()}
            for future in as_completed(reading_of):
                path = reading_of[future]
                if future.exception() is None and future.result()[0] == "read":
                    written[path] = _ingest_unless_bad(conn, path, settings, hashes[path], readings[path])
            outcomes = []
            for path in paths:
                outcome = written.get(path)
                if isinstance(outcome, str):
                    outcome = _quarantine(conn, path, hashes[path], outcome, settings)
                elif outcome is None:
                    outcome = ingest_file(conn, path, settings, sha256=hashes[path], reading=readings.get(path))
                outcomes.append(outcome)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    return outcomes


def ingest_inbox(settings: config.Settings | None = None, *, workers: int | None = None) -> list[FileOutcome]:
    """Every file in the inbox, in name order.

    workers: processes to parse with (default settings.ingest_workers); a batch
    with one file to read, or fewer than PARALLEL_MIN_BYTES, is read in this
    process unless workers is given.
    """
    settings = settings or config.load()
    paths = inbox_files(settings)
    if workers is None:
        workers = _parallel_workers(paths, settings.ingest_workers)
    if multiprocessing.current_process().daemon:  # e.g. a pool's worker: it may not start processes of its own
        workers = 1
    workers = min(workers, len(paths))
    with db.connect() as conn:
        db.ensure_schema(conn)
        if workers >= 2:
            outcomes = _ingest_in_parallel(conn, paths, settings, workers)
        else:
            outcomes = [ingest_file(conn, path, settings) for path in paths]
        for table in tables_to_analyze(conn, outcomes):
            conn.execute(f"analyze raw.{table}")
        conn.commit()
        return outcomes


# A batch that adds more than this fraction of a table's rows (as its
# statistics last counted them) analyzes it at once: the dbt models that read
# it next would otherwise plan on the old counts (a first load of 100,000 rows
# planned as a few rows ran nested loops for minutes). A smaller batch, a
# day's files on a warehouse of many days, leaves it to autovacuum, which
# analyzes after the same fraction (autovacuum_analyze_scale_factor, 0.1):
# analyzing every raw table after every batch cost more than the batch itself
# once the history was a month long (1.4 s of a 2.1 s ingest at 30 demo days).
STALE_STATISTICS_FRACTION = 0.1


def tables_to_analyze(conn: psycopg.Connection, outcomes: list[FileOutcome]) -> list[str]:
    """The raw tables this batch grew by more than STALE_STATISTICS_FRACTION (or never analyzed)."""
    added: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.status == "loaded":
            for table, rows in outcome.rows.items():
                added[table] = added.get(table, 0) + rows
            added["ingested_files"] = added.get("ingested_files", 0) + 1
    if not added:
        return []
    # reltuples: the row count the statistics last saw (a PostgreSQL real; -1 when never analyzed)
    counted: dict[str, float] = dict(
        conn.execute(
            "select c.relname, c.reltuples from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
            " where n.nspname = 'raw' and c.relname = any(%s)",
            (list(added),),
        ).fetchall()
    )
    return sorted(
        table
        for table, rows in added.items()
        if counted.get(table, -1) < 0 or rows > STALE_STATISTICS_FRACTION * counted[table]
    )
