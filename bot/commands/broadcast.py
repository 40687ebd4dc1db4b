"""``cppcc-bot broadcast send|status|resume``: staff broadcasts from the command line (local admin).

``send`` queues the notice in the durable outbox; the running bot's sender picks it up. With ``--wait``
this process sends it itself through the real ``telegram.Bot`` (TELEGRAM_BOT_TOKEN,
TELEGRAM_API_BASE_URL), showing a progress bar. ``resume`` returns rows held by a dead sender to the
queue (they are counted as *uncertain*: the member may get that notice twice) and, with ``--wait``,
finishes the job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.app import api_urls, rate_limiter
from bot.broadcast_wiring import broadcast_config, media_dir, sender_config
from bot.commands.common import migrated_database
from bot.settings import Settings, SettingsError
from handlers.broadcast_sender import BroadcastSender, SendReport, recover_dead_senders
from store.broadcasts import audience, outbox, sender_lock
from store.db import Database
from store.timeparse import parse_future
from store.types import utcnow


def make_bot(settings: Settings, *, concurrency: int) -> ExtBot[int]:
    """A real bot for the configured (or a custom) Bot API server, with the shared rate limiter."""
    if not settings.telegram_bot_token:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set: --wait sends from this process and needs it")
    request = HTTPXRequest(connection_pool_size=concurrency + 4, connect_timeout=10.0, read_timeout=30.0,
                           write_timeout=30.0, pool_timeout=30.0)
    return ExtBot(settings.telegram_bot_token, request=request, rate_limiter=rate_limiter(settings),
                  **api_urls(settings))


def parse_when(text: str, settings: Settings) -> datetime:
    """``--at`` in the committee's time zone (``2026-12-01 09:00``, ``明天 9点``) → aware UTC, in the future."""
    now = utcnow().astimezone(settings.tz)
    when = parse_future(text, now=now)
    if when is None:
        raise SettingsError(f"--at {text!r}: use a future time such as '2026-12-01 09:00' or '明天 9点'")
    return when.astimezone(UTC)


