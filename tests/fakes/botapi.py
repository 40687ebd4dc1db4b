"""The fake Bot API of DESIGN.md: one ``LocalBotApi`` state with a chat-shaped API, served two ways.

* in-process: ``fake.request()`` is a ``telegram.request.BaseRequest`` for handler tests;
* over HTTP on 127.0.0.1: ``await fake.start_http()`` returns a base URL such as
  ``http://127.0.0.1:PORT/bot`` for end-to-end tests of the real entry point
  (routes ``/bot{token}/{method}`` and ``/file/bot{token}/{path}``). Several processes can share one
  fake and still be told apart: ``fake.base_url_for("A")`` is the same API under ``/via/A/``, and
  ``fake.origin(call)`` says which process made a call.

Tests never sleep: ``await fake.wait_for_call(...)`` wakes up on every recorded call.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.localapi import PLUMBING_METHODS, Call, JSONDict, LocalBotApi, LocalRequest, Upload, decode_form

# The ``/via/{origin}/`` prefix of the request being served (None: the plain base URL).
_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar("botapi_origin", default=None)



def current_origin() -> str | None:
    """The ``/via/{origin}/`` of the HTTP request being served (for a ``LocalBotApi`` subclass's ``call``)."""
    return _origin.get()


# What counts as "a text the bot sent to the chat" in a transcript.
TEXT_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText", "editMessageCaption",
    "answerCallbackQuery",
})


