"""Drive the real Application (all FEATURES, in-process fake Bot API) with fuzz events; check invariants.

Which updates must be answered (checked after every update):

* a private message from a user (text, command, any media; not a service message) gets at least one
  message in that chat (``sendMessage``/``sendPhoto``/``sendDocument``/``sendMediaGroup`` or an edit);
* a button press gets exactly one successful ``answerCallbackQuery`` for its query id, and no failed one;
* edited messages, channel posts, group chatter, service updates and redelivered updates get nothing
  in their chat; a command addressed to the bot in a group (``/cmd`` or ``/cmd@<bot>``) gets exactly
  ``texts.PRIVATE_ONLY`` there.

Checked for every Bot API call (replies and background jobs alike):

* nothing goes to a group or channel except ``texts.PRIVATE_ONLY`` (to groups); the staff chat
  (``STAFF_CHAT_ID``) gets only staff-facing texts (``STAFF_CHAT_TEXTS``);
* an unbound stranger hears only binding texts (``STRANGER_TEXTS``), never member data;
* no handler error reaches the error handler (``record_error``).

Checked on the database after every batch (``check_database``): foreign keys resolve
(``PRAGMA foreign_key_check``), integrity, non-negative counters, ledger and proposal invariants,
one processed-update mark per distinct update.
"""

from __future__ import annotations

import itertools
import re
import shutil
import string
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from telegram import Update

from bot.app import build_application
from bot.localapi import Call, JSONDict, running_without_updater
from bot.services import build_services
from bot.settings import Settings
from handlers import texts
from handlers.context import BotApplication, Services
from handlers.rate_limit import VirtualTime
from store import members as members_repo
from store.models import Member, Role
from store.roster import RosterRow
from store.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import ERRORS_KEY, record_error
from tests.fuzz import strategies as fz

STAFF_CHAT_ID = -1_009_999_000_001  # tests/conftest.py
SHOW_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "sendLocation",
                          "sendVideo", "sendAudio", "sendVoice", "editMessageText", "editMessageCaption"})


def template(fmt: str) -> re.Pattern[str]:
    """A regex matching any ``fmt.format(...)`` result."""
    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(fmt):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append("(?s:.*)")
    return re.compile("".join(parts) + r"\Z", re.S)


def _templates(*formats: str) -> tuple[re.Pattern[str], ...]:
    return tuple(template(f) for f in formats)


# Staff-facing texts: the only ones the staff chat may receive.
STAFF_CHAT_TEXTS = _templates(texts.STAFF_ALERT, texts.STAFF_QUESTION_ALERT, texts.PROPOSAL_STAFF_NEW,
                              texts.EVENT_STAFF_FAR, texts.PROPOSAL_DIGEST + "(?s:.*)")
# What an unbound stranger may be told (binding, refusals, menus of nothing).
STRANGER_TEXTS = _templates(
    texts.UNBOUND, texts.UNBOUND[:190], texts.CODE_UNKNOWN,
    texts.CODE_TOO_MANY, texts.BOUND_WELCOME, texts.ALREADY_BOUND, texts.HELP_UNBOUND, texts.UNKNOWN_COMMAND,
    texts.STALE_BUTTON, texts.PRIVATE_ONLY, texts.TOO_LONG, texts.STAFF_ONLY,
)
BOUND_WELCOME = template(texts.BOUND_WELCOME)


@dataclass
class Report:
    """What a run did: updates by kind, violations (each with the event that caused it), time spent."""

    kinds: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def updates(self) -> int:
        return sum(n for k, n in self.kinds.items() if not k.startswith("skipped"))


