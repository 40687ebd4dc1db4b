"""Templates (Jinja2, autoescaped: member-written text always shows as text) and the page helper."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from web import texts
from web.security import Staff
from web.state import Console

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["urlencode"] = lambda value: quote(str(value), safe="")


def _static(name: str) -> str:
    version = int((STATIC / name).stat().st_mtime)
    return f"/console/static/{name}?v={version}"


env.globals.update(app_name=texts.APP_NAME, nav=texts.NAV, role_labels=texts.ROLE_LABELS, sign_out=texts.SIGN_OUT,
                   static=_static)


def flash_text(request: Request) -> str | None:
    """The flash message named in the query string (only known keys; numbers only as arguments)."""
    key = request.query_params.get("msg")
    if not key or key not in texts.FLASH:
        return None
    args = {k: int(v) for k in ("n", "m") if (v := request.query_params.get(k, "")).isdigit() and len(v) < 7}
    try:
        return texts.FLASH[key].format(**{"n": 0, "m": 0, **args})
    except (KeyError, IndexError):
        return None


def page(
    request: Request, template: str, *, title: str, staff: Staff | None, section: str = "", status: int = 200,
    **context: Any,
) -> HTMLResponse:
    flash = context.pop("flash", None) or flash_text(request)
    error = context.pop("error", None)
    if flash and request.query_params.get("msg") in texts.FLASH_ERRORS:  # a refusal named in the redirect
        error, flash = error or flash, None
    html = env.get_template(template).render(
        title=title, staff=staff, csrf=staff.csrf_token if staff else "", section=section, flash=flash,
        error=error, **context,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def local_time(console: Console, at: datetime | None) -> str:
    if at is None:
        return texts.UNKNOWN
    return at.astimezone(console.config.tz).strftime("%Y-%m-%d %H:%M")
