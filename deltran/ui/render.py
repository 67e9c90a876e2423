"""The reconciliation page as HTML, with its charts as inline SVG.

Rendered on the server from the rows of :mod:`deltran.ui.queries`: no script,
no stylesheet or font from anywhere else, so the page works without internet
and inside the Airflow UI's frame. Every value is escaped. Amounts are shown
with their currency's minor units, percentages with four decimals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from html import escape
from typing import Any, cast
from urllib.parse import urlencode

from deltran import config
from deltran.numbers import amount
from deltran.numbers import percent as pct
from deltran.ui import queries

LEVEL_COLOURS = {"OK": "#2e7d32", "Minor": "#b8860b", "Significant": "#e65100", "Critical": "#c62828"}
BAND_FILLS = {"OK": "#e8f5e9", "Minor": "#fff8e1", "Significant": "#fff3e0", "Critical": "#ffebee"}


# --- numbers -------------------------------------------------------------------------------------------------


def efficiency(value: Decimal | None) -> str:
    """Netting efficiency as the marts hold it (a percentage with four decimals)."""
    return pct(value)


def ts(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


# --- SVG charts ----------------------------------------------------------------------------------------------


def _band_scale(thresholds: config.Thresholds, top: Decimal) -> tuple[Any, list[Decimal]]:
    """y position (0 = bottom, 1 = top) of a percentage: each band gets a quarter of the height.

    The bands (0.01, 0.05, 0.5 %) differ by orders of magnitude: on a linear
    axis the OK and Minor bands would be a hairline. Each band is linear within.
    """
    edges = [Decimal(0), thresholds.ok_pct, thresholds.minor_pct, thresholds.significant_pct, top]

    def y(value: Decimal) -> float:
        value = min(max(Decimal(value), Decimal(0)), top)
        for i in range(4):
            low, high = edges[i], edges[i + 1]
            if value <= high or i == 3:
                part = (value - low) / (high - low) if high > low else Decimal(0)
                return float((Decimal(i) + part) / 4)
        return 1.0

    return y, edges


def account_chart_svg(chart: queries.AccountChart, thresholds: config.Thresholds) -> str:
    """The account's difference % (solid) and under-backing % (dashed) against the four bands."""
    width, height, left, right, top_pad, bottom = 760, 280, 70, 110, 16, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [p.difference_pct for p in chart.points if p.difference_pct is not None]
    values += [p.under_backing_pct for p in chart.points if p.under_backing_pct is not None]
    top = max([thresholds.significant_pct * 2, *(v * Decimal("1.1") for v in values)])
    y_of, edges = _band_scale(thresholds, top)

    def py(value: Decimal) -> float:
        return top_pad + plot_h * (1 - y_of(value))

    if chart.source == "intraday" and chart.points:
        day = cast(datetime, chart.points[0].at).astimezone(UTC)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()

        def px(point: queries.ChartPoint) -> float:
            return left + plot_w * min(max((cast(datetime, point.at).timestamp() - start) / 86400, 0), 1)

        ticks = [(left + plot_w * h / 24, f"{h:02d}:00") for h in range(0, 25, 3)]
        x_title = "cut-off (UTC)"
    else:
        n = max(len(chart.points), 1)
        positions = {id(p): left + plot_w * ((i + 0.5) / n) for i, p in enumerate(chart.points)}

        def px(point: queries.ChartPoint) -> float:
            return positions[id(point)]

        step = max(1, math.ceil(n / 7))
        ticks = [(positions[id(p)], p.at.strftime("%m-%d")) for p in chart.points[::step]]
        x_title = "business date (end of day)"

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="checks of {_e(chart.account_id)}">'
        )
    ]
    for i, level in enumerate(config.LEVELS):
        y_high, y_low = py(edges[i + 1]), py(edges[i])
        parts.append(
            f'<rect x="{left}" y="{y_high:.1f}" width="{plot_w}" height="{y_low - y_high:.1f}" '
            f'fill="{BAND_FILLS[level]}"/>'
            f'<text x="{left + plot_w + 6}" y="{(y_high + y_low) / 2 + 4:.1f}" class="band" '
            f'fill="{LEVEL_COLOURS[level]}">{level}</text>'
        )
    for edge in edges[:-1]:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{py(edge):.1f}" y2="{py(edge):.1f}" stroke="#999" '
            f'stroke-width="0.5"/><text x="{left - 6}" y="{py(edge) + 4:.1f}" text-anchor="end" class="tick">'
            f"{_e(pct(edge))}</text>"
        )
    for x, label in ticks:
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top_pad + plot_h}" y2="{top_pad + plot_h + 4}" stroke="#666"/>'
            f'<text x="{x:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" class="tick">{_e(label)}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" class="tick">{x_title}; '
        f"each band has a quarter of the height</text>"
    )
    for attr, style in (("difference_pct", ""), ("under_backing_pct", ' stroke-dasharray="5 4"')):
        pts = [(px(p), py(getattr(p, attr))) for p in chart.points if getattr(p, attr) is not None]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            colour = "#37474f" if attr == "difference_pct" else "#c62828"
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{style}/>')
    for p in chart.points:
        if p.difference_pct is None:
            continue
        colour = LEVEL_COLOURS.get(p.level or "", "#555")
        when = ts(p.at) if isinstance(p.at, datetime) else p.at.isoformat()
        parts.append(
            f'<circle cx="{px(p):.1f}" cy="{py(p.difference_pct):.1f}" r="4" fill="{colour}">'
            f"<title>{_e(when)}: {_e(p.level)}, difference {_e(pct(p.difference_pct))} "
            f"({_e(amount(p.difference, chart.currency))}), under-backing {_e(pct(p.under_backing_pct))}</title>"
            "</circle>"
        )
    parts.append("</svg>")
    return "".join(parts)