class FakeBotApi:
    """Chat-shaped test double of the Telegram Bot API (see the module docstring)."""

    def __init__(self, *, token: str | None = None, bot_username: str = "cppcc_demo_bot",
                 latency: float = 0.0) -> None:
        self.api = LocalBotApi(bot_username=bot_username)
        self.token = token  # when set, HTTP requests with another token get 401 like Telegram
        self.latency = latency  # seconds before each HTTP answer but getUpdates's (a distant Bot API server)
        self.base_url: str | None = None
        self._since = 0  # outbox position when the latest update was queued
        self._runner: web.AppRunner | None = None
        self._origins: dict[int, str] = {}  # id(call) -> the /via/ prefix it came through
        self._tagged: LocalBotApi | None = None  # the api whose calls are being tagged (tests swap ``api``)

    # ---- what users do (each returns the Update dict and queues it) --------------------------

    def user_sends(self, user_id: int, text: str, **kwargs: Any) -> JSONDict:
        self._since = len(self.api.calls)
        return self.api.user_sends(user_id, text, **kwargs)

    def user_sends_photo(self, user_id: int, photo: str | Path | bytes = b"\xff\xd8fake-jpeg",
                         caption: str | None = None, **kwargs: Any) -> JSONDict:
        self._since = len(self.api.calls)
        return self.api.user_sends_photo(user_id, photo, caption, **kwargs)

    def user_sends_document(self, user_id: int, path: str | Path, **kwargs: Any) -> JSONDict:
        self._since = len(self.api.calls)
        return self.api.user_sends_document(user_id, path, **kwargs)

    def user_sends_sticker(self, user_id: int, emoji: str = "👍", **kwargs: Any) -> JSONDict:
        self._since = len(self.api.calls)
        return self.api.user_sends_sticker(user_id, emoji, **kwargs)

    def user_sends_location(self, user_id: int, lat: float, lon: float, **kwargs: Any) -> JSONDict:
        self._since = len(self.api.calls)
        return self.api.user_sends_location(user_id, lat, lon, **kwargs)

    def user_edits(self, user_id: int, message_id: int, text: str) -> JSONDict:
        self._since = len(self.api.calls)
        return self.api.user_edits(user_id, message_id, text)

    def user_presses(self, user_id: int, data: str) -> JSONDict:
        """A button press with raw ``callback_data`` that no message carries (stale or forged)."""
        self._since = len(self.api.calls)
        return self.api.user_presses(user_id, data)

    def user_taps(self, user_id: int, label: str) -> JSONDict:
        """Press the button ``label`` on the newest message to the user that has it."""
        update = self.api.user_taps(user_id, label)
        if update is None:
            shown = [b for m in self.api.messages.get(user_id, {}).values()
                     for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
            raise AssertionError(f"no message to {user_id} has a button {label!r}; buttons: "
                                 f"{[b.get('text') for b in shown]}")
        self._since = len(self.api.calls)
        return update

    # ---- what the bot did --------------------------------------------------------------------

    def bot_calls(self, method: str | None = None, chat_id: int | str | None = None, *,
                  include_failed: bool = False) -> list[Call]:
        """Calls the bot made (successful ones unless ``include_failed``), oldest first."""
        return [c for c in self.api.calls
                if (method is None or c.method == method) and (chat_id is None or c.chat_id == chat_id)
                and (include_failed or c.ok)]

    def transcript(self, user_id: int | str) -> list[str]:
        """Texts the bot showed in that chat: messages, captions, edits and button alerts."""
        return [c.text for c in self.bot_calls(chat_id=user_id) if c.method in TEXT_METHODS and c.text]

    def fail_next(self, method: str, code: int, retry_after: int | None = None) -> None:
        self.api.fail_next(method, code, retry_after)

    @property
    def blocked(self) -> set[int]:
        """Chats whose sends answer 403 ``Forbidden: bot was blocked by the user``."""
        return self.api.blocked

    def mark(self) -> int:
        """The current outbox position, for ``wait_for_call(since=...)``."""
        return len(self.api.calls)

    async def wait_for_call(self, method: str | None = None, predicate: Callable[[Call], bool] | None = None,
                            *, timeout: float = 10.0, since: int | None = None,  # noqa: ASYNC109
                            include_failed: bool = False) -> Call:
        """Wait for a call made after the latest user action (or after ``since``); TimeoutError if none."""
        return await self.api.wait_for_call(method, predicate, timeout=timeout,
                                            since=self._since if since is None else since,
                                            include_failed=include_failed)

    def origin(self, call: Call) -> str | None:
        """Which ``base_url_for(origin)`` the call came through (None: the plain base URL)."""
        return self._origins.get(id(call))

    def base_url_for(self, origin: str) -> str:
        """The same API under ``/via/{origin}/``, so calls of one process can be told from another's."""
        assert self.base_url is not None, "start_http() first"
        return self.base_url.removesuffix("/bot") + f"/via/{origin}/bot"

    def replies_since(self, since: int, chat_id: int | str | None = None) -> list[Call]:
        return [c for c in self.api.calls[since:] if c.ok and c.method not in PLUMBING_METHODS
                and (chat_id is None or c.chat_id == chat_id)]

    # ---- serving -----------------------------------------------------------------------------

    def request(self) -> LocalRequest:
        """In-process transport for ``build_application(..., request=fake.request())``."""
        return LocalRequest(self.api)

    async def start_http(self) -> str:
        """Serve the Bot API on an ephemeral 127.0.0.1 port; returns the base URL (``.../bot``)."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        app.router.add_route("*", "/via/{origin}/bot{token}/{method}", self._serve_method)
        app.router.add_get("/via/{origin}/file/bot{token}/{path:.+}", self._serve_file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/bot"
        return self.base_url

    async def stop_http(self) -> None:
        self.api.close()  # release long polls first
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _token_ok(self, request: web.Request) -> bool:
        return self.token is None or request.match_info["token"] == self.token

    async def _serve_method(self, request: web.Request) -> web.Response:
        if not self._token_ok(request):
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"},
                                     status=401)
        fields: dict[str, str] = dict(request.query)
        files: dict[str, Upload] = {}
        params: JSONDict = {}
        if request.content_type == "application/json":
            params = await request.json()
        elif request.can_read_body:
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[name] = Upload(value.filename, value.file.read(), value.content_type)
                else:
                    fields[name] = str(value)
        params = {**decode_form(fields), **params}
        if self.latency and request.match_info["method"].lower() != "getupdates":
            await asyncio.sleep(self.latency)
        if self._tagged is not self.api:
            self._tagged = self.api
            self.api.listeners.append(self._tag)
        _origin.set(request.match_info.get("origin"))  # this request's task only
        status, body = await self.api.call(request.match_info["method"], params, files)
        return web.json_response(body, status=status, dumps=partial(json.dumps, ensure_ascii=False))

    def _tag(self, call: Call) -> None:
        """Listener: remember the origin of the request that made ``call`` (recorded in its task)."""
        origin = _origin.get()
        if origin is not None:
            self._origins[id(call)] = origin

    async def _serve_file(self, request: web.Request) -> web.Response:
        content = self.api.file_content(request.match_info["path"]) if self._token_ok(request) else None
        if content is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return web.Response(body=content)

    # ---- acting as Telegram towards a webhook --------------------------------------------------

    async def push_update(self, url: str, update: JSONDict, *, secret_token: str | None,
                          connect_deadline: float = 15.0) -> int:
        """POST ``update`` to the bot's webhook as Telegram would; returns the HTTP status.

        The webhook server starts listening just after ``setWebhook``, so refused connections are
        retried until ``connect_deadline`` (polling a port, like polling a process for its exit).
        """
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + connect_deadline
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.post(url, json=update, headers=headers) as response:
                        return response.status
                except aiohttp.ClientConnectorError:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(0.05)
