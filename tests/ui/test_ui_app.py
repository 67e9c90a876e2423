"""The reconciliation page's FastAPI app on a real PostgreSQL, with Airflow's own auth manager.

Users are authenticated by the JWT Airflow issues at login (the ``_token``
cookie the UI sets, or a Bearer header) and authorised by the auth manager
(SimpleAuthManager: a viewer reads, a user or op acts). Actions go through the
same functions as the command line and are checked in the control tables.
"""

from __future__ import annotations

import re
from decimal import Decimal

import psycopg
import pytest
import ui_warehouse_day as warehouse_day
from starlette.testclient import TestClient
from ui_warehouse_day import DAY

from deltran.ui import render
from deltran.ui.app import create_app

pytestmark = pytest.mark.db

CRITICAL = "DE89370400440532013000"
SIGNIFICANT = "IL620108000000099999999"
SAME_ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def day(warehouse_url, tmp_path):
    docs = tmp_path / "var" / "reports" / "data_docs"
    page = docs / "validations" / "account_reconciliation_thresholds" / "scheduled__2026-11-20" / "run.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html><body>validation of 2026-11-20</body></html>")
    (docs / "index.html").write_text("<html><body>index</body></html>")
    (tmp_path / "secret.txt").write_text("not for the browser")
    warehouse_day.build(warehouse_url, docs_page=str(page))
    return warehouse_url


@pytest.fixture
def client(day, token_for):  # token_for: Airflow's auth manager is up, as in the API server
    with TestClient(create_app()) as c:
        yield c


def _as(client: TestClient, token: str) -> TestClient:
    client.cookies.set("_token", token)
    return client


def _breaker(url: str, account: str) -> tuple[str, int]:
    with psycopg.connect(url) as conn:
        state = conn.execute("select state from control.circuit_breakers where account_id = %s", (account,)).fetchone()
        events = conn.execute("select count(*) from control.circuit_breaker_events").fetchone()[0]
    return state[0], events


def _accounts_in_order(html: str) -> list[str]:
    return re.findall(r'<tr data-account="([^"]+)"', html)


# --- pure formatting ------------------------------------------------------------------------------------------


def test_amounts_keep_their_currency_minor_units_and_percentages_four_decimals():
    assert render.amount(Decimal("1234567.8"), "USD") == "1,234,567.80 USD"
    assert render.amount(Decimal(125000000), "JPY") == "125,000,000 JPY"
    assert render.amount(Decimal("-3.2505"), "KWD") == "-3.250 KWD"  # half-even at the third digit
    assert render.amount(None, "USD") == "-"
    assert render.pct(Decimal("0.793650790082175551")) == "0.7937 %"
    assert render.pct(Decimal(0)) == "0.0000 %"
    assert render.efficiency(Decimal("69.2308")) == "69.2308 %"  # the marts hold it as a percentage


# --- reading ---------------------------------------------------------------------------------------------------


def test_nobody_reads_without_a_valid_airflow_token(client):
    page = client.get("/", params={"date": DAY.isoformat()})
    assert page.status_code == 401
    assert CRITICAL not in page.text
    client.cookies.set("_token", "not-a-jwt")
    assert client.get("/").status_code == 401
    assert client.get("/data-docs/index.html").status_code == 401


def test_a_viewer_sees_every_account_worst_first_and_may_not_act(client, token_for):
    page = _as(client, token_for("vera", "viewer")).get("/", params={"date": DAY.isoformat()})
    assert page.status_code == 200, page.text
    html = page.text
    # halted first (breaker open, then suspended), then by level and size of the difference
    assert _accounts_in_order(html) == [
        CRITICAL,
        SIGNIFICANT,
        "GB29NWBK60161331926819",
        "AE070331234567890123456",
        "JP1234567",
    ]
    assert "-3,968.25 USD" in html and "0.7936 %" in html  # DE: bank - ledger; 0.79365 % half-even
    assert "125,000,000 JPY" in html
    assert html.count('<span class="halted">halted</span>') == 2
    assert "read only" in html and "Reset breaker" not in html and "Assign" not in html
    # the breaker board: open breaker and suspension with why, and the history of both
    assert "Open breakers" in html and "Critical on 2026-11-20" in html and "Significant on 2026-11-20" in html
    assert "closed &rarr; open" in html and "allowed &rarr; suspended" in html
    # open discrepancies with ids, owners and ages; the in-flight one only counted
    assert "D-MISSING-1" in html and "D-AMOUNT-1" in html and "D-INFLIGHT-1" not in html
    assert '<td class="num">1 d</td>' in html  # D-MISSING-1 is a day old on the page's date
    assert "1 ledger posting(s) in flight are expected" in html
    # the clearing window: participants, gross, nets, instructions
    assert "netting efficiency <b>69.2308 %</b>" in html
    assert "BANKAAAA pays BANKBBBB 700.00 USD" in html  # a gross obligation
    assert html.count("BANKAAAA pays") == 1 + 2  # one gross, two instructions
    assert "-400.00 USD" in html and "+200.00 USD" in html
    matrix = html[html.index('<table class="gross">') :]
    assert re.search(r"<tr><th>BANKAAAA</th><td[^>]*></td><td[^>]*>700.00 USD</td><td[^>]*></td></tr>", matrix)
    # nothing is fetched from anywhere else: no script, no stylesheet link, no image source
    assert not re.search(r"<script|<link|<img|src=|@import|url\(http", html)


