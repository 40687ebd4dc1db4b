"""The terminal demo: the real Application against the in-memory Bot API — no token, no network.

Interactive mode is a REPL where you type as a member and press buttons; ``--script FILE.jsonl``
replays events and prints one JSON line per Bot API call the bot makes (DESIGN.md, "Command line").
Updates go through ``app.process_update``, so the unit of work, the gate and the error handler are
the production ones; the job queue runs too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from telegram import Update

from bot.app import build_application
from bot.localapi import PLUMBING_METHODS, Call, JSONDict, LocalBotApi, LocalRequest, running_without_updater
from bot.services import build_services
from bot.settings import Settings
from handlers.broadcast import wait_idle
from handlers.context import BotApplication, Services
from handlers.rate_limit import VirtualTime
from knowledge.loaders import load as load_document
from knowledge.starter import STARTER_DIR
from store import members as members_repo
from store.learning import materials as materials_repo
from store.models import Member
from store.quiz import repository as quiz_repo
from store.roster import parse_roster
from store.types import utcnow

DEMO_ROSTER = Path(__file__).with_name("demo_roster.csv")
DEMO_QUIZ = Path(__file__).with_name("demo_quiz.json")  # approved questions, so /daily and /quiz work at once
DEFAULT_USER = 1001
EVENT_KINDS = ("text", "press", "photo", "location", "document")

# ---- the demo's own terminal text (bot replies come from handlers/texts.py) ----------------------
BANNER = "政协委员履职助手 · 终端演示\n（真实的机器人处理流程 + 模拟的 Telegram：无需令牌，不联网）"
USAGE = """\
直接输入文字，即以当前用户的身份发给机器人。演示命令：
  [确认] 或 1            按下最近一条带按钮消息上的按钮（写标签，或按从左到右、从上到下的编号）
  /as 用户ID              切换身份，例如 /as 9001
  /photo 路径             发送图片
  /document 路径          发送文件
  /location 纬度 经度     发送位置，例如 /location 36.06 103.83
  /quit                   退出（也可按 Ctrl-D）"""
STARTING = "正在启动演示…（第一次启动要为知识库建立索引，约需一分钟）"
SEEDED = "首次运行：已导入演示名单 {path}"
USERS_HEAD = "已绑定的演示用户："
USER_LINE = "  {tid:>6}  {name}（{role}）"
INVITES_HEAD = "待绑定成员的邀请码（以新的用户ID发送 /start 邀请码 即可绑定，例如先 /as 5001）："
INVITE_LINE = "  {name}：{code}"
NOW_AS = "当前身份：{who}"
PROMPT = "{who}> "
FROM_BOT = "🤖 "
TO_OTHER = "🤖 → {who}："
CALL_LABELS = {
    "sendPhoto": "[图片] ", "sendDocument": "[文件] ", "sendMediaGroup": "[相册] ",
    "editMessageText": "（修改消息）", "editMessageCaption": "（修改说明）",
    "editMessageReplyMarkup": "（更新按钮）", "deleteMessage": "（撤回了一条消息）", "answerCallbackQuery": "（提示）",
    "editMessageMedia": "（二维码已更新）",
}
CALL_FAILED = "   （调用失败：{error}）"
NO_BUTTON = "没有带“{label}”按钮的消息。"
FILE_MISSING = "找不到文件：{path}"
BAD_INPUT = "格式不对：{text}"
SCRIPT_MISSING = "找不到脚本文件：{path}"
BAD_EVENT_DETAIL = "第 {line} 行无效：{reason}"
ROLE_LABELS = {"member": "委员", "staff": "工作人员", "reviewer": "把关人", "admin": "管理员"}
GOODBYE = "再见！"
DEMO_STAFF = 9001
CONSOLE_READY = (
    "工作台（网页后台）：在浏览器中打开下面的链接，以 {name} 的身份登录（10 分钟内有效，只能用一次；\n"
    "之后在演示中 /as {tid} 再发送 /console 可获取新的链接）：\n  {url}"
)
CONSOLE_PORT_BUSY = "工作台未启动：{host}:{port} 已被占用（设置 CONSOLE_PORT 换一个端口）。"


@dataclass(frozen=True)
class Event:
    """One thing a user does: send text, press a button, send a photo, a location or a document."""

    user: int
    kind: str
    value: Any


def parse_event(line: str) -> Event:
    """Parse one JSON Lines event; ValueError (with the reason) when it is malformed."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    user = data.get("user")
    if isinstance(user, str) and user.isdigit():
        user = int(user)
    if not isinstance(user, int) or isinstance(user, bool) or user <= 0:
        raise ValueError("user must be a positive Telegram user id")
    kinds = [k for k in EVENT_KINDS if k in data]
    if len(kinds) != 1:
        raise ValueError(f"exactly one of {', '.join(EVENT_KINDS)} is needed")
    kind, value = kinds[0], data[kinds[0]]
    if kind == "location":
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
                or not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180)):
            raise ValueError("location must be [latitude, longitude]")
        return Event(user, kind, (float(value[0]), float(value[1])))
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{kind} must be a non-empty string")
    return Event(user, kind, value)


