"""Sign-in with a one-time link, sign-out, and the page that tells how to get a link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from store import audit
from store import console as console_repo
from store.console import LinkOutcome
from web import texts
from web.render import page
from web.security import (
    COOKIE,
    CheckedStaff,
    ConsoleDep,
    clear_session_cookie,
    client_key,
    set_session_cookie,
)

router = APIRouter()

LINK_MESSAGES = {
    LinkOutcome.INVALID: (texts.LINK_INVALID, 400),
    LinkOutcome.EXPIRED: (texts.LINK_EXPIRED, 410),
    LinkOutcome.USED: (texts.LINK_USED, 410),
    LinkOutcome.FORBIDDEN: (texts.LINK_FORBIDDEN, 403),
}


def _refused(request: Request, outcome: LinkOutcome) -> Response:
    message, status = LINK_MESSAGES[outcome]
    return page(request, "message.html", title=texts.TITLE_SIGNIN, staff=None, status=status, message=message)


def _too_many(request: Request) -> Response:
    response = page(request, "message.html", title=texts.TITLE_SIGNIN, staff=None, status=429,
                    message=texts.TOO_MANY)
    response.headers["Retry-After"] = "600"
    return response


@router.get("/signin")
async def signin_help(request: Request) -> Response:
    """How to get a sign-in link."""
    return page(request, "message.html", title=texts.TITLE_SIGNIN, staff=None, message=texts.SIGNIN_HOWTO)


@router.get("/login")
async def login_page(request: Request, console: ConsoleDep, t: str = "") -> Response:
    """Opening the link shows a button; only pressing it uses the link up (link previews must not)."""
    key = client_key(request)
    if console.limiter.blocked(key):
        return _too_many(request)
    async with console.db.session() as session:
        secret = await console_repo.console_secret(session, configured=console.config.secret, now=console.clock())
        check = await console_repo.check_link(session, token=t, secret=secret, now=console.clock())
    if check.outcome is not LinkOutcome.OK or check.member is None:
        console.limiter.fail(key)
        return _refused(request, check.outcome)
    response = page(request, "login.html", title=texts.TITLE_SIGNIN, staff=None, token=t,
                    greeting=texts.SIGNIN_CONFIRM.format(name=check.member.name), button=texts.SIGNIN_BUTTON)
    return response


@router.post("/login")
async def login(request: Request, console: ConsoleDep, t: Annotated[str, Form()] = "") -> Response:
    """Use the link up and start a session (a fresh cookie: an old one is ended, never reused)."""
    key = client_key(request)
    if console.limiter.blocked(key):
        return _too_many(request)
    now = console.clock()
    async with console.db.session() as session:
        secret = await console_repo.console_secret(session, configured=console.config.secret, now=now)
        check, opened = await console_repo.consume_link(session, token=t, secret=secret, now=now)
        if opened is not None:
            await console_repo.end_session(session, token=request.cookies.get(COOKIE), now=now)
            await audit.record(session, actor=opened.member, action="console.signin", at=now,
                               target=f"member:{opened.member.id}", detail={"via": "console"})
    if opened is None:
        console.limiter.fail(key)
        return _refused(request, check.outcome)
    response = RedirectResponse("/console/?msg=signed_in", status_code=303)
    set_session_cookie(response, request, opened.token, console)
    return response


@router.post("/logout")
async def logout(request: Request, console: ConsoleDep, staff: CheckedStaff) -> Response:
    async with console.db.session() as session:
        await console_repo.end_session(session, token=request.cookies.get(COOKIE), now=console.clock())
    response = page(request, "message.html", title=texts.TITLE_SIGNIN, staff=None, message=texts.SIGNED_OUT)
    clear_session_cookie(response, request)
    return response
