"""The threshold checkpoint as code: context, data source, batch, validation, actions.

Context choice: an **ephemeral** GX context (``mode="ephemeral"``), configured
here in full on every run. There is no ``great_expectations.yml`` to scaffold
(no ``gx init``) and nothing on disk that could drift from this code: the
thresholds in the suite are always today's :mod:`deltran.config`, and a change
of ``DELTRAN_THRESHOLD_*`` takes effect on the next run. It needs no network.

Two stores are still on disk, because they are outputs, not configuration:

* validation results in ``settings.var / "gx" / "validations"`` (JSON, one per
  run), so the Data Docs index keeps every past run: GX's index builder drops
  pages whose result is no longer in the results store, so an in-memory store
  would leave only the latest run visible;
* the Data Docs site in ``settings.reports / "data_docs"`` (``index.html``),
  rebuilt for the new result by ``UpdateDataDocsAction`` on every run, then made
  to work without internet by :mod:`expectations.data_docs` (GX's pages load
  Bootstrap/jQuery from public CDNs: they are served a local stylesheet instead,
  and the index lists every run in plain HTML).

The batch: a table asset on ``marts.account_reconciliation`` with a daily batch
definition on ``business_date``, so each run validates exactly one date
(batch parameters ``year``/``month``/``day``).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse
from urllib.request import url2pathname

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.datasource.fluent import SQLDatasource

from deltran import config
from expectations import data_docs
from expectations.threshold_suite import INDEX_COLUMN, build_suite

if TYPE_CHECKING:
    from great_expectations.checkpoint import CheckpointResult
    from great_expectations.data_context import EphemeralDataContext
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

CHECKPOINT_NAME = "account_reconciliation_thresholds"
DATASOURCE_NAME = "warehouse"
ASSET_NAME = "account_reconciliation"
BATCH_DEFINITION_NAME = "business_date"
DATA_DOCS_SITE = "local_site"

MART_SCHEMA = "marts"
log = logging.getLogger(__name__)
MART_TABLE = "account_reconciliation"


def data_docs_dir(settings: config.Settings) -> Path:
    return settings.reports / "data_docs"


def data_docs_index(settings: config.Settings) -> Path:
    return data_docs_dir(settings) / "index.html"


def validation_results_dir(settings: config.Settings) -> Path:
    return settings.var / "gx" / "validations"


def get_context(settings: config.Settings) -> EphemeralDataContext:
    """An ephemeral context with file-backed validation results and a local Data Docs site."""
    stores = InMemoryStoreBackendDefaults()  # suites, definitions, checkpoints: in memory
    stores.stores[stores.validation_results_store_name]["store_backend"] = {
        "class_name": "TupleFilesystemStoreBackend",
        "base_directory": str(validation_results_dir(settings)),
    }
    project_config = DataContextConfig(
        store_backend_defaults=stores,
        data_docs_sites={
            DATA_DOCS_SITE: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir(settings)),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),  # no tqdm bars in task logs
    )
    return gx.get_context(project_config=project_config, mode="ephemeral")


#: batches up to this many rows keep the failing values in the result and Data Docs
DOCS_VALUES_MAX_ROWS = 100


def result_format(max_rows: int) -> dict:
    """COMPLETE, naming each failing row by account_id.

    On SQL, GX caps ``unexpected_index_list`` at ``partial_unexpected_count``
    even in COMPLETE (default 20): it must be at least the batch's row count,
    or accounts beyond the cap would look as if they had failed nothing.

    Failing values (the percentages beside each account) are kept for batches
    of up to ``DOCS_VALUES_MAX_ROWS`` rows, so Data Docs show a table of
    account, value and count per failed band. Larger batches list failing rows
    by account_id only (``exclude_unexpected_values``): GX serialises each
    Decimal of a result through ``inspect.stack()`` (milliseconds each), which
    for thousands of failing accounts would take minutes before the breaker can
    act. Every account's figures are in ``control.threshold_checks`` either way.
    """
    return {
        "result_format": "COMPLETE",
        "unexpected_index_column_names": [INDEX_COLUMN],
        "partial_unexpected_count": max(int(max_rows), 20),
        "exclude_unexpected_values": max_rows > DOCS_VALUES_MAX_ROWS,
    }


def add_threshold_checkpoint(
    context: EphemeralDataContext,
    sqlalchemy_url: str,
    thresholds: config.Thresholds,
    max_rows: int,
) -> gx.Checkpoint:
    """Add the data source, suite, validation definition and checkpoint to ``context``."""
    with warnings.catch_warnings():
        # GX suggests add_postgres, which refuses the embedded server's socket URL.
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        datasource = context.data_sources.add_sql(name=DATASOURCE_NAME, connection_string=sqlalchemy_url)
    asset = datasource.add_table_asset(name=ASSET_NAME, table_name=MART_TABLE, schema_name=MART_SCHEMA)
    # validate_batchable=False: checking the column type needs a row, and the
    # definition must exist before any date has been built.
    batch_definition = asset.add_batch_definition_daily(
        name=BATCH_DEFINITION_NAME, column="business_date", validate_batchable=False
    )
    suite = context.suites.add(build_suite(thresholds))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=CHECKPOINT_NAME, data=batch_definition, suite=suite)
    )
    return context.checkpoints.add(
        gx.Checkpoint(
            name=CHECKPOINT_NAME,
            validation_definitions=[validation],
            actions=[UpdateDataDocsAction(name="update_data_docs", site_names=[DATA_DOCS_SITE])],
            result_format=result_format(max_rows),
        )
    )


def batch_parameters(business_date: date) -> dict[str, int]:
    """The daily batch of one business date."""
    return {"year": business_date.year, "month": business_date.month, "day": business_date.day}


def run_name(run_id: str) -> str:
    """GX files results under the run name: keep it a single path segment."""
    return run_id.replace("/", "_")


class _LossyDecimalNotices(logging.Filter):
    """Counts, and keeps out of the task log, GX's "lossy conversion for decimal" warnings.

    GX converts every Decimal it puts into a validation result (the failing
    values shown beside each account in Data Docs, the observed bounds) to float
    for JSON, and logs one warning per value: dozens per check. That float is
    display only and safe to drop from the log: the levels are decided from the
    failing rows' ``account_id`` (deltran.recon.checks), the bounds are refused
    at build time unless a float carries them exactly (threshold_suite._pct),
    and the exact figures are recorded from the mart as NUMERIC in
    control.threshold_checks. One summary line replaces them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Using lossy conversion for decimal"):
            self.count += 1
            return False
        return True


