"""Check-ins, events and the credits view as dialogues through the real Application."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from handlers import texts
from handlers.context import BotApplication, Services
from handlers.credits_view import send_reminders
from store import audit
from store.credits import reports
from store.credits.rules import default_rules
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
MEMBER, OTHER, STAFF = 1001, 1002, 9001


@pytest.fixture
async def people(services: Services, roster: Callable[..., Awaitable[list[object]]]) -> None:
    services.clock = lambda: NOW
    await roster(
        {"name": "张明", "telegram_id": MEMBER, "sector": "经济界", "district": "渝中区"},
        {"name": "王芳", "telegram_id": OTHER, "sector": "教育界", "district": "江北区"},
        {"name": "李干事", "telegram_id": STAFF, "role": "staff"},
        {"name": "赵未绑", "sector": "教育界"},
    )


async def _totals(services: Services) -> dict[str, int]:
    async with services.db.session() as session:
        rows = await reports.report_rows(session, rules=default_rules(), period=reports.year_period(2026))
    return {r.member.name: r.total for r in rows}


async def test_plain_text_checkin_confirm_and_daily_cap(chat: Dialogue, people: None, services: Services) -> None:
    offer = await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    assert "《政协章程》" in offer.text and "45 分钟" in offer.text and "预计积分：2 分" in offer.text
    assert offer.buttons == [texts.BTN_CONFIRM, texts.BTN_EDIT, texts.BTN_CANCEL]
    assert await _totals(services) == {"张明": 0, "王芳": 0, "赵未绑": 0}  # nothing recorded before 确认
    done = await chat.tap(MEMBER, texts.BTN_CONFIRM)
    assert "获得 2 分" in done.text and "今年累计 2 分" in done.text
    confirmed = chat.fake.api.messages[MEMBER][max(chat.fake.api.messages[MEMBER])]
    stale = await chat.process(chat.fake.api.user_presses(MEMBER, "ck:ok:1", message=confirmed))  # replayed
    assert texts.STALE_BUTTON in stale.text
    await chat.send(MEMBER, "下午又学习了90分钟《协商民主概论》")
    capped = await chat.tap(MEMBER, texts.BTN_CONFIRM)
    assert "本次计 1 分" in capped.text and "已达当日上限" in capped.text
    assert (await _totals(services))["张明"] == 3


async def test_edit_a_field_and_cancel(chat: Dialogue, people: None, services: Services) -> None:
    await chat.send(MEMBER, "读完《习近平谈治国理政》第三章 半小时")
    await chat.tap(MEMBER, texts.BTN_EDIT)
    ask = await chat.tap(MEMBER, texts.BTN_EDIT_MINUTES)
    assert texts.CHECKIN_ASK_FIELD["minutes"] in ask.text
    bad = await chat.send(MEMBER, "很久")
    assert texts.CHECKIN_BAD_FIELD["minutes"] in bad.text
    fixed = await chat.send(MEMBER, "1小时")
    assert "60 分钟" in fixed.text and "预计积分：3 分" in fixed.text
    await chat.tap(MEMBER, texts.BTN_EDIT)
    await chat.tap(MEMBER, texts.BTN_EDIT_DATE)
    dated = await chat.send(MEMBER, "昨天")
    assert "2026-11-25" in dated.text and texts.CHECKIN_BACKFILL in dated.text
    cancelled = await chat.tap(MEMBER, texts.BTN_CANCEL)
    assert texts.CHECKIN_CANCELLED in cancelled.text
    assert (await _totals(services))["张明"] == 0


async def test_checkin_command_prompt_and_examples(chat: Dialogue, people: None) -> None:
    prompt = await chat.send(MEMBER, "/checkin")
    assert "今天学习了《政协章程》40分钟" in prompt.text
    offer = await chat.send(MEMBER, "40分钟")  # a bare duration is fine after the prompt
    assert "40 分钟" in offer.text and offer.buttons[0] == texts.BTN_CONFIRM
    missing = await chat.send(MEMBER, "今天学习了《政协章程》")
    assert texts.CHECKIN_DECLINES["no_duration"] in missing.text
    short = await chat.send(MEMBER, "今天学习了5分钟")
    assert "至少 10 分钟" in short.text
    old = await chat.send(MEMBER, "11月1日学习了1小时")
    assert "7 天" in old.text
    not_ours = await chat.send(MEMBER, "跑步40分钟")
    assert "预计积分" not in not_ours.text


async def _create_event(chat: Dialogue, spec: str) -> str:
    replies = await chat.send(STAFF, f"/event {spec}")
    assert "已创建活动" in replies.text, replies.text
    return replies.text


async def test_event_checkin_by_code_once_and_window(
    chat: Dialogue, people: None, fake: FakeBotApi, services: Services
) -> None:
    created = await _create_event(chat, "政协章程学习会 | 会议 | 现在 | +2h | 代码=HY01")
    assert "EVT-HY01" in created and "?start=EVT-HY01" not in created  # the QR code rotates: no lasting link
    photo = fake.bot_calls("sendPhoto", chat_id=STAFF)[-1]
    assert "EVT-HY01" in (photo.text or "")
    await _create_event(chat, "上午读书会 | 读书 | -5h | -3h | 代码=DS02")
    ok = await chat.send(MEMBER, "EVT-HY01")
    assert "签到成功" in ok.text and "获得 5 分" in ok.text
    again = await chat.send(MEMBER, "hy01")
    assert "不重复计分" in again.text
    late = await chat.send(MEMBER, "DS02")
    assert "签到已于" in late.text and "结束" in late.text
    unknown = await chat.send(MEMBER, "EVT-ZZ99")
    assert "没有找到活动代码" in unknown.text
    assert (await _totals(services))["张明"] == 5
    listing = await chat.send(STAFF, "/event HY01")
    assert "签到 1 人" in listing.text and "张明" in listing.text
    refused = await chat.send(MEMBER, "/event 会 | 会议 | 现在 | +1h")
    assert texts.STAFF_ONLY in refused.text


async def test_deep_link_location_and_manual_mark(chat: Dialogue, people: None, services: Services) -> None:
    await _create_event(chat, "调研视察 | 调研 | 现在 | +3h | 地点=政协大楼 29.5630,106.5516 200 | 代码=DY03")
    linked = await chat.send(MEMBER, "/start EVT-DY03")
    assert "签到成功" in linked.text and texts.EVENT_ASK_LOCATION in linked.text
    far = await chat.send_location(MEMBER, 29.5720, 106.5516)
    assert "超出 200 米范围" in far.text
    unbound = await chat.send(5555, "/start EVT-DY03")
    assert texts.UNBOUND in unbound.text
    mark = await chat.send(STAFF, "/event DY03 补签 王芳 签到时手机没电")
    assert "已为 王芳 补签" in mark.text
    listing = await chat.send(STAFF, "/event DY03")
    assert "⚠️超出范围" in listing.text and "补签" in listing.text
    async with services.db.session() as session:
        entries = await audit.entries(session, action="credits.attendance_mark")
    assert entries[0].note == "签到时手机没电"
    bind = await chat.send(5555, "/start NOTACODE")  # invite-code binding still answers
    assert texts.CODE_UNKNOWN in bind.text


async def test_bad_event_input_is_explained(chat: Dialogue, people: None) -> None:
    usage = await chat.send(STAFF, "/event")
    assert "/event 标题 | 类型 | 开始 | 结束" in usage.text
    bad = await chat.send(STAFF, "/event 学习会 | 聚餐 | 现在 | +1h")
    assert "类型不对" in bad.text
    backwards = await chat.send(STAFF, "/event 学习会 | 会议 | +2h | +1h")
    assert "结束时间要晚于开始时间" in backwards.text


async def test_credits_view_chart_dispute_and_reminders(
    chat: Dialogue, people: None, fake: FakeBotApi, services: Services
) -> None:
    await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    await chat.tap(MEMBER, texts.BTN_CONFIRM)
    view = await chat.send(MEMBER, "/credits")
    assert "累计 2 分 / 目标 60 分" in view.text and "自主学习 2" in view.text
    assert texts.CREDITS_PRIVATE in view.text and "王芳" not in view.text
    await chat.tap(MEMBER, texts.BTN_CREDITS_CHART)
    png = fake.bot_calls("sendPhoto", chat_id=MEMBER)[-1]
    assert "累计 2 分" in (png.text or "")
    await chat.tap(MEMBER, texts.BTN_CREDITS_DISPUTE)
    picked = await chat.tap(MEMBER, texts.DISPUTE_BUTTON.format(id=1))
    assert texts.DISPUTE_ASK_REASON in picked.text
    submitted = await chat.send(MEMBER, "实际学习了 60 分钟")
    assert "申诉已提交" in submitted.text
    staff_notice = fake.bot_calls("sendMessage", chat_id=STAFF)[-1]
    assert "实际学习了 60 分钟" in (staff_notice.text or "")
    resolved = await chat.tap(STAFF, texts.BTN_DISPUTE_CORRECT)
    assert "已撤销" in resolved.text
    assert "已撤销该记录的积分" in (fake.bot_calls("sendMessage", chat_id=MEMBER)[-1].text or "")
    assert (await _totals(services))["张明"] == 0
    off = await chat.tap(MEMBER, texts.BTN_REMINDERS_OFF)
    assert texts.REMINDERS_OFF in off.text


async def test_reminders_respect_opt_out_and_quiet_hours(
    chat: Dialogue, people: None, fake: FakeBotApi, bot_app: BotApplication
) -> None:
    await chat.send(OTHER, "/credits")
    await chat.tap(OTHER, texts.BTN_REMINDERS_OFF)
    quiet = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert await send_reminders(bot_app, quiet) == 0
    evening = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # 19:00
    since = fake.mark()
    assert await send_reminders(bot_app, evening) == 1
    sent = fake.replies_since(since)
    assert [c.chat_id for c in sent] == [MEMBER] and "按进度" in (sent[0].text or "")
    assert await send_reminders(bot_app, evening + timedelta(days=1)) == 0  # not again within a week


async def test_stats_for_staff_only(chat: Dialogue, people: None, fake: FakeBotApi) -> None:
    await chat.send(MEMBER, "今天学习了《政协章程》45分钟")
    await chat.tap(MEMBER, texts.BTN_CONFIRM)
    stats = await chat.send(STAFF, "/stats")
    assert "2026 履职积分统计：3 位委员，共 2 分" in stats.text
    assert "经济界：1 人" in stats.text and "未达进度的委员（3 人）" in stats.text
    chart = fake.bot_calls("sendPhoto", chat_id=STAFF)[-1]
    assert "各界别人均积分" in (chart.text or "")
    assert texts.STAFF_ONLY in (await chat.send(MEMBER, "/stats")).text


def test_chart_png_renders_chinese_without_missing_glyphs(recwarn: pytest.WarningsRecorder) -> None:
    from handlers.charts import bar_chart, cjk_font_path

    assert cjk_font_path().is_file()
    png = bar_chart(texts.CHART_MONTHS, [1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2], title="2026 年每月积分", ylabel="积分")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (800, 420)
    assert not [w for w in recwarn if "missing from" in str(w.message) or "Glyph" in str(w.message)]
