"""The broadcast sender: drains the durable outbox through the Bot API at Telegram's limits.

* Claims are committed before each send and outcomes recorded after it, through one *group-commit*
  writer: every worker hands in its previous result and asks for its next row; whatever is waiting is
  written in one transaction. A worker holds at most one row, so at most ``concurrency`` rows are ever
  in flight — the bound on duplicates after a crash.
* Rate: the bot's one ``handlers.rate_limit.SharedRateLimiter`` (the bot must have it): every send is a
  bulk call, waiting behind the members' replies in the shared ~30 messages/s; a 429 ``RetryAfter`` on any
  call (a reply's too) pauses every call for ``retry_after`` seconds, then the same row is retried.
* A notice too long for one message goes out in parts; each delivered part is recorded (committed) before
  the next is sent, so a retry, or a resume after a crash, continues from the first unsent part.
* 403 ``Forbidden`` → blocked (and the member is set inactive); network errors and timeouts → retried in
  place with exponential back-off, failed after ``max_attempts``; other Bot API errors → failed.
Used by the CLI (``broadcast send --wait`` / ``resume``) and by the bot's JobQueue tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from handlers import texts
from handlers.rate_limit import Priority, SharedRateLimiter, bulk_sends
from store import preferences
from store.broadcasts import outbox
from store.broadcasts.states import Outcome, backoff_seconds
from store.broadcasts.text import split_for_media, split_text
from store.db import Database
from store.models import Broadcast
from store.types import Clock, utcnow

log = logging.getLogger(__name__)

ACK_PREFIX = "bc:ack:"


@dataclass(frozen=True)
class SenderConfig:
    concurrency: int = 12  # rows in flight at most (the duplicate bound after a crash)
    max_attempts: int = 5  # network errors before a row fails
    backoff_base: float = 1.0  # seconds; doubles per attempt
    stale_after: float = 600.0  # a ``sending`` row older than this belongs to a dead sender


@dataclass(frozen=True)
class BroadcastConfig:
    """What the broadcast feature needs from the settings (``services.config(BroadcastConfig)``)."""

    sender: SenderConfig = field(default_factory=SenderConfig)
    defaults: preferences.PrefsDefaults = field(default_factory=preferences.PrefsDefaults)
    topics: tuple[str, ...] = ()
    tick_seconds: float = 5.0
    progress_every: float = 3.0  # seconds between edits of a staff progress message
    media_dir: Path | None = None  # photos and documents uploaded from the console (Broadcast.media_file)


@dataclass
class SendReport:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0  # network-error retries
    throttled: int = 0  # 429 answers to the broadcast's sends
    paused_seconds: float = 0.0  # time all sending was paused by RetryAfter (a reply's 429 too)
    api_calls: int = 0
    started: float = 0.0
    finished: float = 0.0
    first_send: float | None = None
    last_send: float | None = None
    broadcasts: set[int] = field(default_factory=set)

    @property
    def delivered(self) -> int:
        return self.sent + self.blocked + self.failed

    @property
    def elapsed(self) -> float:
        return max(0.0, self.finished - self.started)

    def rate_outside_pauses(self) -> float:
        """Successful sends per second of sending time, with the RetryAfter pauses taken out."""
        if self.first_send is None or self.last_send is None or self.sent < 2:
            return 0.0
        active = (self.last_send - self.first_send) - self.paused_seconds
        return (self.sent - 1) / active if active > 0 else 0.0


def new_token() -> str:
    """A claim token naming this process: ``host:pid:random``."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


def _token_is_dead(token: str) -> bool:
    """A token of a process on this host that no longer exists."""
    host, _, rest = token.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:32] or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def recover_dead_senders(
    db: Database, *, now: datetime, stale_after: float, broadcast_id: int | None = None, force: bool = False,
) -> int:
    """Return rows held by dead senders to ``pending`` (marked uncertain); returns how many.

    A sender is dead if its process on this host is gone, or its claims are older than ``stale_after``;
    ``force`` treats every holder as dead (the operator knows no sender runs).
    """
    async with db.session() as session:
        holders = await outbox.holders(session, broadcast_id=broadcast_id)
        dead = [h.token for h in holders if force or _token_is_dead(h.token)]
        recovered = await outbox.recover(
            session, now=now, dead_tokens=dead, stale_before=now - timedelta(seconds=stale_after),
            broadcast_id=broadcast_id,
        )
    if recovered:
        log.warning("recovered %d in-flight deliveries of dead senders (uncertain: may be resent)", recovered)
    return recovered


