"""Who is signed in, CSRF tokens on every form, and safe cookies."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Header, Request
from starlette.responses import Response

from store import console as console_repo
from store.models import Member, Role
from web.state import Console

COOKIE = "cppcc_console"
COOKIE_PATH = "/console"


class NotSignedIn(Exception):
    """No valid session: pages redirect to the sign-in help, forms get 401."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token, or from another site."""


class AdminOnly(Exception):
    """An admin-only action by someone else."""


def get_console(request: Request) -> Console:
    return request.app.state.console


ConsoleDep = Annotated[Console, Depends(get_console)]


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of this request."""

    member: Member
    csrf_token: str
    session_id: int

    @property
    def is_admin(self) -> bool:
        return self.member.role_enum is Role.ADMIN


async def current_staff(request: Request, console: ConsoleDep) -> Staff:
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotSignedIn
    cfg = console.config
    async with console.db.session() as session:
        active = await console_repo.session_for(
            session, token=token, now=console.clock(), idle=cfg.idle, max_age=cfg.max_age
        )
    if active is None:
        raise NotSignedIn
    return Staff(active.member, active.csrf_token, active.id)


StaffDep = Annotated[Staff, Depends(current_staff)]


def _same_origin(request: Request) -> bool:
    """Browsers send Origin on POSTs; when they do it must be this site (a second line behind the token)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or ""
    return urlsplit(origin).netloc == host


async def checked_staff(
    request: Request,
    staff: StaffDep,
    csrf: Annotated[str, Form()] = "",
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> Staff:
    """The signed-in staff member of a state-changing request whose CSRF token is right."""
    given = csrf or x_csrf_token or ""
    if not given or not hmac.compare_digest(given.encode(), staff.csrf_token.encode()) or not _same_origin(request):
        raise CsrfFailed
    return staff


CheckedStaff = Annotated[Staff, Depends(checked_staff)]


def require_admin(staff: Staff) -> None:
    if not staff.is_admin:
        raise AdminOnly


def set_session_cookie(response: Response, request: Request, token: str, console: Console) -> None:
    response.set_cookie(
        COOKIE, token, max_age=int(console.config.max_age.total_seconds()), path=COOKIE_PATH, httponly=True,
        samesite="lax", secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")


def client_key(request: Request) -> str:
    """The client address (uvicorn puts the proxy's X-Forwarded-For here when it trusts the proxy)."""
    return request.client.host if request.client else "unknown"
