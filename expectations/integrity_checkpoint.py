"""Checkpoints of the integrity suites (:mod:`expectations.integrity_suites`), one partition each.

One ephemeral context (as the threshold checkpoint's, :func:`expectations.checkpoint.get_context`),
one checkpoint per suite, each run with its partition as batch parameters:
``year``/``month``/``day`` of the business date for the daily marts, the window
closing for each clearing window of the day. Every run stores its result and
updates Data Docs (``UpdateDataDocsAction``); the site is made to work offline
once at the end.

A finding is a failing expectation's rows, each named (account and bank,
journal, window and currency). An expectation GX could not evaluate (the
database went away, a mart is missing) raises :class:`IntegrityCheckError`:
a check that could not run is never read as "no findings".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.partitioners import PartitionerColumnValue
from great_expectations.exceptions.exceptions import NoAvailableBatchesError

from deltran import config
from expectations import checkpoint as threshold_checkpoint
from expectations import data_docs
from expectations import integrity_suites as suites

DATASOURCE_NAME = "warehouse_integrity"
MAX_ROWS = 200  # rows listed per failing check (GX's own cap for unexpected rows)


class IntegrityCheckError(RuntimeError):
    """An integrity check could not run."""


@dataclass(frozen=True)
class Finding:
    suite: str
    check: str
    text: str  # what the rows have in common, e.g. "no end-of-day statement by the cut-off"
    partition: str  # "2026-11-20", "window 2026-11-20T06:00:00+00:00"
    rows: tuple[dict[str, Any], ...] = field(default=())

    def lines(self) -> list[str]:
        """One line per row: the check, then the row's identifying columns."""
        out = []
        for row in self.rows or ({},):
            named = ", ".join(f"{k} {v}" for k, v in row.items() if v is not None)
            out.append(f"{self.suite}.{self.check} ({self.partition}): {self.text}" + (f": {named}" if named else ""))
        return out


def _batch_definition(context: Any, datasource: Any, spec: suites.SuiteSpec) -> Any:
    asset = datasource.add_table_asset(name=spec.name, table_name=spec.table, schema_name=spec.schema)
    kind, _, column = spec.partition.partition(":")
    if kind == "daily":
        return asset.add_batch_definition_daily(name=spec.name, column=column, validate_batchable=False)
    if kind == "value":
        return asset.add_batch_definition(
            name=spec.name, partitioner=PartitionerColumnValue(column_name=column), validate_partitioner=False
        )
    return asset.add_batch_definition_whole_table(name=spec.name)


def _exception(result: Any) -> str | None:
    from deltran.recon.checks import _exception_message  # GX's two shapes of exception_info

    return _exception_message(result.exception_info)


def findings_from(validation: Any, suite: str, partition: str) -> list[Finding]:
    """The failing checks of one validation result, each with its rows; raises when one could not run."""
    found = []
    for result in validation.results:
        meta = result.expectation_config.meta or {}
        check = meta.get(suites.META_CHECK, result.expectation_config.type)
        error = _exception(result)
        if error:
            raise IntegrityCheckError(f"{suite}.{check} ({partition}) could not run: {error}")
        if result.success:
            continue
        details = ((result.result or {}).get("details") or {}).get("unexpected_rows") or []
        rows = tuple(dict(r) if isinstance(r, dict) else {"row": r} for r in details)
        found.append(Finding(suite, check, meta.get(suites.META_FINDING, check), partition, rows))
    return found


def run_integrity_checks(
    business_date: date,
    cutoff_at: datetime,
    windows: list[datetime],
    run_id: str,
    *,
    sqlalchemy_url: str,
    settings: config.Settings,
    include: tuple[str, ...] = ("statement_freshness", "statement_continuity", "ledger_consistency", "clearing"),
) -> list[Finding]:
    """Run the integrity suites on their partitions of ``business_date``; returns every finding."""
    context = threshold_checkpoint.get_context(settings)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        datasource = context.data_sources.add_sql(name=DATASOURCE_NAME, connection_string=sqlalchemy_url)
    day: dict[str, Any] = dict(threshold_checkpoint.batch_parameters(business_date))
    plan: list[tuple[suites.SuiteSpec, gx.ExpectationSuite, list[tuple[dict | None, str]]]] = []
    if "statement_freshness" in include:
        label = f"{business_date} cut-off {cutoff_at.isoformat()}"
        plan.append((suites.STATEMENT_FRESHNESS, suites.statement_freshness(business_date, cutoff_at), [(None, label)]))
    if "statement_continuity" in include:
        plan.append((suites.STATEMENT_CONTINUITY, suites.statement_continuity(), [(day, str(business_date))]))
    if "ledger_consistency" in include:
        plan.append((suites.LEDGER_CONSISTENCY, suites.ledger_consistency(), [(day, str(business_date))]))
    if "clearing" in include and windows:
        batches: list[tuple[dict | None, str]] = [
            ({"window_closing": w}, f"window {w.isoformat()}") for w in sorted(windows)
        ]
        plan.append((suites.CLEARING_INVARIANTS, suites.clearing_invariants(), batches))
    found: list[Finding] = []
    try:
        for spec, suite, partitions in plan:
            definition = _batch_definition(context, datasource, spec)
            validation = context.validation_definitions.add(
                gx.ValidationDefinition(name=spec.name, data=definition, suite=context.suites.add(suite))
            )
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=spec.name,
                    validation_definitions=[validation],
                    actions=[
                        UpdateDataDocsAction(name="update_data_docs", site_names=[threshold_checkpoint.DATA_DOCS_SITE])
                    ],
                    result_format={"result_format": "COMPLETE", "partial_unexpected_count": MAX_ROWS},
                )
            )
            for parameters, label in partitions:
                try:
                    result = checkpoint.run(
                        batch_parameters=parameters,
                        run_id=gx.RunIdentifier(run_name=threshold_checkpoint.run_name(f"{run_id}-{label}")),
                    )
                except NoAvailableBatchesError:
                    # the partition was read and holds no row: a mart of breaks (ledger_consistency) with none,
                    # a window without positions; missing statements are the freshness suite's finding
                    continue
                ((_, outcome),) = result.run_results.items()
                found += findings_from(outcome, spec.name, label)
    except IntegrityCheckError:
        raise
    except Exception as exc:  # a database gone away, a mart missing: the check did not run
        raise IntegrityCheckError(f"integrity checks on {business_date} could not run: {exc}") from exc
    finally:
        datasource.get_engine().dispose()
    data_docs.make_offline(
        threshold_checkpoint.data_docs_dir(settings), threshold_checkpoint.validation_results_dir(settings)
    )
    return found
