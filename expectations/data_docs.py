"""Great Expectations Data Docs that work without internet, with every run on the index.

GX's pages load Bootstrap, jQuery, bootstrap-table, Font Awesome and Vega
from public CDNs, and its index page builds its table of runs with one of
those scripts: offline the index lists no run and the status icons are
missing. After every checkpoint run this module turns the site into pages that
need nothing from outside and no script:

* each GX page (validation results, the suite): links and scripts to other
  hosts and inline scripts removed, one local stylesheet added
  (``static/deltran/offline.css``, written here) that lays the page out and
  draws the status icons; collapsed details are shown open, since no script
  will open them;
* the index page is replaced by a plain HTML table of **every** validation run
  in the results store (business date, run, when, result, which checks failed),
  newest first, each linking its page.

Idempotent: a page already processed carries a marker and is left as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

MARKER = "<!-- deltran: offline data docs -->"
CSS_PATH = "static/deltran/offline.css"

_EXTERNAL_TAG = re.compile(
    r"<script\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>\s*</script>"
    r"|<link\b[^>]*\bhref=[\"']?(?:https?:)?//[^>]*>",
    re.IGNORECASE,
)
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_EXTERNAL_IMG = re.compile(r"<img\b[^>]*\bsrc=[\"']?(?:https?:)?//[^>]*>", re.IGNORECASE)

OFFLINE_CSS = """\
/* Data Docs without Bootstrap or Font Awesome: written by expectations/data_docs.py */
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1b1b1b}
a{color:#1565c0}.container-fluid{padding:0 16px}.row{display:flex;flex-wrap:wrap}
.col-12,.col-md-10,.col-lg-10{flex:1 1 100%;box-sizing:border-box}.col-6{flex:1 1 48%;box-sizing:border-box}
.col-lg-2.col-md-2{flex:0 0 220px;box-sizing:border-box}@media(min-width:900px){.col-md-10{flex:1 1 0}}
.navbar{display:flex;align-items:center;gap:16px;padding:8px 16px;background:#f5f5f5;border-bottom:1px solid #ddd}
.breadcrumb{display:flex;list-style:none;margin:0;padding:0}.breadcrumb-item+.breadcrumb-item::before{content:"/";
padding:0 6px;color:#888}.sticky{position:sticky;top:0}.d-none{display:none}.hidden,[hidden]{display:none}
.card{border:1px solid #ddd;border-radius:4px;margin:8px 0}.card-header{background:#f5f5f5;padding:6px 10px;
border-bottom:1px solid #ddd}.card-body{padding:8px 10px}.alert{padding:8px 12px;border-radius:4px;margin:8px 0}
.alert-secondary{background:#eceff1}.table{border-collapse:collapse;width:100%;margin:6px 0}
.table td,.table th{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
.table-bordered td,.table-bordered th{border:1px solid #ddd}.table thead th{background:#f5f5f5}
.text-success{color:#2e7d32}.text-danger{color:#c62828}.nav{list-style:none;padding:0;margin:0}
.nav-link{display:block;padding:3px 8px}.collapse{display:block}.btn,.btn-group,.ge-validation-filter,
a[data-toggle=collapse],.cooltip .top{display:none}
.fas.fa-check-circle::before{content:"\\2714";font-style:normal}.fas.fa-times::before{content:"\\2716";
font-style:normal}.fas{font-style:normal;font-weight:700}
@media(min-width:768px){.d-md-inline-flex{display:inline-flex}}footer{display:none}
h1,h2,h3,h4,h5,h6{margin:10px 0 6px}code,pre{font-family:"DejaVu Sans Mono",monospace;font-size:12px}
"""


def _relative_root(page: Path, root: Path) -> str:
    depth = len(page.relative_to(root).parts) - 1
    return "../" * depth


def offline_page(html: str, root_prefix: str) -> str:
    """One GX page without anything from other hosts and without scripts, with the local stylesheet."""
    if MARKER in html:
        return html
    html = _EXTERNAL_TAG.sub("", html)
    html = _INLINE_SCRIPT.sub("", html)
    html = _EXTERNAL_IMG.sub("", html)
    link = f'{MARKER}\n<link rel="stylesheet" href="{root_prefix}{CSS_PATH}">'
    if "</head>" in html:
        return html.replace("</head>", link + "\n</head>", 1)
    return link + html


@dataclass(frozen=True)
class Run:
    suite: str
    run_name: str
    run_time: datetime | None
    business_date: str | None
    success: bool
    evaluated: int
    failed_checks: tuple[str, ...]
    page: str  # relative link to its page from the index


def _business_date(result: dict) -> str | None:
    meta = result.get("meta") or {}
    for source in (meta.get("active_batch_definition") or {}, meta.get("batch_spec") or {}):
        ids = (source.get("batch_identifiers") or {}).get("business_date")
        if isinstance(ids, dict) and {"year", "month", "day"} <= ids.keys():
            return f"{ids['year']:04d}-{ids['month']:02d}-{ids['day']:02d}"
    parameters = (meta.get("batch_parameters") or {}) if isinstance(meta.get("batch_parameters"), dict) else {}
    if {"year", "month", "day"} <= parameters.keys():
        return f"{parameters['year']:04d}-{parameters['month']:02d}-{parameters['day']:02d}"
    match = re.search(r"year_(\d{4})-month_(\d{1,2})-day_(\d{1,2})", json.dumps(meta.get("batch_spec") or {}))
    if match:
        return f"{int(match[1]):04d}-{int(match[2]):02d}-{int(match[3]):02d}"
    return None


def _run_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)  # Python 3.11 reads the trailing Z
    except ValueError:
        return None


def _check_label(result: dict) -> str:
    """``difference_within_ok (accounts beyond it: Minor)``: the suite's name for the check and what failing means."""
    config = result.get("expectation_config") or {}
    meta = config.get("meta") or {}
    name = meta.get("deltran_check") or config.get("type", "?")
    level = meta.get("level_on_failure")
    return f"{name} (accounts beyond it: {level})" if level else name


def validation_runs(results_dir: Path, docs_dir: Path) -> list[Run]:
    """Every stored validation result that has a Data Docs page, newest first."""
    runs = []
    for path in sorted(results_dir.rglob("*.json")):
        relative = path.relative_to(results_dir).with_suffix(".html")
        if not (docs_dir / "validations" / relative).is_file():
            continue
        result = json.loads(path.read_text())
        meta = result.get("meta") or {}
        run_id = meta.get("run_id") or {}
        failed = tuple(sorted(_check_label(r) for r in result.get("results") or [] if not r.get("success")))
        statistics = result.get("statistics") or {}
        runs.append(
            Run(
                suite=meta.get("expectation_suite_name") or relative.parts[0],
                run_name=run_id.get("run_name") or relative.parts[1],
                run_time=_run_time(run_id.get("run_time")),
                business_date=_business_date(result),
                success=bool(result.get("success")),
                evaluated=int(statistics.get("evaluated_expectations") or 0),
                failed_checks=failed,
                page="validations/" + "/".join(quote(part, safe="") for part in relative.parts),
            )
        )
    return sorted(runs, key=lambda r: (r.run_time is not None, r.run_time), reverse=True)


def index_page(runs: list[Run], suites: list[str]) -> str:
    rows = []
    for r in runs:
        icon = (
            '<span class="text-success" title="passed">&#10004; passed</span>'
            if r.success
            else f'<span class="text-danger" title="failed">&#10006; {len(r.failed_checks)} of {r.evaluated} '
            "checks failed</span>"
        )
        rows.append(
            f"<tr><td>{escape(r.business_date or '-')}</td><td>{escape(r.run_name)}</td>"
            f"<td>{escape(r.run_time.strftime('%Y-%m-%d %H:%M:%S UTC') if r.run_time else '-')}</td>"
            f"<td>{icon}</td><td>{escape(', '.join(r.failed_checks) or '-')}</td>"
            f'<td><a href="{escape(r.page)}">open the run</a></td></tr>'
        )
    suite_links = ", ".join(f'<a href="expectations/{quote(name, safe="")}.html">{escape(name)}</a>' for name in suites)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Data quality: every validation run'
        f"</title>{MARKER}\n"
        f'<link rel="stylesheet" href="{CSS_PATH}"></head><body><div class="container-fluid">'
        "<h1>Data quality: every validation run</h1>"
        "<p>Each run checks one business date of <code>marts.account_reconciliation</code> against the threshold "
        "bands: a failed check names the accounts whose difference between bank and ledger is beyond a band "
        "(open a run to see them). Newest first. The checks themselves, in words: "
        f"{suite_links or '-'}.</p>"
        '<table class="table table-bordered" id="validation-runs"><thead><tr><th>Business date</th><th>Run</th>'
        "<th>Checked at</th><th>Result</th><th>Failed checks</th><th>Page</th></tr></thead><tbody>"
        + ("".join(rows) or '<tr><td colspan="6">No validation run yet.</td></tr>')
        + "</tbody></table></div></body></html>"
    )


def make_offline(docs_dir: Path, results_dir: Path) -> Path:
    """Process the site in ``docs_dir`` (see the module's docstring); returns the index page."""
    css = docs_dir / CSS_PATH
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text(OFFLINE_CSS)
    for page in docs_dir.rglob("*.html"):
        if page == docs_dir / "index.html":
            continue
        html = page.read_text(encoding="utf-8")
        processed = offline_page(html, _relative_root(page, docs_dir))
        if processed != html:
            page.write_text(processed, encoding="utf-8")
    suites = sorted(p.stem for p in (docs_dir / "expectations").glob("*.html"))
    index = docs_dir / "index.html"
    index.write_text(index_page(validation_runs(results_dir, docs_dir), suites), encoding="utf-8")
    return index
