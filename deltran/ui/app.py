"""The reconciliation page: a FastAPI app the Airflow API server serves (plugins/deltran_ui.py).

Who may do what is the Airflow auth manager's answer, on the user Airflow
itself authenticated (``get_user``: the ``Authorization: Bearer`` header, or the
``_token`` cookie the Airflow UI sets at login, so the page works inside the
UI's frame). Plugin endpoints are not protected by Airflow by default: every
route here checks.

* reading the page needs a user allowed to read the ``eod_reconciliation`` DAG;
* acting (breaker reset, payouts resume, exception assign/resolve) needs a user allowed to
  edit it (``is_authorized_dag`` with method PUT: SimpleAuthManager's USER role
  and above; a viewer reads only), a reason, and a same-origin form post;
  the action calls the same function the command line calls and records the
  user's name as the actor.

The page itself is plain server-rendered HTML (deltran.ui.render): no script,
nothing from the internet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deltran import config, db
from deltran.recon import breaker, cases, exceptions
from deltran.ui import queries, render

log = logging.getLogger(__name__)

DAG_ID = "eod_reconciliation"  # permissions on this DAG decide who may read and act

_bearer = HTTPBearer(auto_error=False)


async def current_user(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Any:
    """The Airflow user of this request, or None when it carries no valid token."""
    from airflow.api_fastapi.core_api.security import get_user

    try:
        return await get_user(request, None, bearer)
    except HTTPException:
        return None


def _authorized(user: Any, method: Literal["GET", "PUT"]) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    return bool(get_auth_manager().is_authorized_dag(method=method, details=DagDetails(id=DAG_ID), user=user))


User = Annotated[Any, Depends(current_user)]  # an airflow BaseUser, or None


def may_read(user: Any) -> bool:
    return user is not None and _authorized(user, "GET")


def may_act(user: Any) -> bool:
    return user is not None and _authorized(user, "PUT")


def _same_origin(request: Request) -> bool:
    """A form post must come from a page of this server (the cookie alone is not consent)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    hosts = {request.headers.get("host", request.url.netloc), request.headers.get("x-forwarded-host")}
    return urlsplit(source).netloc in hosts - {None}


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(status_code=400, detail=f"not a date: {text!r} (expected YYYY-MM-DD)") from None


def _refusal(status: int, text: str) -> HTMLResponse:
    title = "Sign in to Airflow" if status == 401 else "Not allowed"
    note = "Open this page from the Airflow UI (Reconciliation in the menu) after logging in." if status == 401 else ""
    return HTMLResponse(render.message_page(title, text, note), status_code=status)