def resolve_path(value: str, base_dir: Path | None) -> Path:
    """A file named by an event: relative to the current folder, else to the script's folder."""
    path = Path(value).expanduser()
    if not path.is_absolute() and not path.exists() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise FileNotFoundError(FILE_MISSING.format(path=value))
    return path


class DemoSession:
    """Turns events into updates at the local Bot API and runs them through the Application."""

    def __init__(self, app: BotApplication, api: LocalBotApi, names: dict[int, str]) -> None:
        self.app, self.api, self.names = app, api, names

    def who(self, user_id: int | str | None) -> str:
        name = self.names.get(user_id) if isinstance(user_id, int) else None
        return f"{name}（{user_id}）" if name else str(user_id)

    async def handle(self, event: Event, base_dir: Path | None = None) -> bool:
        """Deliver one event; False when no message to the user has the pressed button."""
        api, user, name = self.api, event.user, self.names.get(event.user)
        update: JSONDict | None
        if event.kind == "text":
            update = api.user_sends(user, event.value, first_name=name)
        elif event.kind == "press":
            update = api.user_taps(user, event.value)
        elif event.kind == "photo":
            update = api.user_sends_photo(user, resolve_path(event.value, base_dir), first_name=name)
        elif event.kind == "document":
            update = api.user_sends_document(user, resolve_path(event.value, base_dir), first_name=name)
        else:
            update = api.user_sends_location(user, *event.value, first_name=name)
        if update is None:
            return False
        try:
            await self.app.process_update(Update.de_json(update, self.app.bot))
            # A pass the update started (a confirmed broadcast, an approval) ends before the next event, so
            # a script's output does not depend on timing (deliveries, reviewers asked, authors told).
            await wait_idle(self.app)
        finally:
            api.updates.remove(update)  # handled here, not through getUpdates
        return True

    def latest_labels(self, user_id: int) -> list[str]:
        """Callback-button labels of the newest bot message to the user that has any."""
        for message_id in sorted(self.api.messages.get(user_id, {}), reverse=True):
            message = self.api.messages[user_id][message_id]
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            labels = [b["text"] for row in rows for b in row if "callback_data" in b]
            if message.get("from", {}).get("is_bot") and labels:
                return labels
        return []


async def seed_roster(services: Services) -> bool:
    """Import the demo roster when the members table is empty; True if it did."""
    async with services.db.session() as session:
        if await members_repo.count(session):
            return False
        parsed = parse_roster(DEMO_ROSTER.read_bytes())
        if parsed.errors:
            raise RuntimeError(f"demo roster is invalid: {parsed.errors}")
        await members_repo.import_roster(session, rows=parsed.rows, now=utcnow())
    return True


# (starter guide, topics, estimated minutes, required this quarter): the demo's learning library (/learn)
DEMO_MATERIALS = (
    ("学习打卡与履职积分.md", ("理论学习",), 20, True),
    ("提案和微建议指南.md", ("提案工作", "社会民生"), 20, False),
    ("社情民意信息指南.md", ("社会民生",), 20, False),
    ("履职考核与请假.md", ("理论学习",), 20, False),
)
DEMO_REQUIRED_LABEL = "本季度必学"


async def seed_materials(services: Services) -> int:
    """Add a few learning materials from the starter guides when the library is empty; how many it added."""
    now = utcnow()
    today = now.astimezone(services.tz).date()
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    next_quarter = (quarter_start.replace(year=quarter_start.year + 1, month=1) if quarter_start.month == 10
                    else quarter_start.replace(month=quarter_start.month + 3))
    quarter_end = next_quarter - timedelta(days=1)
    async with services.db.session() as session:
        if await materials_repo.all_materials(session):
            return 0
        added = 0
        for name, topics, minutes, required in DEMO_MATERIALS:
            path = STARTER_DIR / name
            if not path.is_file():
                continue
            document = await asyncio.to_thread(load_document, path)
            await materials_repo.create_material(session, created_by=None, now=now, data=materials_repo.MaterialInput(
                title=document.meta.title, kind="kb", body=document.text, estimated_minutes=minutes, topics=topics,
                source_label=document.meta.title, kb_source=name,
                required_from=quarter_start if required else None, required_until=quarter_end if required else None,
                required_label=DEMO_REQUIRED_LABEL if required else None,
            ))
            added += 1
    return added