def gross_matrix(picture: queries.ClearingPicture) -> str:
    """Gross obligations as a table: what each payer (row) owes each payee (column)."""
    names = sorted({p["participant"] for p in picture.positions})
    owed = {(g["payer"], g["payee"]): g["amount"] for g in picture.gross}
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    for payer in names:
        cells = "".join(
            f'<td class="num">{_e(amount(owed[(payer, payee)], picture.currency)) if (payer, payee) in owed else ""}'
            "</td>"
            for payee in names
        )
        rows.append(f"<tr><th>{_e(payer)}</th>{cells}</tr>")
    return (
        f'<table class="gross"><thead><tr><th>owes &darr; / to &rarr;</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _arrow_defs(prefix: str) -> str:
    return (
        "<defs>"
        + "".join(
            f'<marker id="{prefix}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" '
            f'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            for name, colour in (("gross", "#90a4ae"), ("instr", "#1565c0"))
        )
        + "</defs>"
    )


def clearing_svg(picture: queries.ClearingPicture) -> str:
    """Two panels: gross obligations between participants, and the instructions that settle the net positions."""
    ccy = picture.currency
    names = sorted({p["participant"] for p in picture.positions})
    nets = {p["participant"]: p["net_amount"] for p in picture.positions}
    panel, height, radius = 470, 440, 150
    centre = (panel / 2, height / 2 + 10)
    spots = {
        name: (
            centre[0] + radius * math.cos(2 * math.pi * i / max(len(names), 1) - math.pi / 2),
            centre[1] + radius * math.sin(2 * math.pi * i / max(len(names), 1) - math.pi / 2),
        )
        for i, name in enumerate(names)
    }
    prefix = f"m{abs(hash((picture.window_closing, ccy))) % 10**8}"
    biggest = max([Decimal(1), *(g["amount"] for g in picture.gross), *(i["amount"] for i in picture.instructions)])

    # with many pairs the gross amounts would overlap: they are in the table below and on hover instead
    label_gross = len(picture.gross) <= 6

    def edge(a: str, b: str, value: Decimal, kind: str, bend: float, shift: float) -> str:
        (x1, y1), (x2, y2) = spots[a], spots[b]
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        ux, uy = dx / length, dy / length
        gap = 26  # stop at the node's circle
        sx, sy, ex, ey = x1 + ux * gap, y1 + uy * gap, x2 - ux * gap, y2 - uy * gap
        mx, my = (sx + ex) / 2 - uy * bend, (sy + ey) / 2 + ux * bend
        width = 1 + 5 * float(value / biggest)
        colour = "#90a4ae" if kind == "gross" else "#1565c0"
        label_x, label_y = (sx + ex) / 2 - uy * (bend * 0.55 + shift), (sy + ey) / 2 + ux * (bend * 0.55 + shift)
        return (
            f'<path d="M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}" fill="none" stroke="{colour}" '
            f'stroke-width="{width:.1f}" marker-end="url(#{prefix}-{"gross" if kind == "gross" else "instr"})">'
            f"<title>{_e(a)} pays {_e(b)} {_e(amount(value, ccy))}</title></path>"
            + (
                f'<text x="{label_x:.1f}" y="{label_y:.1f}" text-anchor="middle" class="edge {kind}">'
                f"{_e(amount(value, ccy))}</text>"
                if kind != "gross" or label_gross
                else ""
            )
        )

    def nodes(offset: float) -> str:
        out = []
        for name, (x, y) in spots.items():
            net = nets.get(name, Decimal(0))
            colour = "#2e7d32" if net > 0 else "#c62828" if net < 0 else "#555"
            sign = "+" if net > 0 else ""
            out.append(
                f'<circle cx="{x + offset:.1f}" cy="{y:.1f}" r="22" fill="{colour}" fill-opacity="0.12" '
                f'stroke="{colour}" stroke-width="2"/>'
                f'<text x="{x + offset:.1f}" y="{y - 27:.1f}" text-anchor="middle" class="node">{_e(name)}</text>'
                f'<text x="{x + offset:.1f}" y="{y + 36:.1f}" text-anchor="middle" class="net" fill="{colour}">'
                f"net {_e(sign + amount(net, ccy))}</text>"
            )
        return "".join(out)

    gross = "".join(edge(g["payer"], g["payee"], g["amount"], "gross", 28, 10) for g in picture.gross)
    instructions = "".join(edge(i["payer"], i["payee"], i["amount"], "instr", 0, 12) for i in picture.instructions)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="clearing" viewBox="0 0 {2 * panel} {height}" '
        f'width="{2 * panel}" height="{height}" role="img" aria-label="clearing window {_e(ccy)}">'
        + _arrow_defs(prefix)
        + f'<text x="{panel / 2}" y="18" text-anchor="middle" class="panel">Gross obligations: who owes whom</text>'
        + f'<text x="{panel * 1.5}" y="18" text-anchor="middle" class="panel">'
        "Settlement instructions: what actually moves</text>"
        + f'<line x1="{panel}" x2="{panel}" y1="24" y2="{height - 10}" stroke="#ddd"/>'
        + gross
        + nodes(0)
        + f'<g transform="translate({panel},0)">{instructions}</g>'
        + nodes(panel)
        + "</svg>"
    )