def test_the_chart_falls_back_to_end_of_day_figures_and_says_so(client, token_for, day):
    html = _as(client, token_for("vera", "viewer")).get("/", params={"date": DAY.isoformat()}).text
    assert "marts.intraday_checks does not exist yet" in html
    assert 'aria-label="checks of DE89370400440532013000"' in html
    with psycopg.connect(day) as conn:
        conn.execute(
            "create table marts.intraday_checks (cutoff_at timestamptz, account_id text, business_date date,"
            " currency text, difference numeric, difference_pct numeric, under_backing_pct numeric, level text)"
        )
        for hour, pct, level in ((9, "0.0050", "OK"), (12, "0.0300", "Minor"), (15, "0.7936", "Critical")):
            conn.execute(
                "insert into marts.intraday_checks values (%s, %s, %s, 'USD', -10, %s, %s, %s)",
                (f"{DAY} {hour}:00+00", CRITICAL, DAY, pct, pct, level),
            )
    html = client.get("/", params={"date": DAY.isoformat(), "account": CRITICAL}).text
    assert "does not exist yet" not in html and "(intraday checks)" in html
    chart = html[html.index('aria-label="checks of DE89') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count("<circle") == 3 and "Critical, difference 0.7936 %" in chart


def test_data_docs_are_served_to_readers_and_linked_per_run(client, token_for):
    html = _as(client, token_for("vera", "viewer")).get("/", params={"date": DAY.isoformat()}).text
    link = re.search(r'<a href="(data-docs/[^"]+)">validation page</a>', html).group(1)
    assert client.get("/" + link).text == "<html><body>validation of 2026-11-20</body></html>"
    assert client.get("/data-docs/index.html").status_code == 200
    assert client.get("/data-docs/../../secret.txt").status_code == 404
    assert client.get("/data-docs/%2E%2E/%2E%2E/secret.txt").status_code == 404


# --- acting ----------------------------------------------------------------------------------------------------


def test_actions_are_refused_without_an_authenticated_user_allowed_to_act(client, token_for, day):
    before = _breaker(day, CRITICAL)
    form = {"account_id": CRITICAL, "reason": "bank confirmed the funds", "date": DAY.isoformat()}
    anonymous = client.post("/actions/breaker-reset", data=form, headers=SAME_ORIGIN, follow_redirects=False)
    assert anonymous.status_code == 401
    viewer = _as(client, token_for("vera", "viewer")).post(
        "/actions/breaker-reset", data=form, headers=SAME_ORIGIN, follow_redirects=False
    )
    assert viewer.status_code == 403 and "vera may not act" in viewer.text
    refused = client.post(
        "/actions/discrepancy",
        data={"discrepancy_id": "D-AMOUNT-1", "action": "resolve", "reason": "x", "date": DAY.isoformat()},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert refused.status_code == 403
    # an allowed user, but the post does not come from the page (another site's form)
    cross_site = _as(client, token_for("alice", "op")).post(
        "/actions/breaker-reset", data=form, headers={"origin": "http://evil.example"}, follow_redirects=False
    )
    assert cross_site.status_code == 403
    assert _breaker(day, CRITICAL) == before == ("open", before[1])
    with psycopg.connect(day) as conn:
        assert conn.execute("select count(*) from control.discrepancy_case_events").fetchone()[0] == 0


def test_a_breaker_reset_needs_a_reason_and_records_who(client, token_for, day):
    alice = _as(client, token_for("alice", "user"))
    no_reason = alice.post(
        "/actions/breaker-reset",
        data={"account_id": CRITICAL, "reason": "  ", "date": DAY.isoformat()},
        headers=SAME_ORIGIN,
    )
    assert "needs a non-empty reason" in no_reason.text
    assert _breaker(day, CRITICAL)[0] == "open"
    form = {"account_id": CRITICAL, "reason": "bank confirmed the funds by phone", "date": DAY.isoformat()}
    still_critical = alice.post("/actions/breaker-reset", data=form, headers=SAME_ORIGIN)
    assert "is still Critical" in still_critical.text and _breaker(day, CRITICAL)[0] == "open"
    page = alice.post("/actions/breaker-reset", data={**form, "force": "1"}, headers=SAME_ORIGIN)
    assert page.status_code == 200 and page.url.path == "/"
    forced = "forced reset while the latest check (2026-11-20, run scheduled__2026-11-20) is Critical: "
    assert f"Breaker of {CRITICAL} closed by alice: {forced}bank confirmed the funds by phone" in page.text
    with psycopg.connect(day) as conn:
        actor, reason, change = conn.execute(
            "select actor, reason, from_state || '>' || to_state from control.circuit_breaker_events"
            " where account_id = %s order by event_id desc limit 1",
            (CRITICAL,),
        ).fetchone()
        allowed = conn.execute(
            "select payouts_allowed from control.payout_gate where account_id = %s", (CRITICAL,)
        ).fetchone()[0]
    assert (actor, reason, change, allowed) == (
        "alice",
        forced + "bank confirmed the funds by phone",
        "open>closed",
        True,
    )
    again = alice.post("/actions/breaker-reset", data={"account_id": CRITICAL, "reason": "again"}, headers=SAME_ORIGIN)
    assert "already closed" in again.text


def test_a_discrepancy_is_assigned_and_resolved_by_a_person(client, token_for, day):
    bob = client
    bob.headers["authorization"] = "Bearer " + token_for("bob", "op")  # the API's way, beside the UI's cookie
    base = {"discrepancy_id": "D-AMOUNT-1", "date": DAY.isoformat()}
    page = bob.post(
        "/actions/discrepancy",
        data={**base, "action": "assign", "owner": "treasury", "reason": "fee charged by the bank"},
        headers=SAME_ORIGIN,
    )
    assert "D-AMOUNT-1: open -&gt; investigating, owner treasury (by bob)" in page.text
    missing_note = bob.post(
        "/actions/discrepancy", data={**base, "action": "resolve", "reason": ""}, headers=SAME_ORIGIN
    )
    assert "needs a reason" in missing_note.text
    page = bob.post(
        "/actions/discrepancy",
        data={**base, "action": "resolve", "reason": "fee booked in the ledger, journal J-77"},
        headers=SAME_ORIGIN,
    )
    assert "D-AMOUNT-1: investigating -&gt; resolved" in page.text
    assert 'data-discrepancy="D-AMOUNT-1"' not in page.text  # no longer open
    with psycopg.connect(day) as conn:
        history = conn.execute(
            "select actor, to_state, owner, note from control.discrepancy_case_events order by event_id"
        ).fetchall()
    assert history == [
        ("bob", "investigating", "treasury", "fee charged by the bank"),
        ("bob", "resolved", "treasury", "fee booked in the ledger, journal J-77"),
    ]
    # the same function as the command line: a resolved exception is not resolved twice
    again = bob.post(
        "/actions/discrepancy", data={**base, "action": "resolve", "reason": "once more"}, headers=SAME_ORIGIN
    )
    assert "D-AMOUNT-1 is resolved: resolve applies to" in again.text


def test_a_user_allowed_to_act_sees_the_forms(client, token_for):
    html = _as(client, token_for("alice", "op")).get("/", params={"date": DAY.isoformat()}).text
    assert "you may reset breakers" in html
    assert html.count('action="actions/breaker-reset"') == 1  # one open breaker
    assert html.count('action="actions/payouts-resume"') == 1  # one suspension
    assert html.count('action="actions/discrepancy"') == 2 * 2  # assign and resolve per open discrepancy


def test_payouts_resume_needs_a_reason_and_records_who(client, token_for, day):
    form = {"account_id": SIGNIFICANT, "reason": "", "date": DAY.isoformat()}
    viewer = _as(client, token_for("vera", "viewer")).post("/actions/payouts-resume", data=form, headers=SAME_ORIGIN)
    assert viewer.status_code == 403
    alice = _as(client, token_for("alice", "user"))
    assert "needs a non-empty reason" in alice.post("/actions/payouts-resume", data=form, headers=SAME_ORIGIN).text
    page = alice.post(
        "/actions/payouts-resume", data={**form, "reason": "difference is the bank's fee"}, headers=SAME_ORIGIN
    )
    assert f"Payout suspension of {SIGNIFICANT} lifted by alice: resumed by hand: difference is the bank" in page.text
    assert 'action="actions/payouts-resume"' not in page.text  # no suspension left
    with psycopg.connect(day) as conn:
        last = conn.execute(
            "select kind, from_state, to_state, actor from control.circuit_breaker_events order by event_id desc limit 1"
        ).fetchone()
        allowed = conn.execute(
            "select payouts_allowed from control.payout_gate where account_id = %s", (SIGNIFICANT,)
        ).fetchone()[0]
    assert (last, allowed) == (("suspension", "suspended", "allowed", "alice"), True)