async def seed_quiz(services: Services) -> int:
    """The demo's approved quiz questions (generated from the CPPCC Charter and checked), once."""
    specs = [quiz_repo.QuestionSpec(**item) for item in json.loads(DEMO_QUIZ.read_text(encoding="utf-8"))]
    async with services.db.session() as session:
        return await quiz_repo.seed_approved(session, specs=specs, now=utcnow())


async def load_members(services: Services) -> list[Member]:
    async with services.db.session() as session:
        return await members_repo.list_members(session, active_only=True)


async def member_names(services: Services) -> dict[int, str]:
    return {m.telegram_id: m.name for m in await load_members(services) if m.telegram_id is not None}


def introduce(members: list[Member], seeded: bool, out: TextIO) -> None:
    lines = [BANNER, ""]
    if seeded:
        lines.append(SEEDED.format(path=DEMO_ROSTER))
    lines.append(USERS_HEAD)
    lines += [USER_LINE.format(tid=m.telegram_id, name=m.name, role=ROLE_LABELS.get(m.role, m.role))
              for m in members if m.telegram_id is not None]
    pending = [m for m in members if m.telegram_id is None and m.invite_code]
    if pending:
        lines += ["", INVITES_HEAD]
        lines += [INVITE_LINE.format(name=m.name, code=m.invite_code) for m in pending]
    print("\n".join(lines), file=out, flush=True)


def json_printer(out: TextIO) -> Callable[[Call], None]:
    """Script mode: one JSON line per Bot API call (start-up plumbing excluded)."""

    def emit(call: Call) -> None:
        if call.method in PLUMBING_METHODS:
            return
        line = call.summary()
        if not call.ok:
            line["error"] = call.error
        print(json.dumps(line, ensure_ascii=False), file=out, flush=True)

    return emit


def screen_printer(session: DemoSession, current: Callable[[], int], out: TextIO) -> Callable[[Call], None]:
    """Interactive mode: the bot's messages as text, inline buttons as ``[确认] [修改] [取消]``."""

    def show(call: Call) -> None:
        if call.method in PLUMBING_METHODS or call.method == "sendChatAction":
            return
        if call.method == "answerCallbackQuery" and not call.text:
            return
        head = FROM_BOT if call.chat_id == current() else TO_OTHER.format(who=session.who(call.chat_id))
        body = "\n".join(("   " + ln) if ln else "" for ln in (call.text or "").split("\n")).lstrip()
        lines = [head + CALL_LABELS.get(call.method, "") + body]
        lines += ["   " + " ".join(f"[{label}]" for label in row) for row in call.buttons]
        if not call.ok:
            lines.append(CALL_FAILED.format(error=call.error))
        print("\n".join(lines), file=out, flush=True)

    return show


def emit_error(out: TextIO, **fields: Any) -> None:
    print(json.dumps(fields, ensure_ascii=False), file=out, flush=True)


async def replay(session: DemoSession, script: Path, out: TextIO, err: TextIO) -> None:
    """Replay a JSON Lines script; malformed lines and missing buttons are reported and skipped."""
    content = await asyncio.to_thread(script.read_text, encoding="utf-8-sig")
    for number, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            event = parse_event(raw)
        except ValueError as exc:
            emit_error(out, error="bad event", line=number)
            print(BAD_EVENT_DETAIL.format(line=number, reason=exc), file=err, flush=True)
            continue
        try:
            pressed = await session.handle(event, base_dir=script.parent)
        except FileNotFoundError as exc:
            emit_error(out, error="bad event", line=number)
            print(BAD_EVENT_DETAIL.format(line=number, reason=exc), file=err, flush=True)
            continue
        if not pressed:
            emit_error(out, error="no such button", label=event.value)


def _stdin_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines typed at the terminal, read by a daemon thread (so Ctrl-C and exit never hang on it)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing for input())

    def read() -> None:
        while True:
            try:
                line: str | None = input()
            except (EOFError, OSError):
                line = None
            try:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            except RuntimeError:  # the loop is gone
                return
            if line is None:
                return

    threading.Thread(target=read, name="demo-stdin", daemon=True).start()
    return queue


def interpret(line: str, user: int, session: DemoSession) -> Event | str | int | None:
    """A REPL line → an Event, a user id to switch to (int), a message to print (str), or None to quit."""
    command, _, rest = line.partition(" ")
    rest = rest.strip()
    if command == "/quit":
        return None
    if command == "/as":
        return int(rest) if rest.isdigit() and int(rest) > 0 else BAD_INPUT.format(text=line)
    if command in ("/photo", "/document"):
        return Event(user, command[1:], rest) if rest else BAD_INPUT.format(text=line)
    if command == "/location":
        try:
            lat, lon = (float(v) for v in rest.replace(",", " ").split())
        except ValueError:
            return BAD_INPUT.format(text=line)
        return Event(user, "location", (lat, lon))
    if line.startswith("[") and line.endswith("]") and len(line) > 2:
        return Event(user, "press", line[1:-1].strip())
    labels = session.latest_labels(user)
    if line.isdigit() and 1 <= int(line) <= len(labels):
        return Event(user, "press", labels[int(line) - 1])
    return Event(user, "text", line)