# --- the page ------------------------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:16px;color:#1b1b1b}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:24px 0 6px;border-bottom:1px solid #ddd;padding-bottom:3px}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;
vertical-align:top}th{background:#f5f5f5;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}.level{font-weight:600}.halted{color:#c62828;font-weight:600}.allowed{color:#2e7d32}
.note{color:#555;font-size:13px}.msg{padding:6px 10px;border-radius:4px;margin:8px 0}.ok{background:#e8f5e9}
.err{background:#ffebee}form.inline{display:inline-flex;gap:4px;margin:0 0 2px}input[type=text]{width:10em}td form.inline{display:flex}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif}svg .panel{font-size:13px;font-weight:600}
svg .node{font-weight:600}svg .edge.instr{fill:#1565c0;font-weight:600}svg .edge.gross{fill:#607d8b}
svg .band{font-weight:600}svg text.edge,svg text.net,svg text.node{paint-order:stroke;stroke:#fff;stroke-width:3px}nav a{margin-right:10px}
"""


def _level(level: str | None) -> str:
    if level is None:
        return '<span class="note">no statement</span>'
    return f'<span class="level" style="color:{LEVEL_COLOURS.get(level, "#555")}">{_e(level)}</span>'


def _table(headers: Iterable[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="note">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _link(business_date: date, **extra: Any) -> str:
    return "?" + urlencode({"date": business_date.isoformat(), **{k: v for k, v in extra.items() if v}})


def _reason_input(name: str = "reason", placeholder: str = "reason (required)") -> str:
    return f'<input type="text" name="{name}" placeholder="{placeholder}" required>'


def page(
    *,
    business_date: date,
    dates: list[date],
    user: str,
    may_act: bool,
    thresholds: config.Thresholds,
    accounts: list[queries.AccountRow],
    board: queries.BreakerBoard,
    chart: queries.AccountChart | None,
    windows: list[datetime],
    window: datetime | None,
    pictures: list[queries.ClearingPicture],
    discrepancies: list[queries.OpenDiscrepancy],
    expected_count: int,
    runs: list[queries.CheckRun],
    run_links: dict[str, str],
    data_docs_index: str | None,
    message: str | None = None,
    error: str | None = None,
) -> str:
    d = business_date.isoformat()
    out: list[str] = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Reconciliation {d}</title><style>{STYLE}</style></head><body>",
        f"<h1>Reconciliation, business date {d}</h1>",
        (
            '<form method="get" class="inline"><label>Business date <input type="date" name="date" '
            f'value="{d}"></label><button type="submit">Show</button></form> '
        ),
    ]
    if dates:
        out.append(
            '<span class="note">with end-of-day figures: '
            + ", ".join(f'<a href="{_link(x)}">{x.isoformat()}</a>' for x in dates[:7])
            + "</span>"
        )
    out.append(
        f'<p class="note">Signed in as <b>{_e(user)}</b>: '
        + (
            "you may reset breakers, resume payouts and work exceptions; every action needs a reason and is recorded "
            "with your name."
            if may_act
            else "read only (acting needs an Airflow role allowed to edit the eod_reconciliation DAG)."
        )
        + "</p>"
    )
    out.append(
        '<nav class="note"><a href="#accounts">Accounts</a><a href="#breakers">Breakers</a><a href="#chart">Chart</a>'
        '<a href="#clearing">Clearing</a><a href="#discrepancies">Discrepancies</a>'
        '<a href="#quality">Data-quality reports</a></nav>'
    )
    if message:
        out.append(f'<p class="msg ok" role="status">{_e(message)}</p>')
    if error:
        out.append(f'<p class="msg err" role="alert">{_e(error)}</p>')

    # accounts
    halted = sum(not a.payouts_allowed for a in accounts)
    out.append(
        f'<h2 id="accounts">Accounts ({len(accounts)}, {halted} halted), worst first</h2>'
        f'<p class="note">Bands: OK up to {pct(thresholds.ok_pct)}, Minor up to {pct(thresholds.minor_pct)}, '
        f"Significant up to {pct(thresholds.significant_pct)}, Critical above, or when the ledger exceeds the bank "
        "beyond the OK band. Difference = bank - ledger (negative: under-backed).</p>"
    )
    rows = []
    for a in accounts:
        payouts = (
            '<span class="allowed">allowed</span>'
            if a.payouts_allowed
            else f'<span class="halted">halted</span> <span class="note">{_e(a.gate_reason)}</span>'
        )
        rows.append(
            f'<tr data-account="{_e(a.account_id)}"><td><a href="{_link(business_date, account=a.account_id)}#chart">'
            f"{_e(a.account_id)}</a></td><td>{_e(a.servicer_bic or '-')}</td><td>{_level(a.level)}</td>"
            f'<td class="num">{_e(amount(a.bank_balance, a.currency))}</td>'
            f'<td class="num">{_e(amount(a.ledger_balance, a.currency))}</td>'
            f'<td class="num">{_e(amount(a.difference, a.currency))}</td>'
            f'<td class="num">{_e(pct(a.difference_pct))}</td><td class="num">{_e(pct(a.under_backing_pct))}</td>'
            f"<td>{payouts}</td></tr>"
        )
    out.append(
        _table(
            [
                "Account",
                "Bank",
                "Level",
                "Bank balance",
                "Ledger balance",
                "Difference",
                "Difference %",
                "Under-backing %",
                "Payouts",
            ],
            rows,
            f"No account is known on {d}: no end-of-day reconciliation and no threshold check yet.",
        ).replace("<table>", '<table id="accounts-table">', 1)
    )

    # breaker board
    status = board.status
    net = status.network
    out.append('<h2 id="breakers">Breaker board</h2>')
    out.append(
        "<p>Network switch: "
        + (
            f'<span class="halted">OPEN since {_e(ts(net.since))}</span>: {_e(net.reason)}'
            if net and net.breaker == "open"
            else (
                '<span class="allowed">closed</span>' if net else '<span class="halted">missing (counts as open)</span>'
            )
        )
        + "</p>"
    )
    scopes = ([net] if net and net.breaker == "open" else []) + status.open_breakers
    rows = []
    for s in scopes:
        action = ""
        if may_act:
            action = (
                f'<form method="post" action="actions/breaker-reset" class="inline">'
                f'<input type="hidden" name="account_id" value="{_e(s.account_id)}">'
                f'<input type="hidden" name="date" value="{d}">{_reason_input()}'
                '<label class="note" title="reset although the latest check is still Critical (recorded as forced)">'
                '<input type="checkbox" name="force" value="1"> force</label>'
                f'<button type="submit">Reset breaker</button></form>'
            )
        rows.append(
            f"<tr><td>{_e(s.account_id)}</td><td>{_e(ts(s.since))}</td><td>{_e(s.reason)}</td><td>{action}</td></tr>"
        )
    out.append("<h3>Open breakers (payouts halted until a person resets)</h3>")
    out.append(_table(["Scope", "Open since", "Why", ""], rows, "No breaker is open."))
    rows = []
    for s in status.suspended:
        action = ""
        if may_act:
            action = (
                f'<form method="post" action="actions/payouts-resume" class="inline">'
                f'<input type="hidden" name="account_id" value="{_e(s.account_id)}">'
                f'<input type="hidden" name="date" value="{d}">{_reason_input()}'
                f'<button type="submit">Resume payouts</button></form>'
            )
        rows.append(
            f"<tr><td>{_e(s.account_id)}</td><td>{_e(ts(s.suspended_since))}</td><td>{_e(s.suspension_reason)}</td>"
            f"<td>{action}</td></tr>"
        )
    out.append("<h3>Payout suspensions (Significant; lifted by the next OK or Minor check, or by a person)</h3>")
    out.append(_table(["Account", "Suspended since", "Why", ""], rows, "No payout is suspended."))
    rows = [
        f"<tr><td>#{e.event_id}</td><td>{_e(ts(e.at))}</td><td>{_e(e.account_id)}</td><td>{_e(e.kind)}</td>"
        f"<td>{_e(e.from_state)} &rarr; {_e(e.to_state)}</td><td>{_e(e.actor)}</td><td>{_e(e.reason)}</td>"
        f"<td>{_e(e.check_name and f'{e.check_name} {e.business_date} {e.level}')}</td></tr>"
        for e in board.history
    ]
    out.append(f"<h3>History (latest {len(board.history)} changes)</h3>")
    out.append(_table(["Event", "At", "Scope", "Kind", "Change", "By", "Why", "Check"], rows, "No change yet."))

    # chart
    out.append('<h2 id="chart">Checks of one account over the day</h2>')
    if chart is None:
        out.append('<p class="note">No account to chart.</p>')
    else:
        picks = " ".join(
            f'<a href="{_link(business_date, account=a.account_id)}#chart">{_e(a.account_id)}</a>'
            for a in accounts
            if a.account_id != chart.account_id
        )
        out.append(f"<p>Account <b>{_e(chart.account_id)}</b> ({_e(chart.source)} checks). Others: {picks}</p>")
        if chart.note:
            out.append(f'<p class="note" id="chart-note">{_e(chart.note)}.</p>')
        if chart.points:
            out.append(account_chart_svg(chart, thresholds))
            out.append(
                '<p class="note">Solid: difference %; dashed red: under-backing % (ledger above bank); '
                "dots coloured by level (hover for figures).</p>"
            )
        else:
            out.append('<p class="note">No figures for this account.</p>')

    # clearing
    out.append('<h2 id="clearing">Clearing window</h2>')
    if windows:
        out.append(
            "<p>Windows closed on this date: "
            + " ".join(
                (
                    f"<b>{w:%H:%M} UTC</b>"
                    if w == window
                    else f'<a href="{_link(business_date, window=w.isoformat())}#clearing">{w:%H:%M} UTC</a>'
                )
                for w in windows
            )
            + "</p>"
        )
    for p in pictures:
        f = p.figures
        out.append(
            f"<h3>{_e(p.currency)}: window closing {_e(ts(p.window_closing))}</h3>"
            f"<p>{f['participant_count']} participants, {f['obligation_count']} obligations"
            f"{' (' + str(f['late_count']) + ' late)' if f['late_count'] else ''}; gross "
            f"{_e(amount(f['gross_amount'], p.currency))}, net {_e(amount(f['net_amount'], p.currency))}: "
            f"netting efficiency <b>{_e(efficiency(f['netting_efficiency_pct']))}</b> (bilateral alone "
            f"{_e(efficiency(f['bilateral_efficiency_pct']))}); {f['instruction_count']} instructions "
            f"(at most {f['instruction_bound']})"
            + (
                "; <span class='halted'>settlement held: net debit cap breached</span>"
                if f["is_settlement_held"]
                else ""
            )
            + "</p>"
        )
        out.append(clearing_svg(p))
        out.append(
            '<p class="note">Circles: participants with their net position (green receives, red pays). '
            "Arrow width follows the amount; hover an arrow for its amount.</p>"
        )
        out.append(
            f"<details><summary>Gross obligations of {_e(p.currency)} as a table</summary>{gross_matrix(p)}</details>"
        )
    if not pictures:
        out.append(f'<p class="note">No clearing window closed on {d}.</p>')

    # discrepancies
    out.append(f'<h2 id="discrepancies">Open discrepancies ({len(discrepancies)})</h2>')
    if expected_count:
        out.append(
            f'<p class="note">{expected_count} ledger posting(s) in flight are expected, not breaks, and not listed.'
            "</p>"
        )
    rows = []
    for x in discrepancies:
        actions = ""
        if may_act:
            hidden = (
                f'<input type="hidden" name="discrepancy_id" value="{_e(x.discrepancy_id)}">'
                f'<input type="hidden" name="date" value="{d}">'
            )
            actions = (
                f'<form method="post" action="actions/discrepancy" class="inline">{hidden}'
                '<input type="hidden" name="action" value="assign">'
                '<input type="text" name="owner" placeholder="new owner" required>'
                f'{_reason_input()}<button type="submit">Assign</button></form> '
                f'<form method="post" action="actions/discrepancy" class="inline">{hidden}'
                '<input type="hidden" name="action" value="resolve">'
                f'{_reason_input(placeholder="resolution note (required)")}<button type="submit">Resolve</button></form>'
            )
        rows.append(
            f'<tr data-discrepancy="{_e(x.discrepancy_id)}"><td><code>{_e(x.discrepancy_id)}</code></td>'
            f"<td>{_e(x.discrepancy_type)}{' (' + _e(x.side) + ')' if x.side else ''}</td><td>{_e(x.account_id)}</td>"
            f'<td>{_e(x.business_date)}</td><td class="num">{_e(x.age_days)} d</td><td>{_level(x.severity)}</td>'
            f"<td>{_e(x.state)}</td><td>{_e(x.owner)}</td>"
            f'<td class="num">{_e(amount(x.difference, x.currency))}</td><td>{actions}</td></tr>'
        )
    out.append(
        _table(
            ["Id", "Type", "Account", "Date", "Age", "Severity", "State", "Owner", "Difference", ""],
            rows,
            f"No open discrepancy up to {d}.",
        )
    )

    # data quality
    out.append('<h2 id="quality">Data-quality reports (Great Expectations)</h2>')
    rows = []
    for r in runs:
        counts = ", ".join(f"{r.level_counts.get(level, 0)} {level}" for level in config.LEVELS)
        link = run_links.get(r.run_id)
        page_link = f'<a href="{_e(link)}">validation page</a>' if link else '<span class="note">no page</span>'
        rows.append(
            f"<tr><td>{_e(r.run_id)}</td><td>{_e(ts(r.checked_at))}</td>"
            f"<td>{'passed' if r.gx_success else 'failed'}</td><td>{_e(counts)}</td><td>{page_link}</td></tr>"
        )
    out.append(_table(["Run", "Checked", "Checkpoint", "Levels", "Data Docs"], rows, f"No threshold check on {d}."))
    if data_docs_index:
        out.append(f'<p><a href="{_e(data_docs_index)}">All validation runs (Data Docs index)</a></p>')
    out.append("</body></html>")
    return "".join(out)


def message_page(title: str, text: str, status_note: str = "") -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1><p>{_e(text)}</p>"
        f'<p class="note">{_e(status_note)}</p></body></html>'
    )
