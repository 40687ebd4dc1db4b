"""An in-memory Bot API server: the terminal demo and the tests drive the real ``telegram.Bot`` with it.

``LocalBotApi`` is the state (update queue, outbox of calls, messages per chat with their inline
keyboards, uploaded files); ``LocalRequest`` answers the bot's HTTP requests in-process, so no token
and no network are needed. Builders such as ``user_sends`` and ``user_taps`` make incoming updates.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import mimetypes
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from telegram.request import BaseRequest, RequestData

JSONDict = dict[str, Any]

BOT_ID = 5_000_000_001
DEFAULT_GROUP_ID = -1_001_000_000_001
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Calls the bot makes to run itself rather than to talk to anyone.
PLUMBING_METHODS = frozenset({
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "setMyCommands", "deleteMyCommands", "getMyCommands", "getFile", "close", "logOut",
})
# Form fields that are plain strings on the wire (everything else is JSON-encoded by the client).
STRING_FIELDS = frozenset({
    "text", "caption", "callback_query_id", "file_id", "url", "secret_token", "parse_mode", "action",
    "language_code", "emoji", "title", "description", "short_description", "name", "query",
    "inline_message_id", "photo", "document", "sticker", "video", "audio", "voice", "animation",
})
BLOCKABLE_PREFIXES = ("send", "copy", "forward", "edit")
BLOCKED_DESCRIPTION = "Forbidden: bot was blocked by the user"


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional ``retry_after``."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def error_for(code: int, retry_after: int | None = None, description: str | None = None) -> ApiError:
    """The error Telegram would send for ``code`` (429 carries ``retry_after``)."""
    if description is None:
        description = {
            400: "Bad Request: emulated failure",
            403: BLOCKED_DESCRIPTION,
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
            429: f"Too Many Requests: retry after {retry_after or 1}",
        }.get(code, f"Error {code}")
    if code == 429 and retry_after is None:
        retry_after = 1
    return ApiError(code, description, retry_after)


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    mime_type: str | None = None


@dataclass
class Call:
    """One Bot API request the bot made, with what the emulator answered."""

    seq: int
    method: str
    params: JSONDict
    files: dict[str, Upload] = field(default_factory=dict)
    chat_id: int | str | None = None
    status: int = 200
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def text(self) -> str | None:
        """The text or caption the call shows to the user (an alert's text for callback answers)."""
        value = self.params.get("text", self.params.get("caption"))
        if value is None and self.method == "sendMediaGroup":
            media = self.params.get("media") or [{}]
            value = media[0].get("caption") if isinstance(media[0], dict) else None
        return value if isinstance(value, str) else None

    @property
    def buttons(self) -> list[list[str]]:
        return button_labels(self.params.get("reply_markup"))

    def summary(self) -> JSONDict:
        """The shape the demo prints: ``{"method", "chat_id", "text", "buttons"}``."""
        return {"method": self.method, "chat_id": self.chat_id, "text": self.text, "buttons": self.buttons}


def button_labels(markup: Any) -> list[list[str]]:
    """Labels of an inline keyboard, row by row ([] when there is none)."""
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [[str(b.get("text", "")) for b in row] for row in markup.get("inline_keyboard") or []]


def decode_form(fields: Mapping[str, str]) -> JSONDict:
    """Decode form fields as PTB sends them: strings as-is, other values JSON-encoded."""
    params: JSONDict = {}
    for name, value in fields.items():
        if name in STRING_FIELDS:
            params[name] = value
            continue
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    return params


def _as_int(value: Any) -> Any:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


class LocalBotApi:
    """The state of an emulated Bot API server for one bot."""

    def __init__(
        self,
        *,
        bot_username: str = "cppcc_demo_bot",
        bot_name: str = "政协履职助手",
        first_update_id: int = 1,
    ) -> None:
        self.bot_user: JSONDict = {
            "id": BOT_ID, "is_bot": True, "first_name": bot_name, "username": bot_username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }
        self.updates: list[JSONDict] = []  # queued until confirmed by a getUpdates offset
        self.calls: list[Call] = []
        self.blocked: set[int] = set()
        self.messages: dict[int | str, dict[int, JSONDict]] = {}
        self.files: dict[str, bytes] = {}  # file_id -> content
        self.file_paths: dict[str, str] = {}  # file_path -> file_id
        self.commands: dict[str, list[JSONDict]] = {}  # scope (JSON) -> commands
        self.webhook: JSONDict = {}
        self.listeners: list[Callable[[Call], None]] = []
        self.closed = False
        self._users: dict[int, JSONDict] = {}
        self._callbacks: dict[str, int | str] = {}  # callback_query id -> chat id
        self._answered: set[str] = set()
        self._failures: dict[str, deque[ApiError]] = {}
        self._update_ids = itertools.count(first_update_id)
        self._message_ids: dict[int | str, itertools.count[int]] = {}
        self._ids = itertools.count(1)
        self._waiters: set[asyncio.Future[None]] = set()
        self._methods: dict[str, Callable[..., Any]] = {
            name: getattr(self, "_" + name) for name in (
                "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage",
                "editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia", "deleteMessage",
                "answerCallbackQuery", "sendPhoto", "sendDocument", "sendMediaGroup", "sendChatAction",
                "setMyCommands", "deleteMyCommands", "getMyCommands", "getFile", "close", "logOut",
            )
        }
        self._by_lower = {name.lower(): name for name in self._methods}

    # ---- serving requests -------------------------------------------------------------------

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, files: Mapping[str, Upload] | None = None
    ) -> tuple[int, JSONDict]:
        """Answer one Bot API request: ``(http_status, {"ok": ..., "result"|"description": ...})``."""
        name = self._by_lower.get(method.lower(), method)
        call = Call(seq=len(self.calls), method=name, params=dict(params or {}), files=dict(files or {}))
        call.chat_id = _as_int(call.params.get("chat_id"))
        if name == "answerCallbackQuery":
            call.chat_id = self._callbacks.get(str(call.params.get("callback_query_id")))
        if name == "getUpdates":  # recorded when the poll starts, so tests can wait for it
            self._record(call)
        try:
            failures = self._failures.get(name)
            if failures:
                raise failures.popleft()
            if name.startswith(BLOCKABLE_PREFIXES) and call.chat_id in self.blocked:
                raise ApiError(403, BLOCKED_DESCRIPTION)
            handler = self._methods.get(name)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(call.params, call.files)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            call.status, call.error = exc.code, exc.description
            body = exc.body()
        else:
            call.result = result
            body = {"ok": True, "result": result}
        if name != "getUpdates":
            self._record(call)
        return call.status, body

    def file_content(self, file_path: str) -> bytes | None:
        file_id = self.file_paths.get(file_path.lstrip("/"))
        return None if file_id is None else self.files.get(file_id)

    def fail_next(self, method: str, code: int, retry_after: int | None = None,
                  description: str | None = None) -> None:
        """Make the next call of ``method`` fail with ``code`` (429 with ``retry_after``, 403 …)."""
        self._failures.setdefault(method, deque()).append(error_for(code, retry_after, description))

    def close(self) -> None:
        """Release pending long polls (the server is going away)."""
        self.closed = True
        self._notify()

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        for listener in list(self.listeners):
            listener(call)
        self._notify()

    # ---- waiting (event-driven, no sleeping) ------------------------------------------------

    def _notify(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], Any], timeout: float) -> Any:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy (checked on every change); return its last value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closed:
                return value
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)
        return value

    async def wait_for_call(
        self, method: str | None = None, predicate: Callable[[Call], bool] | None = None, *,
        timeout: float = 5.0, since: int = 0, include_failed: bool = False,  # noqa: ASYNC109
    ) -> Call:
        """The first call at or after position ``since`` matching ``method`` and ``predicate``."""

        def find() -> Call | None:
            for call in self.calls[since:]:
                if (method is None or call.method == method) and (include_failed or call.ok) and (
                    predicate is None or predicate(call)
                ):
                    return call
            return None

        found = await self.wait_until(find, timeout)
        if found is None:
            seen = [f"{c.method}({c.chat_id}) {c.status} {c.text!r}"[:120] for c in self.calls[since:]]
            raise TimeoutError(f"no {method or 'call'} matched within {timeout}s; calls since: {seen}")
        return found

    # ---- builders of incoming updates ---------------------------------------------------------

    def enqueue(self, payload: JSONDict) -> JSONDict:
        """Queue an update (``payload`` without ``update_id``) and return it."""
        update = {"update_id": next(self._update_ids), **payload}
        self.updates.append(update)
        self._notify()
        return update

    def user(self, user_id: int, first_name: str | None = None) -> JSONDict:
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": first_name or f"用户{user_id}",
                      "language_code": "zh-hans"})
        if first_name:
            user["first_name"] = first_name
        return user

    def user_sends(self, user_id: int, text: str, *, first_name: str | None = None,
                   chat_type: str = "private", chat_id: int | None = None) -> JSONDict:
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._user_message(user_id, content, first_name=first_name, chat_type=chat_type,
                                  chat_id=chat_id)

    def user_sends_photo(self, user_id: int, photo: str | Path | bytes, caption: str | None = None,
                         **chat: Any) -> JSONDict:
        data = photo if isinstance(photo, bytes) else Path(photo).read_bytes()
        file = self._store_file(data, "photos", ".jpg")
        sizes = [{**file, "width": 1280, "height": 960}]
        content: JSONDict = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, content, **chat)

    def user_sends_document(self, user_id: int, path: str | Path, *, data: bytes | None = None,
                            file_name: str | None = None, mime_type: str | None = None,
                            caption: str | None = None, **chat: Any) -> JSONDict:
        name = file_name or Path(path).name
        content_bytes = data if data is not None else Path(path).read_bytes()
        file = self._store_file(content_bytes, "documents", Path(name).suffix)
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        content: JSONDict = {"document": {**file, "file_name": name, "mime_type": mime}}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(user_id, content, **chat)

    def user_sends_location(self, user_id: int, lat: float, lon: float, **chat: Any) -> JSONDict:
        return self._user_message(user_id, {"location": {"latitude": lat, "longitude": lon}}, **chat)

    def user_sends_sticker(self, user_id: int, emoji: str = "👍", **chat: Any) -> JSONDict:
        file = self._store_file(b"RIFF-sticker", "stickers", ".webp")
        sticker = {**file, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return self._user_message(user_id, {"sticker": sticker}, **chat)

    def user_edits(self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None) -> JSONDict:
        """The user edits an earlier message (an ``edited_message`` update)."""
        chat = chat_id if chat_id is not None else user_id
        message = dict(self.messages.get(chat, {}).get(message_id) or {
            "message_id": message_id, "date": int(time.time()), "chat": self._chat(chat),
            "from": self.user(user_id)})
        message.update(text=text, edit_date=int(time.time()))
        self.messages.setdefault(chat, {})[message_id] = message
        return self.enqueue({"edited_message": message})

    def user_presses(self, user_id: int, data: str, *, message: JSONDict | None = None) -> JSONDict:
        """A callback query with arbitrary ``data`` (a stale or forged button when ``message`` is None)."""
        query_id = str(next(self._ids))
        query: JSONDict = {"id": query_id, "from": self.user(user_id), "chat_instance": f"ci{user_id}",
                           "data": data}
        if message is not None:
            query["message"] = message
        self._callbacks[query_id] = message["chat"]["id"] if message is not None else user_id
        return self.enqueue({"callback_query": query})

    def find_button(self, chat_id: int | str, label: str) -> tuple[JSONDict, str] | None:
        """The newest bot message in the chat with a callback button labelled ``label``."""
        for message_id in sorted(self.messages.get(chat_id, {}), reverse=True):
            message = self.messages[chat_id][message_id]
            if not message.get("from", {}).get("is_bot"):
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
                for button in row:
                    if button.get("text") == label and "callback_data" in button:
                        return message, button["callback_data"]
        return None

    def user_taps(self, user_id: int, label: str) -> JSONDict | None:
        """Press the button labelled ``label`` on the newest message to the user; None if there is none."""
        found = self.find_button(user_id, label)
        if found is None:
            return None
        message, data = found
        return self.user_presses(user_id, data, message=message)

    def _user_message(self, user_id: int, content: JSONDict, *, first_name: str | None = None,
                      chat_type: str = "private", chat_id: int | None = None) -> JSONDict:
        user = self.user(user_id, first_name)
        if chat_type == "private":
            chat_id = user_id
            chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        else:
            chat_id = chat_id if chat_id is not None else DEFAULT_GROUP_ID
            chat = {"id": chat_id, "type": chat_type, "title": "委员交流群"}
        message = {"message_id": self._next_message_id(chat_id), "date": int(time.time()), "chat": chat,
                   "from": user, **content}
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return self.enqueue({"message": message})

    # ---- state helpers ----------------------------------------------------------------------

    def _next_message_id(self, chat_id: int | str) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _chat(self, chat_id: int | str) -> JSONDict:
        if isinstance(chat_id, int) and chat_id > 0:
            user = self.user(chat_id)
            return {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        return {"id": chat_id, "type": "supergroup", "title": str(chat_id)}

    def _store_file(self, data: bytes, folder: str, suffix: str) -> JSONDict:
        n = next(self._ids)
        file_id, file_path = f"FILE{n:06d}{folder[:3].upper()}", f"{folder}/file_{n}{suffix}"
        self.files[file_id] = data
        self.file_paths[file_path] = file_id
        return {"file_id": file_id, "file_unique_id": f"U{n:06d}", "file_size": len(data)}

    def _file_path_of(self, file_id: str) -> str | None:
        return next((p for p, f in self.file_paths.items() if f == file_id), None)

    def _bot_message(self, params: JSONDict, **content: Any) -> JSONDict:
        chat_id = _as_int(params.get("chat_id"))
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        message: JSONDict = {"message_id": self._next_message_id(chat_id), "date": int(time.time()),
                             "chat": self._chat(chat_id), "from": self.bot_user, **content}
        markup = self._markup(params)
        if markup:
            message["reply_markup"] = markup
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    @staticmethod
    def _markup(params: JSONDict) -> JSONDict | None:
        markup = _json_value(params.get("reply_markup"))
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _find_message(self, params: JSONDict) -> JSONDict:
        chat_id, message_id = _as_int(params.get("chat_id")), _as_int(params.get("message_id"))
        message = self.messages.get(chat_id, {}).get(message_id)
        if message is None or not message.get("from", {}).get("is_bot"):
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _uploaded(self, params: JSONDict, files: dict[str, Upload], name: str, folder: str) -> JSONDict:
        """Resolve a file parameter: an upload (``attach://`` or by name), or an existing file_id."""
        value = params.get(name)
        key = value[len("attach://"):] if isinstance(value, str) and value.startswith("attach://") else name
        upload = files.get(key)
        if upload is not None:
            stored = self._store_file(upload.content, folder, Path(upload.filename or "").suffix)
            return {**stored, "file_name": upload.filename, "mime_type": upload.mime_type}
        if isinstance(value, str) and value in self.files:
            return {"file_id": value, "file_unique_id": "U" + value, "file_size": len(self.files[value])}
        if isinstance(value, str) and value:
            return {"file_id": value, "file_unique_id": "U" + value[-12:]}
        raise ApiError(400, f"Bad Request: there is no {name} in the request")

    @staticmethod
    def _check_text(text: Any, limit: int, what: str = "message text") -> None:
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, f"Bad Request: {what} is empty")
        if len(text) > limit:
            raise ApiError(400, f"Bad Request: {what} is too long")

    # ---- Bot API methods --------------------------------------------------------------------

    def _getMe(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        return self.bot_user

    async def _getUpdates(self, params: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        pending = await self.wait_until(lambda: [u for u in self.updates if u["update_id"] >= offset],
                                        timeout)
        return (pending or [])[:limit]

    def _setWebhook(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token")}
        return True

    def _deleteWebhook(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def _getWebhookInfo(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    def _sendMessage(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        self._check_text(params.get("text"), MAX_TEXT)
        return self._bot_message(params, text=params["text"])

    def _editMessageText(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        self._check_text(params.get("text"), MAX_TEXT)
        return self._edit(params, "text", params["text"])

    def _editMessageCaption(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        return self._edit(params, "caption", params.get("caption"))

    def _editMessageReplyMarkup(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        return self._edit(params, None, None)

    def _editMessageMedia(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        media = _json_value(params.get("media"))
        if not isinstance(media, dict) or media.get("type") != "photo":
            raise ApiError(400, "Bad Request: only photo media are emulated")
        message = self._find_message(params)
        if "photo" not in message:
            raise ApiError(400, "Bad Request: there is no media in the message to edit")
        stored = self._uploaded({"photo": media.get("media")}, files, "photo", "photos")
        message["photo"] = [{"file_id": stored["file_id"], "file_unique_id": stored["file_unique_id"],
                             "width": 1280, "height": 960}]
        caption = self._caption(media)
        if caption:
            message["caption"] = caption["caption"]
        else:
            message.pop("caption", None)
        markup = self._markup(params)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    def _edit(self, params: JSONDict, key: str | None, value: Any) -> JSONDict:
        message = self._find_message(params)
        markup = self._markup(params)
        if (key is None or message.get(key) == value) and message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content "
                                "and reply markup are exactly the same as a current content and reply "
                                "markup of the message")
        if key is not None:
            message[key] = value
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return message

    def _deleteMessage(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        chat_id, message_id = _as_int(params.get("chat_id")), _as_int(params.get("message_id"))
        if self.messages.get(chat_id, {}).pop(message_id, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _answerCallbackQuery(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._callbacks or query_id in self._answered:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID "
                                "is invalid")
        self._answered.add(query_id)
        return True

    def _sendPhoto(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        photo = self._uploaded(params, files, "photo", "photos")
        photo.pop("file_name", None)
        photo.pop("mime_type", None)
        return self._bot_message(params, photo=[{**photo, "width": 1280, "height": 960}],
                                 **self._caption(params))

    def _sendDocument(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        document = {k: v for k, v in self._uploaded(params, files, "document", "documents").items() if v}
        return self._bot_message(params, document=document, **self._caption(params))

    def _caption(self, params: JSONDict) -> JSONDict:
        caption = params.get("caption")
        if caption is None:
            return {}
        self._check_text(caption, MAX_CAPTION, "message caption")
        return {"caption": caption}

    def _sendMediaGroup(self, params: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        media = _json_value(params.get("media"))
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: wrong number of media in the group (2-10)")
        group_id, messages = str(next(self._ids)), []
        for item in media:
            kind = item.get("type", "photo")
            stored = self._uploaded({kind: item.get("media")}, files, kind, kind + "s")
            body: JSONDict = {"media_group_id": group_id, **self._caption(item)}
            if kind == "photo":
                body["photo"] = [{"file_id": stored["file_id"], "file_unique_id": stored["file_unique_id"],
                                  "width": 1280, "height": 960}]
            else:
                body[kind] = {k: v for k, v in stored.items() if v}
            messages.append(self._bot_message({"chat_id": params.get("chat_id")}, **body))
        return messages

    def _sendChatAction(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        return True

    def _setMyCommands(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        scope = json.dumps(_json_value(params.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands[scope] = list(_json_value(params.get("commands")) or [])
        return True

    def _deleteMyCommands(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        scope = json.dumps(_json_value(params.get("scope")) or {"type": "default"}, sort_keys=True)
        self.commands.pop(scope, None)
        return True

    def _getMyCommands(self, params: JSONDict, files: dict[str, Upload]) -> list[JSONDict]:
        scope = json.dumps(_json_value(params.get("scope")) or {"type": "default"}, sort_keys=True)
        return self.commands.get(scope, [])

    def _getFile(self, params: JSONDict, files: dict[str, Upload]) -> JSONDict:
        file_id = str(params.get("file_id"))
        path = self._file_path_of(file_id)
        if path is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": "U" + file_id, "file_size": len(self.files[file_id]),
                "file_path": path}

    def _close(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        return True

    def _logOut(self, params: JSONDict, files: dict[str, Upload]) -> bool:
        return True


class LocalRequest(BaseRequest):
    """A ``BaseRequest`` answering the real ``telegram.Bot`` from a ``LocalBotApi``, in-process."""

    def __init__(self, api: LocalBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        path = unquote(urlsplit(url).path)
        if "/file/bot" in path:  # a file download: /file/bot<token>/<file_path>
            file_path = path.split("/file/bot", 1)[1].partition("/")[2]
            content = self.api.file_content(file_path)
            if content is None:
                return 404, json.dumps(error_for(404).body()).encode()
            return 200, content
        params: JSONDict = {}
        files: dict[str, Upload] = {}
        if request_data is not None:
            params = json.loads(json.dumps(request_data.parameters))  # exactly what the wire carries
            for part, (filename, data, mime) in request_data.multipart_data.items():
                raw = data if isinstance(data, bytes) else data.read()
                files[part] = Upload(filename or part, raw, mime)
        status, body = await self.api.call(path.rsplit("/", 1)[-1], params, files)
        return status, json.dumps(body, ensure_ascii=False).encode()


@asynccontextmanager
async def running_without_updater(app: Any, *, start: bool = True) -> AsyncIterator[Any]:
    """Run an Application's life cycle like ``run_polling`` does, but without fetching updates.

    ``initialize`` → ``post_init`` → ``start`` (job queue) … ``stop`` → ``post_stop`` → ``shutdown`` →
    ``post_shutdown``. The caller feeds updates with ``app.process_update``.
    """
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        if start:
            await app.start()
        try:
            yield app
        finally:
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