class _Progress:
    """A tqdm bar on stderr fed by the sender's results."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="条", desc="发送", file=sys.stderr, mininterval=0.5, smoothing=0.1)

    def hook(self, report: SendReport, result: outbox.Result) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(sent=report.sent, blocked=report.blocked, failed=report.failed, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


async def _send_with_bot(settings: Settings, db: Database, broadcast_id: int | None, args: argparse.Namespace,
                         pending: int) -> SendReport:
    """Drain the outbox of ``broadcast_id`` (None: of every broadcast) through a real bot."""
    concurrency = args.concurrency or settings.broadcast_concurrency
    progress = _Progress(pending, enabled=not args.no_progress)
    bot = make_bot(settings, concurrency=concurrency)
    try:
        # One sender at a time on PostgreSQL (store/broadcasts/sender_lock.py): wait for a running bot's pass.
        async with bot, sender_lock.sender_lock(db.engine, wait=True) as lock:
            if lock.exclusive:  # nobody else sends: rows still in flight are a dead sender's
                await recover_dead_senders(db, now=utcnow(), stale_after=settings.broadcast_stale_seconds,
                                           force=True)
            sender = BroadcastSender(db, bot, config=sender_config(settings, concurrency=concurrency),
                                     on_result=progress.hook, media_dir=media_dir(settings))
            return await sender.run_until_done(broadcast_id=broadcast_id, max_wait=args.max_wait)
    finally:
        progress.close()


def _print_report(report: SendReport) -> None:
    print(
        f"本次发送：送达 {report.sent}，屏蔽 {report.blocked}，失败 {report.failed}；用时 {report.elapsed:.1f} 秒，"
        f"限流暂停 {report.throttled} 次共 {report.paused_seconds:.1f} 秒，"
        f"暂停外速率 {report.rate_outside_pauses():.1f} 条/秒",
        file=sys.stderr,
    )


def _print_status(status: outbox.Status, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status.as_json(), ensure_ascii=False))
        return
    print(f"通知 #{status.id}（{status.state}）：共 {status.total} 人，待发 {status.pending}，送达 {status.sent}，"
          f"失败 {status.failed}，屏蔽 {status.blocked}，不确定 {status.uncertain}，已回执 {status.acknowledged}"
          + (f"，免打扰延后 {status.deferred}" if status.deferred else ""))


async def _send(settings: Settings, args: argparse.Namespace) -> int:
    try:
        spec = audience.parse_targets(args.to)
    except audience.AudienceError as exc:
        print(f"--to 有误：{exc}", file=sys.stderr)
        return 2
    text = args.text
    if args.text_file:
        text = args.text_file.read_text(encoding="utf-8")
    if not text or not text.strip():
        print("通知正文不能为空（--text 或 --text-file）。", file=sys.stderr)
        return 2
    scheduled = parse_when(args.at, settings) if args.at else None
    if args.wait:
        make_bot(settings, concurrency=1)  # fail early on a missing token, before anything is queued
    config = broadcast_config(settings)
    async with migrated_database(settings) as db:
        async with db.session() as session:
            broadcast = await outbox.create(
                session,
                new=outbox.NewBroadcast(text=text, audience=spec, topic=args.topic, urgent=args.urgent,
                                        receipt=args.receipt, scheduled_at=scheduled,
                                        remind_after_minutes=args.remind_after, created_via="cli"),
                now=utcnow(), tz=settings.tz, defaults=config.defaults,
            )
            status = await outbox.status(session, broadcast_id=broadcast.id)
        assert status is not None
        if not args.json:
            print(f"已加入发送队列：通知 #{broadcast.id}，{broadcast.audience_label}，共 {status.total} 人"
                  + (f"（免打扰延后 {status.deferred} 人）" if status.deferred else "") + "。")
        if args.wait and status.total:
            report = await _send_with_bot(settings, db, broadcast.id, args, status.pending)
            _print_report(report)
        async with db.session() as session:
            final = await outbox.status(session, broadcast_id=broadcast.id)
        assert final is not None
        _print_status(final, args.json)
        return 0


async def _status(settings: Settings, args: argparse.Namespace) -> int:
    async with migrated_database(settings) as db:
        async with db.session() as session:
            broadcast_id = args.id or await outbox.latest_id(session)
            status = await outbox.status(session, broadcast_id=broadcast_id) if broadcast_id else None
        if status is None:
            print(f"没有找到通知 {args.id or ''}".strip() + "。", file=sys.stderr)
            return 1
        _print_status(status, args.json)
        return 0


async def _resume(settings: Settings, args: argparse.Namespace) -> int:
    async with migrated_database(settings) as db:
        recovered = await recover_dead_senders(db, now=utcnow(), stale_after=settings.broadcast_stale_seconds,
                                               broadcast_id=args.id, force=args.force)
        print(f"收回中断的发送 {recovered} 条（这些委员可能收到两次，已计入“不确定”）。", file=sys.stderr)
        async with db.session() as session:
            broadcast_id = args.id or await outbox.latest_id(session)
            status = await outbox.status(session, broadcast_id=broadcast_id) if broadcast_id else None
        if status is None:
            print("没有可恢复的通知。", file=sys.stderr)
            return 1
        if args.wait and status.pending:
            report = await _send_with_bot(settings, db, status.id if args.id else None, args, status.pending)
            _print_report(report)
            async with db.session() as session:
                status = await outbox.status(session, broadcast_id=status.id)
            assert status is not None
        _print_status(status, args.json)
        return 0


def _sending_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="send from this process until done")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--concurrency", type=int, default=None, help="sends in flight (default BROADCAST_CONCURRENCY)")
    parser.add_argument("--max-wait", type=float, default=600.0,
                        help="with --wait: also wait for rows due within this many seconds (default 600)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("broadcast", help="staff notices to members")
    sub = parser.add_subparsers(dest="broadcast_command", required=True)

    p_send = sub.add_parser("send", help="queue a notice (and send it with --wait)")
    p_send.add_argument("--to", action="append", required=True, metavar="TARGET",
                        help="all | sector:NAME | district:NAME | group:NAME | topic:NAME; "
                             "comma-join for AND (sector:A,district:B), repeat for OR")
    p_send.add_argument("--text", default=None)
    p_send.add_argument("--text-file", type=Path, default=None)
    p_send.add_argument("--urgent", action="store_true", help="ignore members' quiet hours")
    p_send.add_argument("--receipt", action="store_true", help="add a 收到 button")
    p_send.add_argument("--remind-after", type=int, default=None, metavar="MINUTES",
                        help="with --receipt: remind those who have not acknowledged")
    p_send.add_argument("--topic", default=None, help="the topic of a learning push")
    p_send.add_argument("--at", default=None, metavar="'YYYY-MM-DD HH:MM'", help="schedule (local time)")
    _sending_options(p_send)
    p_send.set_defaults(func=lambda args, settings: asyncio.run(_send(settings, args)))

    p_status = sub.add_parser("status", help="counts of a broadcast (default: the latest)")
    p_status.add_argument("id", nargs="?", type=int)
    p_status.add_argument("--json", action="store_true")
    p_status.set_defaults(func=lambda args, settings: asyncio.run(_status(settings, args)))

    p_resume = sub.add_parser("resume", help="requeue rows of a dead sender (and send them with --wait)")
    p_resume.add_argument("id", nargs="?", type=int)
    p_resume.add_argument("--force", action="store_true", help="treat every in-flight row as a dead sender's")
    _sending_options(p_resume)
    p_resume.set_defaults(func=lambda args, settings: asyncio.run(_resume(settings, args)))