@contextlib.contextmanager
def _lossy_decimal_notices_summarised() -> Iterator[None]:
    """GX's "lossy conversion for decimal" warnings of the block as one summary line (see _LossyDecimalNotices)."""
    notices = _LossyDecimalNotices()
    gx_util_log = logging.getLogger("great_expectations.util")
    gx_util_log.addFilter(notices)
    try:
        yield
    finally:
        gx_util_log.removeFilter(notices)
    if notices.count:
        log.info(
            "GX turned %d Decimal figures into floats for its result JSON and Data Docs (display only)", notices.count
        )


def run_checkpoint(
    business_date: date,
    run_id: str,
    *,
    sqlalchemy_url: str,
    settings: config.Settings,
    max_rows: int,
) -> tuple[CheckpointResult, EphemeralDataContext]:
    """Run the checkpoint on one business date; returns the result and its context."""
    context = get_context(settings)
    checkpoint = add_threshold_checkpoint(context, sqlalchemy_url, settings.thresholds, max_rows)
    datasource = context.data_sources.get(DATASOURCE_NAME)
    assert isinstance(datasource, SQLDatasource)  # add_threshold_checkpoint made it with add_sql
    try:
        with _lossy_decimal_notices_summarised():
            result = checkpoint.run(
                batch_parameters=batch_parameters(business_date),
                run_id=gx.RunIdentifier(run_name=run_name(run_id)),
            )
    finally:
        datasource.get_engine().dispose()  # no pooled connections left behind per run
    # GX's pages load their styles and scripts from CDNs: make the site work offline, every run on its index
    data_docs.make_offline(data_docs_dir(settings), validation_results_dir(settings))
    return result, context


def data_docs_page(context: EphemeralDataContext, result_identifier: ValidationResultIdentifier) -> Path | None:
    """The Data Docs page of one validation result, as a local path."""
    for site in context.get_docs_sites_urls(resource_identifier=result_identifier, site_name=DATA_DOCS_SITE):
        url = site.get("site_url")
        if url and url.startswith("file://"):
            return Path(url2pathname(urlparse(url).path))
    return None


def run_query_checkpoint(
    query: str,
    name: str,
    run_id: str,
    *,
    sqlalchemy_url: str,
    settings: config.Settings,
    max_rows: int,
) -> CheckpointResult:
    """The same threshold suite on the rows of one SELECT (a tier-1 file or a tier-2 cut-off).

    The query must return the suite's columns (``account_id``,
    ``bank_closing_balance``, ``ledger_balance``, ``difference_pct``,
    ``under_backing_pct``). No Data Docs action: these checks run every few
    minutes and their figures are kept row by row in the ``tiers`` tables;
    rebuilding the Data Docs index each time would cost more than the check.
    """
    context = get_context(settings)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        datasource = context.data_sources.add_sql(name=DATASOURCE_NAME, connection_string=sqlalchemy_url)
    asset = datasource.add_query_asset(name=name, query=query)
    batch_definition = asset.add_batch_definition_whole_table(name=name)
    suite = context.suites.add(build_suite(settings.thresholds))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=name, validation_definitions=[validation], actions=[], result_format=result_format(max_rows))
    )
    try:
        with _lossy_decimal_notices_summarised():  # tiers 1 and 2 as the end of day: one line, not dozens
            return checkpoint.run(run_id=gx.RunIdentifier(run_name=run_name(run_id)))
    finally:
        datasource.get_engine().dispose()
