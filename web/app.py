"""The console application: ``create_app(console)`` (routes in ``web.pages``), built and served by ``bot``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from web import texts
from web.pages import (
    audit,
    auth,
    broadcasts,
    credits,
    home,
    kb,
    learning,
    learning_push,
    members,
    proposals,
    qa,
    quiz,
)
from web.render import STATIC, page
from web.security import AdminOnly, CsrfFailed, NotSignedIn
from web.state import Console

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send "Origin: null" on form posts
}


def create_app(console: Console) -> FastAPI:
    """The staff console as an ASGI app; every route lives under ``/console``."""
    app = FastAPI(title=texts.APP_NAME, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console
    app.state.kb_lock = asyncio.Lock()  # one knowledge-base change at a time from this process
    for module in (auth, home, kb, qa, proposals, members, credits, learning, learning_push, quiz, broadcasts,
                   audit):
        app.include_router(module.router, prefix="/console")
    app.mount("/console/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method in ("GET", "HEAD"):
            return RedirectResponse("/console/signin", status_code=303)
        return page(request, "message.html", title=texts.TITLE_SIGNIN, staff=None, status=401,
                    message=texts.SESSION_ENDED, back="/console/signin")

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return page(request, "message.html", title=texts.TITLE_SIGNIN, staff=None, status=403,
                    message=texts.CSRF_FAILED, back="/console/")

    @app.exception_handler(AdminOnly)
    async def admin_only(request: Request, exc: AdminOnly) -> Response:
        return page(request, "message.html", title=texts.APP_NAME, staff=None, status=403,
                    message=texts.FORBIDDEN_ADMIN, back="/console/")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = texts.NOT_FOUND if exc.status_code == 404 else str(exc.detail)
        return page(request, "message.html", title=texts.APP_NAME, staff=None, status=exc.status_code,
                    message=message, back="/console/")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return page(request, "message.html", title=texts.APP_NAME, staff=None, status=400,
                    message=texts.NOT_FOUND, back="/console/")

    return app
