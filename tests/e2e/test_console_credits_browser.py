"""积分 in a real browser (Debian's headless Chromium) against ``cppcc-bot console`` in its own process, while
the bot (the real Application on the fake Bot API) serves the member: the report per year, quarter and
month, a dispute the member files in Telegram accepted in the browser with a reason, which the member then
receives from the bot (the console queues it, the bot's job sends it), and the member's total drops."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import pytest

from handlers import texts as bot_texts
from handlers.context import Services
from store.credits import reports
from store.credits.awards import award
from store.credits.rules import default_rules
from store.models import Member
from tests.e2e.test_console_browser import LINK, console_process  # noqa: F401  (the fixture)
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.support.browser import chromium

pytestmark = pytest.mark.real


async def _seed(services: Services, member: Member) -> None:
    """Two ledger entries on fixed dates (February and November 2026), so the periods do not follow the clock."""
    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    async with services.db.session() as session:
        for n, (rule_id, points, day) in enumerate((("study", 2, date(2026, 2, 3)),
                                                     ("meeting", 3, date(2026, 11, 20))), start=1):
            await award(session, rules=default_rules(), member_id=member.id, rule_id=rule_id, source_type="event",
                        source_id=str(n), requested_points=points, activity_date=day, at=at,
                        title="全体委员会议" if rule_id == "meeting" else "《政协章程》", apply_caps=False)


async def test_credit_report_and_a_dispute_accepted_in_the_browser(
    chat: Dialogue, fake: FakeBotApi, services: Services, roster: Callable[..., Awaitable[list[Member]]],
    console_process: str,  # noqa: F811  (the imported fixture)
) -> None:
    member, _ = await roster({"name": "张明", "telegram_id": 1001},
                             {"name": "李干事", "telegram_id": 9001, "role": "staff"})
    await _seed(services, member)
    from playwright.async_api import expect

    # ---- the member disputes the meeting entry in Telegram ----------------------------------------------
    await chat.send(1001, "/credits")
    await chat.tap(1001, bot_texts.BTN_CREDITS_DISPUTE)
    picked = await chat.tap(1001, bot_texts.DISPUTE_BUTTON.format(id=2))
    assert bot_texts.DISPUTE_ASK_REASON in picked.text
    submitted = await chat.send(1001, "那天我请假了，没有参加会议")
    assert "申诉已提交" in submitted.text

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        link = LINK.search((await chat.send(9001, "/console")).text)
        assert link
        await page.goto(link.group(1))
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("heading", name="总览")).to_be_visible()

        # ---- the report: year, quarter, month ---------------------------------------------------------
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="积分").click()
        await page.locator("input[name=period]").fill("2026")
        await page.get_by_role("button", name="查看").click()
        await expect(page.locator('[data-n="total"]')).to_have_text("5")
        await expect(page.locator("table.report")).to_contain_text("张明")
        await expect(page.get_by_role("img", name="按类型合计")).to_be_visible()
        await expect(page.locator('svg g[data-label="会议"]')).to_have_attribute("data-value", "3")
        periods = page.get_by_role("navigation", name="统计期间")
        await periods.get_by_role("link", name="第一季度").click()
        await expect(page).to_have_url(re.compile(r"period=2026Q1$"))
        await expect(page.locator('[data-n="total"]')).to_have_text("2")
        await periods.get_by_role("link", name="11月").click()
        await expect(page.locator('[data-n="total"]')).to_have_text("3")
        await expect(page.locator('svg g[data-label="2026-11"]')).to_have_attribute("data-value", "3")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name=re.compile("导出 Excel")).click()
        download = await download_info.value
        assert download.suggested_filename.endswith(".xlsx")

        # ---- accept the dispute with a reason -------------------------------------------------------
        await page.get_by_role("navigation", name="积分").get_by_role("link", name="申诉").click()
        dispute = page.locator("article.dispute", has_text="那天我请假了，没有参加会议")
        await expect(dispute).to_contain_text("全体委员会议")
        since = fake.mark()
        await dispute.get_by_label("处理说明").fill("经核实当天已请假，撤销该记录")
        await dispute.get_by_role("button", name=re.compile("^采纳")).click()
        await expect(page.locator(".flash")).to_contain_text("申诉已采纳")
        await expect(page.locator("table.done")).to_contain_text("经核实当天已请假，撤销该记录")

        # ---- the member hears it from the bot, in the bot's words, with the reason -----------------------
        told = await fake.wait_for_call(
            "sendMessage", lambda c: c.chat_id == 1001 and "申诉" in (c.text or ""), since=since, timeout=30)
        result = bot_texts.DISPUTE_RESOLVED_MEMBER.format(id=1, result=bot_texts.DISPUTE_RESULTS["corrected"])
        assert told.text == result + "\n处理说明：经核实当天已请假，撤销该记录"
        async with services.db.session() as session:
            assert await reports.year_total(session, member_id=member.id, year=2026) == 2
        view = await chat.send(1001, "/credits")
        assert "-3" in view.text  # the reversal shows among the last entries

        # ---- the audit log shows who decided ----------------------------------------------------------
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="操作记录").click()
        await expect(page.locator("table")).to_contain_text("处理积分申诉")
        await expect(page.locator("table")).to_contain_text("李干事")