def prepare_data_dir(data_dir: Path, template_db: Path | None) -> None:
    """A fresh data dir, with a copy of an already migrated SQLite file when there is one."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if template_db is not None:
        shutil.copyfile(template_db, data_dir / "cppcc.sqlite3")


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=data_dir, database_url=None, telegram_bot_token=None, telegram_api_base_url=None,
        bot_username=None, staff_chat_id=STAFF_CHAT_ID, webhook_url=None, webhook_secret=None,
        log_level="WARNING",
    )


async def import_people(services: Services, people: Iterable[dict[str, Any]]) -> list[Member]:
    rows = [
        RosterRow(line=n, name=p["name"], sector=p.get("sector", "经济界"), district=p.get("district", "城关区"),
                  groups=tuple(p.get("groups", ())), role=Role(p.get("role", "member")),
                  telegram_id=p.get("telegram_id"), phone=p.get("phone"))
        for n, p in enumerate(people, start=2)
    ]
    async with services.db.session() as session:
        report = await members_repo.import_roster(session, rows=rows, now=utcnow())
    by_name = {m.name: m for m in report.created + report.updated}
    return [by_name[r.name] for r in rows]


def _is_addressed_command(text: str) -> bool:
    """As Telegram marks it in the fake: a leading ``/word``, for us unless ``@another_bot``."""
    if not text.startswith("/"):
        return False
    command = text.split(maxsplit=1)[0]
    return "@" not in command or command.split("@", 1)[1].lower() == fz.BOT_USERNAME


class FuzzHarness:
    """The real Application on a fresh SQLite database, fed with ``Event``s by ``run``."""

    def __init__(self, fake: FakeBotApi, app: BotApplication, services: Services, stack: AsyncExitStack,
                 invite_codes: list[str]) -> None:
        self.fake, self.app, self.services, self._stack = fake, app, services, stack
        self.invite_codes = invite_codes
        self.history: list[JSONDict] = []
        self.update_ids: set[int] = set()
        self.bound_strangers: set[int] = set()
        self._raw_ids = itertools.count(1_000_000)
        self.report = Report()

    @classmethod
    async def open(cls, data_dir: Path, *, template_db: Path | None = None) -> FuzzHarness:
        settings = settings_for(data_dir)
        prepare_data_dir(data_dir, template_db)
        services = build_services(settings, with_knowledge=False)
        await services.db.upgrade()
        members = await import_people(services, fz.PEOPLE)
        codes = [m.invite_code or "" for m in members if m.telegram_id is None]
        fake = FakeBotApi(bot_username=fz.BOT_USERNAME)
        stack = AsyncExitStack()
        app = build_application(settings, services, request=fake.request(), limiter_time=VirtualTime())
        app.add_error_handler(record_error)
        await stack.enter_async_context(running_without_updater(app))
        return cls(fake, app, services, stack, codes)

    async def close(self) -> None:
        await self._stack.aclose()

    @property
    def errors(self) -> list[BaseException]:
        return self.app.bot_data.setdefault(ERRORS_KEY, [])

    # ---- building updates ---------------------------------------------------------------------

    def _chat_kwargs(self, where: str) -> dict[str, Any]:
        if where == "private":
            return {}
        if where == "channel":
            return {"chat_type": "channel", "chat_id": fz.CHANNEL_ID}
        return {"chat_type": where, "chat_id": fz.GROUP_ID}

    def _raw_message(self, user: int, content: JSONDict, where: str, *, key: str = "message") -> JSONDict:
        api = self.fake.api
        if where == "private":
            chat: JSONDict = {"id": user, "type": "private", "first_name": api.user(user)["first_name"]}
        elif where == "channel":
            chat = {"id": fz.CHANNEL_ID, "type": "channel", "title": "政协资讯"}
        else:
            chat = {"id": fz.GROUP_ID, "type": where, "title": "委员交流群"}
        message: JSONDict = {"message_id": next(self._raw_ids), "date": int(time.time()), "chat": chat, **content}
        if where == "channel":
            message["sender_chat"] = chat
            key = "channel_post" if key == "message" else "edited_channel_post"
        else:
            message["from"] = api.user(user)
        api.messages.setdefault(chat["id"], {})[message["message_id"]] = message
        return self.fake.api.enqueue({key: message})

    def _say(self, user: int, text: str, where: str) -> JSONDict:
        if where == "channel":
            content: JSONDict = {"text": text}
            if text.startswith("/"):
                content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            return self._raw_message(user, content, where)
        return self.fake.user_sends(user, text, **self._chat_kwargs(where))

    def _media(self, event: fz.Media) -> JSONDict:
        user, kind, caption, where = event.user, event.kind, event.caption, event.where
        chat = self._chat_kwargs(event.where)
        if where != "channel":
            if kind == "photo":
                return self.fake.user_sends_photo(user, b"\xff\xd8fuzz", caption, **chat)
            if kind == "document":
                return self.fake.user_sends_document(user, "材料.pdf", data=b"%PDF-1.4 fuzz", caption=caption, **chat)
            if kind == "sticker":
                return self.fake.user_sends_sticker(user, "🙂", **chat)
            if kind == "location":
                return self.fake.user_sends_location(user, 36.06, 103.83, **chat)
        file = {"file_id": f"RAW{kind}", "file_unique_id": f"U{kind}"}
        location = {"latitude": 36.06, "longitude": 103.83}
        contents: dict[str, JSONDict] = {
            "photo": {"photo": [{**file, "width": 90, "height": 90}]},
            "document": {"document": {**file, "file_name": "a.txt", "mime_type": "text/plain"}},
            "sticker": {"sticker": {**file, "type": "regular", "width": 512, "height": 512, "is_animated": False,
                                    "is_video": False}},
            "location": {"location": location},
            "voice": {"voice": {**file, "duration": 3, "mime_type": "audio/ogg"}},
            "video": {"video": {**file, "width": 640, "height": 480, "duration": 5}},
            "contact": {"contact": {"phone_number": "+8613800000000", "first_name": "张", "user_id": user}},
            "poll": {"poll": _poll()},
            "dice": {"dice": {"emoji": "🎲", "value": 3}},
            "venue": {"venue": {"location": location, "title": "政协大楼", "address": "城关区"}, "location": location},
            "animation": {"animation": {**file, "width": 320, "height": 240, "duration": 2},
                          "document": {**file, "file_name": "a.gif.mp4", "mime_type": "video/mp4"}},
            "video_note": {"video_note": {**file, "length": 240, "duration": 3}},
            "audio": {"audio": {**file, "duration": 100}},
        }
        content = contents[kind]
        if caption is not None and kind in ("photo", "document", "voice", "video", "animation", "audio"):
            content["caption"] = caption
        return self._raw_message(user, content, where)

    def _edit(self, event: fz.Edit) -> JSONDict:
        if event.where == "channel":
            return self._raw_message(event.user, {"text": event.text, "edit_date": int(time.time())}, "channel",
                                     key="edited_message")
        chat = event.user if event.where == "private" else fz.GROUP_ID
        mine = [mid for mid, m in self.fake.api.messages.get(chat, {}).items()
                if m.get("from", {}).get("id") == event.user]
        message_id = max(mine) if mine else 1
        return self.fake.api.user_edits(event.user, message_id, event.text,
                                        chat_id=None if event.where == "private" else fz.GROUP_ID)

    def _tap(self, event: fz.Tap) -> JSONDict | None:
        buttons: list[tuple[JSONDict, str]] = []
        chat = self.fake.api.messages.get(event.user, {})
        with_buttons = [m for i in sorted(chat, reverse=True) if (m := chat[i]).get("from", {}).get("is_bot")
                        and (m.get("reply_markup") or {}).get("inline_keyboard")]
        for message in with_buttons[:4]:  # the newest keyboards: the dialogue in progress, and a few stale ones
            for row in message["reply_markup"]["inline_keyboard"]:
                buttons += [(message, b["callback_data"]) for b in row if "callback_data" in b]
        if not buttons:
            return None
        message, data = buttons[event.index % len(buttons)]
        return self.fake.api.user_presses(event.user, data, message=message)

    def _newest_bot_message(self, user: int) -> JSONDict:
        """The message a forged button press comes with: Telegram always attaches the (bot's) message."""
        chat = self.fake.api.messages.setdefault(user, {})
        for message_id in sorted(chat, reverse=True):
            if chat[message_id].get("from", {}).get("is_bot"):
                return chat[message_id]
        message: JSONDict = {"message_id": next(self._raw_ids), "date": int(time.time()), "text": "…",
                   "chat": {"id": user, "type": "private", "first_name": self.fake.api.user(user)["first_name"]},
                   "from": self.fake.api.bot_user}
        chat[message["message_id"]] = message
        return message

    def _service(self, event: fz.Service) -> JSONDict:
        api = self.fake.api
        group = {"id": fz.GROUP_ID, "type": "supergroup", "title": "委员交流群"}
        now = int(time.time())
        if event.kind == "my_chat_member":
            return api.enqueue({"my_chat_member": {
                "chat": group, "from": api.user(event.user), "date": now,
                "old_chat_member": {"user": api.bot_user, "status": "left"},
                "new_chat_member": {"user": api.bot_user, "status": "member"}}})
        if event.kind == "poll":
            return api.enqueue({"poll": _poll()})
        if event.kind == "inline_query":
            return api.enqueue({"inline_query": {"id": str(next(self._raw_ids)), "from": api.user(event.user),
                                                 "query": "提案", "offset": ""}})
        return self._raw_message(event.user, {"new_chat_members": [api.user(event.user)]}, "supergroup")

    def build(self, event: fz.Event) -> tuple[str, JSONDict | None]:
        """The update for ``event`` (queued at the fake) and its kind; None when it cannot happen now."""
        match event:
            case fz.Say(user, text_, where):
                kind = "command" if text_.startswith("/") else "text"
                if len(text_) > 4096:
                    kind = "long_text"
                return f"{kind}:{where}", self._say(user, text_, where)
            case fz.Press(user, data):
                update = self.fake.api.user_presses(user, data or "", message=self._newest_bot_message(user))
                if data is None:
                    del update["callback_query"]["data"]
                    update["callback_query"]["game_short_name"] = "game"
                return "press:forged", update
            case fz.Tap():
                found = self._tap(event)
                return ("press:button", found) if found else ("skipped:no-button", None)
            case fz.Media(kind=kind, where=where):
                return f"media:{kind}:{where}", self._media(event)
            case fz.Edit(where=where):
                return f"edit:{where}", self._edit(event)
            case fz.Redeliver(back):
                if not self.history:
                    return "skipped:nothing-to-redeliver", None
                return "redelivery", self.history[-min(back, len(self.history))]
            case fz.SendInviteCode(user, slot, with_start):
                code = self.invite_codes[slot % len(self.invite_codes)]
                spaced = f"{code[:4].lower()} {code[4:]}"
                return "invite_code", self.fake.user_sends(user, f"/start {code}" if with_start else spaced)
            case fz.Service(kind=kind):
                return f"service:{kind}", self._service(event)
        raise AssertionError(f"unknown event {event!r}")

    # ---- running and checking ---------------------------------------------------------------

    async def run(self, events: Sequence[fz.Event]) -> list[str]:
        """Feed ``events`` one by one; returns the violations they caused (also kept in ``report``)."""
        found: list[str] = []
        started = time.perf_counter()
        for event in events:
            kind, update = self.build(event)
            self.report.kinds[kind] += 1
            if update is None:
                continue
            problems = await self.process(update, redelivery=kind == "redelivery")
            found += [f"{p}\n    event: {event!r}" for p in problems]
        self.report.seconds += time.perf_counter() - started
        self.report.violations += found
        return found

    async def process(self, update: JSONDict, *, redelivery: bool = False) -> list[str]:
        since, errors_before = self.fake.mark(), len(self.errors)
        problems: list[str] = []
        parsed = Update.de_json(update, self.app.bot)  # a malformed update is a bug of the generator: raise
        try:
            await self.app.process_update(parsed)
        except Exception as exc:  # the unit of work itself failed
            problems.append(f"process_update raised {exc!r}\n{traceback.format_exc(limit=6)}")
        for error in self.errors[errors_before:]:
            tb = "".join(traceback.format_exception(error, limit=-4))
            problems.append(f"handler error {error!r}\n{tb}")
        calls = self.fake.api.calls[since:]
        problems += self._check_calls(calls)
        problems += self._check_answered(update, calls, redelivery=redelivery)
        if not redelivery:
            self.history.append(update)
            self.update_ids.add(int(update["update_id"]))
        return problems

    def _check_calls(self, calls: Sequence[Call]) -> list[str]:
        problems = []
        for call in calls:
            if call.method not in SHOW_METHODS or not call.ok:
                continue
            chat, shown = call.chat_id, call.text or ""
            if not isinstance(chat, int):
                problems.append(f"{call.method} to a non-numeric chat {chat!r}")
            elif chat == STAFF_CHAT_ID:
                if not any(p.match(shown) for p in STAFF_CHAT_TEXTS):
                    problems.append(f"the staff chat got a non-staff text: {shown[:200]!r}")
            elif chat < 0:
                if chat != fz.GROUP_ID or shown != texts.PRIVATE_ONLY or call.method != "sendMessage":
                    problems.append(f"{call.method} to group/channel {chat}: {shown[:200]!r}")
            elif chat in fz.STRANGERS and chat not in self.bound_strangers:
                if BOUND_WELCOME.match(shown):
                    self.bound_strangers.add(chat)
                elif not any(p.match(shown) for p in STRANGER_TEXTS):
                    problems.append(f"unbound user {chat} was shown {shown[:200]!r}")
            elif chat not in fz.USERS:
                problems.append(f"{call.method} to an unknown chat {chat}")
        return problems

    def _check_answered(self, update: JSONDict, calls: Sequence[Call], *, redelivery: bool) -> list[str]:
        shown_in = Counter(c.chat_id for c in calls if c.ok and c.method in SHOW_METHODS)
        if "callback_query" in update:
            query_id = update["callback_query"]["id"]
            answers = [c for c in calls if c.method == "answerCallbackQuery"
                       and str(c.params.get("callback_query_id")) == query_id]
            if redelivery:
                return [f"a redelivered press was answered again: {answers}"] if answers else []
            ok = [c for c in answers if c.ok]
            if len(ok) != 1 or len(answers) != 1:
                return [f"button press answered {len(ok)} time(s), {len(answers) - len(ok)} failed: "
                        f"{[(c.status, c.error, c.text) for c in answers]}"]
            return []
        message = update.get("message")
        if message is None:  # edits, channel posts, service updates: silence in their chat
            for key in ("edited_message", "channel_post", "edited_channel_post", "my_chat_member"):
                if key in update and shown_in[update[key]["chat"]["id"]]:
                    return [f"{key} got a reply: {[c.text for c in calls if c.method in SHOW_METHODS]}"]
            return []
        chat = message["chat"]
        if redelivery:
            return [f"a redelivered update was answered again in {chat['id']}"] if shown_in[chat["id"]] else []
        if chat["type"] == "private":
            if "new_chat_members" in message or shown_in[chat["id"]]:
                return []
            return ["a private message got no reply"]
        in_group = [c for c in calls if c.chat_id == chat["id"] and c.method in SHOW_METHODS]
        addressed = chat["type"] in ("group", "supergroup") and _is_addressed_command(message.get("text") or "")
        expected = [texts.PRIVATE_ONLY] if addressed else []
        if [c.text for c in in_group] != expected:
            return [f"{chat['type']} message: expected {expected}, bot showed {[c.text for c in in_group]}"]
        return []

    # ---- the database -------------------------------------------------------------------------

    async def check_database(self) -> list[str]:
        """Foreign keys, integrity, non-negative counters, ledger and proposal invariants."""
        problems: list[str] = []
        checks = {
            "foreign keys that do not resolve": "PRAGMA foreign_key_check",
            "negative counters": """
                SELECT 'faq_entries', id FROM faq_entries WHERE hits < 0
                UNION ALL SELECT 'proposals.reopened', id FROM proposals WHERE reopened < 0
                UNION ALL SELECT 'proposal_counters', year FROM proposal_counters WHERE last < 0
                UNION ALL SELECT 'proposal_photos', id FROM proposal_photos WHERE position < 0
                UNION ALL SELECT 'broadcast_deliveries', id FROM broadcast_deliveries WHERE attempts < 0
                UNION ALL SELECT 'proposal_notifications', id FROM proposal_notifications WHERE attempts < 0
                UNION ALL SELECT 'credit_checkins', id FROM credit_checkins WHERE minutes < 0
                UNION ALL SELECT 'credit_checkin_drafts', id FROM credit_checkin_drafts WHERE minutes < 0
                UNION ALL SELECT 'credit_events', id FROM credit_events WHERE points < 0 OR radius_m < 0
                UNION ALL SELECT 'credit_entries', id FROM credit_entries WHERE requested_points < 0""",
            "ledger lines outside 0..requested (not adjustments)": """
                SELECT id, points, requested_points FROM credit_entries
                WHERE source_type != 'adjustment' AND (points < 0 OR points > requested_points)""",
            "members with a negative credit total": """
                SELECT member_id, SUM(points) FROM credit_entries GROUP BY member_id HAVING SUM(points) < 0""",
            "disputes in an unknown or half-resolved state": """
                SELECT id, status FROM credit_disputes
                WHERE status NOT IN ('drafting', 'open', 'upheld', 'corrected')
                   OR (status IN ('upheld', 'corrected') AND resolved_at IS NULL)""",
            "proposals with an unknown status, no events or a broken merge": """
                SELECT p.id, p.status FROM proposals p
                WHERE p.status NOT IN ('submitted', 'accepted', 'rejected', 'assigned', 'answered', 'closed',
                                       'withdrawn', 'merged', 'converted')
                   OR NOT EXISTS (SELECT 1 FROM proposal_events e WHERE e.proposal_id = p.id)
                   OR (p.status = 'merged' AND (p.merged_into_id IS NULL OR p.merged_into_id = p.id))""",
            "proposal numbers beyond the year's counter": """
                SELECT p.number FROM proposals p
                WHERE CAST(substr(p.number, -4) AS INTEGER) > (
                    SELECT c.last FROM proposal_counters c WHERE c.year = CAST(substr(p.number, 5, 4) AS INTEGER))""",
            "authors seconding their own proposal": """
                SELECT s.id FROM proposal_supporters s JOIN proposals p ON p.id = s.proposal_id
                WHERE s.member_id = p.member_id""",
            "deliveries or broadcasts in an unknown state": """
                SELECT 'delivery', id FROM broadcast_deliveries
                WHERE state NOT IN ('pending', 'sending', 'sent', 'failed', 'blocked')
                UNION ALL SELECT 'broadcast', id FROM broadcasts
                WHERE state NOT IN ('scheduled', 'queued', 'sending', 'done', 'cancelled')""",
            "bound members without bound_at":
                "SELECT id FROM members WHERE telegram_id IS NOT NULL AND bound_at IS NULL",
        }
        async with self.services.db.session() as session:
            for what, sql in checks.items():
                rows = (await session.execute(text(sql))).all()
                if rows:
                    problems.append(f"database: {what}: {rows[:5]}")
            integrity = (await session.execute(text("PRAGMA integrity_check"))).scalar()
            if integrity != "ok":
                problems.append(f"database: integrity_check says {integrity!r}")
            marked = set((await session.execute(text("SELECT update_id FROM processed_updates"))).scalars())
        if marked != self.update_ids:
            problems.append(f"database: processed-update marks differ: missing {sorted(self.update_ids - marked)[:5]}, "
                            f"unexpected {sorted(marked - self.update_ids)[:5]}")
        self.report.violations += problems
        return problems


def _poll() -> JSONDict:
    return {"id": "poll1", "question": "午餐？", "options": [{"persistent_id": "0", "text": "面", "voter_count": 0},
                                                         {"persistent_id": "1", "text": "饭", "voter_count": 0}],
            "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
            "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}