class _Abort(Exception):
    """The Bot API rejected our token: stop the whole run."""


class _GroupCommit:
    """Serialises outbox writes: each batch records finished rows and claims new ones in one transaction."""

    def __init__(self, db: Database, clock: Clock, token: str, broadcast_id: int | None) -> None:
        self.db, self.clock, self.token, self.broadcast_id = db, clock, token, broadcast_id
        self.broadcasts: dict[int, Broadcast] = {}
        self._ops: list[tuple[outbox.Result | None, bool, asyncio.Future[outbox.Claimed | None]]] = []
        self._marks: list[tuple[outbox.Claimed, int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._exhausted = False
        self.stopping = False

    async def next(self, result: outbox.Result | None, *, want: bool = True) -> outbox.Claimed | None:
        """Record ``result`` (if any) and get the next row to send (None when nothing is due)."""
        future: asyncio.Future[outbox.Claimed | None] = asyncio.get_running_loop().create_future()
        self._ops.append((result, want, future))
        self._wake.set()
        return await future

    async def progress(self, claimed: outbox.Claimed, parts_sent: int) -> None:
        """Record that ``parts_sent`` parts of a held notice are delivered; returns once committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._marks.append((claimed, parts_sent, future))
        self._wake.set()
        await future

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            ops, self._ops = self._ops, []
            marks, self._marks = self._marks, []
            if not ops and not marks:
                continue
            try:
                await self._apply(ops, marks)
            except Exception as exc:
                for future in [f for _, _, f in ops] + [f for _, _, f in marks]:
                    if not future.done():
                        future.set_exception(exc)

    async def _apply(self, ops: list[tuple[outbox.Result | None, bool, asyncio.Future[outbox.Claimed | None]]],
                     marks: list[tuple[outbox.Claimed, int, asyncio.Future[None]]] | None = None) -> None:
        results = [r for r, _, _ in ops if r is not None]
        wanting = [f for _, want, f in ops if want]
        claimed: list[outbox.Claimed] = []
        marks = marks or []
        async with self.db.session() as session:
            now = self.clock()
            if marks:
                await outbox.record_progress(session, progress=[(c, n) for c, n, _ in marks])
            if results:
                await outbox.record(session, results=results, now=now)
            if wanting and not self._exhausted and not self.stopping:
                claimed = await outbox.claim(session, now=now, token=self.token, limit=len(wanting),
                                             broadcast_id=self.broadcast_id)
                if len(claimed) < len(wanting):
                    self._exhausted = True
                for c in claimed:
                    if c.broadcast_id not in self.broadcasts:
                        broadcast = await outbox.get(session, broadcast_id=c.broadcast_id)
                        if broadcast is not None:
                            self.broadcasts[c.broadcast_id] = broadcast
        for _, _, mark in marks:
            mark.set_result(None)
        for _, want, future in ops:
            if not want:
                future.set_result(None)
        for i, future in enumerate(wanting):
            future.set_result(claimed[i] if i < len(claimed) else None)


ProgressHook = Callable[[SendReport, outbox.Result], Awaitable[None] | None]


class BroadcastSender:
    """Sends due outbox rows with ``bot``; one instance per run (or per JobQueue pass)."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        config: SenderConfig | None = None,
        clock: Clock = utcnow,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        on_result: ProgressHook | None = None,
        token: str | None = None,
        media_dir: Path | None = None,
    ) -> None:
        self.db, self.bot = db, bot
        self.media_dir = media_dir
        self._upload_locks: dict[int, asyncio.Lock] = {}
        self.config = config or SenderConfig()
        self.clock, self.sleep, self.monotonic = clock, sleep, monotonic
        self.on_result = on_result
        self.token = token or new_token()
        self.report = SendReport()
        self.limiter = shared_limiter(bot)

    # ---- running ----------------------------------------------------------------------------

    async def run_pass(self, *, broadcast_id: int | None = None) -> SendReport:
        """Send every row due now (of one broadcast or all), then return."""
        if not self.report.started:
            self.report.started = self.monotonic()
        writer = _GroupCommit(self.db, self.clock, self.token, broadcast_id)
        writer_task = asyncio.create_task(writer.run(), name="broadcast-outbox-writer")
        throttled, paused = self.limiter.stats.throttled[Priority.BULK], self.limiter.stats.paused_seconds
        try:
            with bulk_sends():  # the workers' calls (tasks copy the context) wait behind every reply
                workers = [asyncio.create_task(self._worker(writer), name=f"broadcast-worker-{i}")
                           for i in range(max(1, self.config.concurrency))]
            outcomes = await asyncio.gather(*workers, return_exceptions=True)
        finally:
            writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer_task
            self.report.finished = self.monotonic()
            self.report.throttled += self.limiter.stats.throttled[Priority.BULK] - throttled
            self.report.paused_seconds += self.limiter.stats.paused_seconds - paused
        for outcome in outcomes:
            if isinstance(outcome, _Abort):
                raise InvalidToken(str(outcome))
            if isinstance(outcome, BaseException):
                raise outcome
        return self.report

    async def run_until_done(self, *, broadcast_id: int | None = None, max_wait: float = 600.0) -> SendReport:
        """Passes until nothing is pending, waiting for rows due within ``max_wait`` seconds."""
        while True:
            await self.run_pass(broadcast_id=broadcast_id)
            async with self.db.session() as session:
                due = await outbox.next_due(session, broadcast_id=broadcast_id)
            if due is None:
                return self.report
            wait = (due - self.clock()).total_seconds()
            if wait > max_wait:
                return self.report
            if wait > 0:
                await self.sleep(wait)

    async def _worker(self, writer: _GroupCommit) -> None:
        result: outbox.Result | None = None
        while True:
            claimed = await writer.next(result, want=not writer.stopping)
            if claimed is None:
                return
            broadcast = writer.broadcasts[claimed.broadcast_id]
            try:
                result = await self._deliver(claimed, broadcast, writer)
            except _Abort:
                writer.stopping = True
                await writer.next(outbox.Result(claimed, Outcome.RETRY, error="invalid token",
                                                retry_at=self.clock()), want=False)
                raise
            self._count(result)
            if self.on_result is not None:
                maybe = self.on_result(self.report, result)
                if maybe is not None:
                    await maybe

    def _count(self, result: outbox.Result) -> None:
        self.report.broadcasts.add(result.claimed.broadcast_id)
        if result.outcome is Outcome.SENT:
            self.report.sent += 1
            now = self.monotonic()
            self.report.first_send = self.report.first_send or now
            self.report.last_send = now
        elif result.outcome is Outcome.BLOCKED:
            self.report.blocked += 1
        elif result.outcome is Outcome.FAILED:
            self.report.failed += 1

    # ---- one delivery -----------------------------------------------------------------------

    async def _deliver(self, claimed: outbox.Claimed, broadcast: Broadcast, writer: _GroupCommit) -> outbox.Result:
        attempts = claimed.attempts
        progress = _Progress(done=claimed.parts_sent)
        while True:
            try:
                message_id = await self._send(claimed, broadcast, progress, writer)
                return outbox.Result(claimed, Outcome.SENT, message_id=message_id)
            except RetryAfter:  # still 429 after the limiter's retries: its pause is in force, try again
                log.info("broadcast delivery %s throttled repeatedly; retrying", claimed.delivery_id)
            except Forbidden as exc:
                return outbox.Result(claimed, Outcome.BLOCKED, error=exc.message)
            except InvalidToken as exc:
                raise _Abort(exc.message) from exc
            except BadRequest as exc:
                return outbox.Result(claimed, Outcome.FAILED, error=exc.message)
            except NetworkError as exc:  # includes TimedOut
                if attempts >= self.config.max_attempts:
                    return outbox.Result(claimed, Outcome.FAILED, error=f"network: {exc.message}")
                self.report.retried += 1
                await self.sleep(backoff_seconds(attempts, base=self.config.backoff_base, cap=60.0))
                attempts += 1
            except TelegramError as exc:
                return outbox.Result(claimed, Outcome.FAILED, error=exc.message)

    async def _send(self, claimed: outbox.Claimed, broadcast: Broadcast, progress: _Progress,
                    writer: _GroupCommit) -> int:
        """Send the parts of the notice not yet delivered; the receipt button goes on the last part.

        Each delivered part but the last is recorded before the next is sent, so a retry (or a resume
        after a crash) never sends a part twice, except the one in flight. Returns the last part's id.
        """
        markup = None
        if broadcast.receipt:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(texts.BTN_RECEIVED, callback_data=f"{ACK_PREFIX}{claimed.delivery_id}")]]
            )
        body = render_text(broadcast)
        media = bool(broadcast.media_kind and (broadcast.media_ref or broadcast.media_file))
        if media:
            caption, rest = split_for_media(body)
            parts: list[str] = [caption, *rest]
        else:
            parts = split_text(body)
        if not parts:
            raise BadRequest("empty broadcast")
        last = len(parts) - 1
        for i in range(progress.done, len(parts)):
            self.report.api_calls += 1
            part_markup = markup if i == last else None
            message: Message
            if i == 0 and media:
                message = await self._send_media(claimed, broadcast, parts[0] or None, part_markup)
            else:
                message = await self.bot.send_message(claimed.chat_id, parts[i], reply_markup=part_markup)
            progress.done = i + 1
            progress.message_id = int(message.message_id)
            if i < last:
                await writer.progress(claimed, progress.done)
        if progress.message_id is None:  # every part went out before a crash; only the last is never recorded
            raise BadRequest("empty broadcast")
        return progress.message_id


    async def _send_media(self, claimed: outbox.Claimed, broadcast: Broadcast, caption: str | None,
                          markup: InlineKeyboardMarkup | None) -> Message:
        """The photo or document with its caption: by file_id, or (a console upload not yet sent) by uploading
        the file once, keeping the file_id Telegram returns for every later recipient."""
        if broadcast.media_ref is None and broadcast.media_file:
            lock = self._upload_locks.setdefault(broadcast.id, asyncio.Lock())
            async with lock:  # the first worker uploads; the others wait for its file_id
                if broadcast.media_ref is None:
                    path = self._media_path(broadcast.media_file)
                    data = await asyncio.to_thread(path.read_bytes)
                    upload = InputFile(data, filename=path.name)
                    message = await self._media_call(claimed.chat_id, broadcast.media_kind, upload, caption, markup)
                    file_id = _file_id(message)
                    if file_id:
                        broadcast.media_ref = file_id
                        async with self.db.session() as session:
                            await outbox.remember_file_id(session, broadcast_id=broadcast.id,
                                                          media_file=broadcast.media_file, file_id=file_id)
                    return message
        return await self._media_call(claimed.chat_id, broadcast.media_kind, broadcast.media_ref or "", caption,
                                      markup)

    async def _media_call(self, chat_id: int, kind: str | None, media: str | InputFile, caption: str | None,
                          markup: InlineKeyboardMarkup | None) -> Message:
        if kind == "photo":
            return await self.bot.send_photo(chat_id, media, caption=caption, reply_markup=markup)
        return await self.bot.send_document(chat_id, media, caption=caption, reply_markup=markup)

    def _media_path(self, name: str) -> Path:
        folder = self.media_dir
        path = (folder / name).resolve() if folder is not None else None
        if folder is None or path is None or path.parent != folder.resolve() or not path.is_file():
            raise BadRequest("broadcast media file missing")
        return path


def _file_id(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id
    if message.document is not None:
        return message.document.file_id
    return None


@dataclass
class _Progress:
    """How far one delivery got: parts delivered and the last part's message id."""

    done: int = 0
    message_id: int | None = None


def shared_limiter(bot: Bot) -> SharedRateLimiter:
    """The bot's shared limiter; a bot without one would send past Telegram's limits."""
    limiter = bot.rate_limiter if isinstance(bot, ExtBot) else None
    if not isinstance(limiter, SharedRateLimiter):
        raise TypeError("the broadcast sender needs a bot with the shared rate limiter "
                        "(handlers.rate_limit.SharedRateLimiter)")
    return limiter


def render_text(broadcast: Broadcast) -> str:
    """The notice as members see it: an urgent mark for urgent notices, a receipt hint when asked."""
    text = broadcast.text.strip()
    if broadcast.urgent:
        text = texts.BROADCAST_URGENT_MARK + text
    if broadcast.receipt:
        text += texts.BROADCAST_RECEIPT_HINT
    return text