def create_app(settings_factory: Callable[[], config.Settings] = config.load) -> FastAPI:
    """The app; ``settings_factory`` is read on every request, so the environment decides the warehouse."""
    app = FastAPI(title="DelTran reconciliation", docs_url=None, redoc_url=None, openapi_url=None)

    def docs_dir() -> Path:
        return settings_factory().reports / "data_docs"

    def run_link(page: Path | None) -> str | None:
        """A Data Docs page of the report folder as a link served by this app."""
        if page is None:
            return None
        try:
            return "data-docs/" + page.resolve().relative_to(docs_dir().resolve()).as_posix()
        except ValueError:
            return None

    @app.get("/", response_class=HTMLResponse)
    def reconciliation_page(
        request: Request,
        user: User,
    ) -> Response:
        if user is None:
            return _refusal(401, "The reconciliation page needs an authenticated Airflow user.")
        if not may_read(user):
            return _refusal(403, f"{user.get_name()} may not read the {DAG_ID} DAG.")
        params = request.query_params
        settings = settings_factory()
        with db.connect(db.database_url(settings)) as conn:
            conn.read_only = True
            dates = queries.business_dates(conn)
            business_date = _parse_date(params.get("date")) or (dates[0] if dates else datetime.now(UTC).date())
            accounts = queries.accounts(conn, business_date)
            board = queries.breaker_board(conn)
            account = params.get("account") or (accounts[0].account_id if accounts else None)
            chart = queries.account_chart(conn, account, business_date) if account else None
            windows = queries.clearing_windows_of(conn, business_date)
            wanted = params.get("window")
            window = None
            if wanted:
                try:
                    window = next((w for w in windows if w == datetime.fromisoformat(wanted)), None)
                except ValueError:
                    raise HTTPException(status_code=400, detail=f"not a window closing time: {wanted!r}") from None
            window = window or (windows[-1] if windows else None)
            pictures = queries.clearing_pictures(conn, window) if window else []
            discrepancies, expected = queries.open_discrepancies(conn, business_date)
            runs = queries.check_runs(conn, business_date)
        index = docs_dir() / "index.html"
        html = render.page(
            business_date=business_date,
            dates=dates,
            user=user.get_name(),
            may_act=may_act(user),
            thresholds=settings.thresholds,
            accounts=accounts,
            board=board,
            chart=chart,
            windows=windows,
            window=window,
            pictures=pictures,
            discrepancies=discrepancies,
            expected_count=expected,
            runs=runs,
            run_links={r.run_id: link for r in runs if (link := run_link(r.data_docs_page))},
            data_docs_index="data-docs/index.html" if index.exists() else None,
            message=params.get("done"),
            error=params.get("error"),
        )
        return HTMLResponse(html)

    def _guard(request: Request, user: Any) -> HTMLResponse | None:
        if user is None:
            return _refusal(401, "Acting needs an authenticated Airflow user.")
        if not may_act(user):
            return _refusal(403, f"{user.get_name()} may not act: it needs permission to edit the {DAG_ID} DAG.")
        if not _same_origin(request):
            return _refusal(403, "The action must be posted from the reconciliation page itself.")
        return None

    def _back(business_date: str, **message: str) -> RedirectResponse:
        query = {"date": business_date, **message} if business_date else message
        return RedirectResponse("../?" + urlencode(query), status_code=303)

    @app.post("/actions/breaker-reset")
    def reset_breaker(
        request: Request,
        user: User,
        account_id: Annotated[str, Form()],
        reason: Annotated[str, Form()] = "",
        force: Annotated[str, Form()] = "",
        date_text: Annotated[str, Form(alias="date")] = "",
    ) -> Response:
        refused = _guard(request, user)
        if refused:
            return refused
        actor = user.get_name()
        try:
            with db.connect(db.database_url(settings_factory())) as conn:
                event = breaker.reset(conn, account_id, reason, actor, force=bool(force))
        except breaker.BreakerError as exc:
            return _back(date_text, error=str(exc))
        log.info("breaker of %s reset by %s from the reconciliation page: %s", account_id, actor, event.reason)
        return _back(date_text, done=f"Breaker of {event.account_id} closed by {event.actor}: {event.reason}")

    @app.post("/actions/payouts-resume")
    def resume_payouts(
        request: Request,
        user: User,
        account_id: Annotated[str, Form()],
        reason: Annotated[str, Form()] = "",
        date_text: Annotated[str, Form(alias="date")] = "",
    ) -> Response:
        refused = _guard(request, user)
        if refused:
            return refused
        actor = user.get_name()
        try:
            with db.connect(db.database_url(settings_factory())) as conn:
                event = breaker.resume(conn, account_id, reason, actor)
        except breaker.BreakerError as exc:
            return _back(date_text, error=str(exc))
        log.info("payouts of %s resumed by %s from the reconciliation page: %s", account_id, actor, reason)
        return _back(date_text, done=f"Payout suspension of {event.account_id} lifted by {event.actor}: {event.reason}")

    @app.post("/actions/discrepancy")
    def work_discrepancy(
        request: Request,
        user: User,
        discrepancy_id: Annotated[str, Form()],
        action: Annotated[str, Form()],
        reason: Annotated[str, Form()] = "",
        owner: Annotated[str, Form()] = "",
        date_text: Annotated[str, Form(alias="date")] = "",
    ) -> Response:
        refused = _guard(request, user)
        if refused:
            return refused
        if not reason.strip():
            return _back(date_text, error=f"{action} of {discrepancy_id} needs a reason")
        if action not in ("assign", "resolve"):
            return _back(date_text, error=f"unknown action {action!r}: assign or resolve")
        if action == "assign" and not owner.strip():
            return _back(date_text, error=f"assigning {discrepancy_id} needs an owner")
        actor = user.get_name()
        try:  # the same function as `deltran exceptions assign|resolve`
            with db.connect(db.database_url(settings_factory())) as conn:
                outcome = exceptions.act(
                    conn, action, [exceptions.resolve_id(conn, discrepancy_id)], actor=actor, note=reason, owner=owner
                )
        except cases.CaseError as exc:
            return _back(date_text, error=str(exc))
        if not outcome.changed:
            return _back(date_text, error="; ".join(f"{i} {why}" for i, why in outcome.skipped))
        [change] = outcome.changed
        return _back(
            date_text,
            done=f"{change.discrepancy_id}: {change.from_state} -> {change.to_state}, owner {change.owner} "
            f"(by {actor})",
        )

    @app.get("/data-docs/{path:path}")
    def data_docs(path: str, user: User) -> Response:
        """The Great Expectations Data Docs of the report folder, to the same readers as the page."""
        if user is None:
            return _refusal(401, "Data Docs need an authenticated Airflow user.")
        if not may_read(user):
            return _refusal(403, f"{user.get_name()} may not read the {DAG_ID} DAG.")
        root = docs_dir().resolve()
        target = (root / (path or "index.html")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise HTTPException(status_code=404, detail="no such Data Docs file")
        return FileResponse(target)

    return app