async def interactive(session: DemoSession, state: dict[str, int], services: Services, out: TextIO) -> None:
    print(USAGE, file=out)
    print(NOW_AS.format(who=session.who(state["user"])), file=out, flush=True)
    lines = _stdin_lines(asyncio.get_running_loop())
    while True:
        print(PROMPT.format(who=session.who(state["user"])), end="", file=out, flush=True)
        line = await lines.get()
        if line is None:
            print(file=out)
            break
        line = line.strip()
        if not line:
            continue
        action = interpret(line, state["user"], session)
        if action is None:
            break
        if isinstance(action, str):
            print(action, file=out, flush=True)
        elif isinstance(action, int):
            state["user"] = action
            print(NOW_AS.format(who=session.who(action)), file=out, flush=True)
        else:
            try:
                if not await session.handle(action):
                    print(NO_BUTTON.format(label=action.value), file=out, flush=True)
            except FileNotFoundError as exc:
                print(exc, file=out, flush=True)
            session.names = await member_names(services)  # someone may have just bound
    print(GOODBYE, file=out, flush=True)


DEMO_QUIET_HOURS = "00:00-00:00"


async def start_console(settings: Settings, services: Services, out: TextIO) -> Any:
    """Serve the staff console in this process (same database and knowledge base as the demo bot).

    Returns the running server (``should_exit = True`` stops it), or None when the port is taken.
    """
    import socket

    from bot.console_wiring import build_console, embedded_server, link_for, uvicorn_config
    from web.app import create_app

    host, port = settings.console_host, settings.console_port
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
    except OSError:
        print(CONSOLE_PORT_BUSY.format(host=host, port=port), file=out, flush=True)
        return None
    finally:
        probe.close()
    app = create_app(build_console(settings, services.db, services.knowledge, clock=services.clock))
    server = embedded_server(uvicorn_config(app, host, port))
    task = asyncio.create_task(server.serve())
    server.task = task
    try:
        url = await link_for(settings, services.db, DEMO_STAFF, via="demo")
        async with services.db.session() as session:
            staff = await members_repo.get_by_telegram_id(session, telegram_id=DEMO_STAFF)
        print(CONSOLE_READY.format(name=staff.name if staff else DEMO_STAFF, tid=DEMO_STAFF, url=url), file=out,
              flush=True)
    except Exception as exc:  # the terminal demo goes on without a link
        print(f"（工作台登录链接无法生成：{exc}）", file=out, flush=True)
    return server


async def run_demo(settings: Settings, *, as_user: int = DEFAULT_USER, script: Path | None = None,
                   out: TextIO | None = None, err: TextIO | None = None, console: bool = False) -> int:
    """Run the demo (interactive, or replaying ``script``); returns the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    info = err if script is not None else out  # in script mode stdout carries JSON only
    if script is not None and not await asyncio.to_thread(script.is_file):
        print(SCRIPT_MISSING.format(path=script), file=err)
        return 2
    # Never a real token or server here: the demo answers every Bot API call itself.
    overrides: dict[str, object] = {"telegram_bot_token": None, "telegram_api_base_url": None}
    if "quiet_hours_default" not in settings.model_fields_set:
        # Nobody sleeps at a terminal: unless QUIET_HOURS_DEFAULT is set explicitly, a demo at night shows
        # notifications at once. Quiet hours members set with /settings still apply.
        overrides["quiet_hours_default"] = DEMO_QUIET_HOURS
    settings = settings.model_copy(update=overrides)
    print(STARTING, file=info, flush=True)
    services = await asyncio.to_thread(build_services, settings)
    try:
        await services.db.upgrade()
        seeded = await seed_roster(services)
        await seed_materials(services)
        await seed_quiz(services)
        members = await load_members(services)
        introduce(members, seeded, info)
        api = LocalBotApi(first_update_id=time.time_ns() // 1000)  # unique across runs on one database
        app = build_application(settings, services, request=LocalRequest(api), limiter_time=VirtualTime())
        session = DemoSession(app, api, {m.telegram_id: m.name for m in members if m.telegram_id})
        state = {"user": as_user}
        printer = json_printer(out) if script is not None else screen_printer(session, lambda: state["user"], out)
        api.listeners.append(printer)
        async with running_without_updater(app):
            if script is not None:
                await replay(session, script, out, err)
            else:
                server = await start_console(settings, services, out) if console else None
                try:
                    await interactive(session, state, services, out)
                finally:
                    if server is not None:
                        server.should_exit = True
                        await server.task
    finally:
        await services.db.dispose()
    return 0
