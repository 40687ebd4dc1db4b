"""The staff console in a real browser (Debian's headless Chromium), served by ``cppcc-bot console`` as a
separate process, while the bot (the real Application on the fake Bot API) answers members from the same
database and knowledge base: sign-in by /console, an upload the bot then answers from, an FAQ made from a
gap, a roster import with a bad row; a micro-proposal handled from 已提交 through 受理 and 交办 to 已答复 in
the browser, the member told of each step through the fake Bot API and rating the reply in Telegram; a
broadcast under the two-person rule, composed, refused, approved and delivered."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.knowledge_wiring import knowledge_config_from
from bot.settings import Settings
from handlers import proposal_jobs
from handlers import texts as bot_texts
from handlers.broadcast import run_due
from handlers.broadcast_sender import BroadcastConfig
from handlers.console import ConsoleLinks
from handlers.context import BotApplication, Services
from knowledge.embedders import HashEmbedder
from knowledge.service import KnowledgeBase
from store import members as members_repo
from store import preferences
from store.models import Member
from store.proposals import repository as proposals_repo
from store.types import utcnow
from tests.fakes.botapi import FakeBotApi
from tests.fakes.dialogue import Dialogue
from tests.fakes.process import BotProcess, cli_env, free_port
from tests.support.browser import chromium

pytestmark = pytest.mark.real

DOC = ("# 委员履职手册\n\n## 第一章 总则\n\n第一条 委员每年应当提交至少一件提案。\n\n"
       "第二条 委员因故不能出席会议，应当向办公室请假。\n\n第三条 委员应当参加学习和培训。\n")
NO_QUIET_HOURS = "00:00-00:00"  # QUIET_HOURS_DEFAULT for none
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/console/login\?t=\S+)")


async def _wait_until_serving(base: str, proc: BotProcess, limit: float = 90.0) -> None:
    """Poll until the console answers (a subprocess start-up: there is no event to wait on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    async with httpx.AsyncClient() as client:
        while loop.time() < deadline:
            if proc.proc.returncode is not None:
                raise AssertionError(f"console exited:\n{proc.output()}")
            try:
                if (await client.get(f"{base}/console/signin")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"console did not start within {limit}s:\n{proc.output()}")


@pytest.fixture
async def console_process(settings: Settings, services: Services) -> AsyncIterator[str]:
    """``cppcc-bot console`` on a free port over the test's data dir; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = await BotProcess.start(settings.data_dir, "console", "--port", str(port),
                                  env=cli_env(CONSOLE_URL=base))
    try:
        await _wait_until_serving(base, proc)
        services.configs.replace(ConsoleLinks(base_url=base))  # the bot's /console links point at it
        # The console runs in another process on the wall clock, and a link expires 10 minutes after the bot
        # issued it: both sides must read the same clock. The wall clock may be inside the default quiet
        # hours (22:00-08:00 Shanghai), which would hold back what the bot sends members: none here, as in the
        # console process (``cli_env``).
        services.clock = utcnow
        start, end = preferences.parse_window(NO_QUIET_HOURS)
        services.prefs_defaults = replace(services.prefs_defaults, quiet_start=start, quiet_end=end)
        broadcast = services.config(BroadcastConfig)
        services.configs.replace(replace(broadcast, defaults=replace(broadcast.defaults, quiet_start=start,
                                                                     quiet_end=end)))
        yield base
    finally:
        await proc.stop()


@pytest.fixture
def bot_kb(settings: Settings, services: Services) -> Iterator[KnowledgeBase]:
    config = knowledge_config_from(settings.model_copy(update={"embedder": "hash"}))
    kb = KnowledgeBase.open(config, embedder=HashEmbedder())
    kb.live.interval = 0.0  # look at the revision on every question (the once-a-second limit is unit-tested)
    services.knowledge = kb
    yield kb
    services.knowledge = None


async def test_staff_console_in_the_browser_and_the_bot_follows(
    chat: Dialogue, services: Services, roster: Callable[..., Awaitable[list[Member]]], bot_kb: KnowledgeBase,
    console_process: str, tmp_path: Path,
) -> None:
    await roster({"name": "张明", "telegram_id": 1001}, {"name": "李干事", "telegram_id": 9001, "role": "staff"})
    from playwright.async_api import expect

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")

        # ---- sign in with the link /console sends ---------------------------------------------------
        replies = await chat.send(9001, "/console")
        link = LINK.search(replies.text)
        assert link, replies.text
        await page.goto(link.group(1))
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("heading", name="总览")).to_be_visible()
        await expect(page.locator(".flash")).to_contain_text("登录成功")
        await page.goto(link.group(1))  # the link is used up
        await expect(page.locator("main")).to_contain_text("已经用过")

        # ---- upload a document; the bot (another process) answers from it -----------------------------
        before = await chat.send(1001, "委员因故不能出席会议怎么办")
        assert "委员履职手册" not in before.text
        doc = tmp_path / "委员履职手册.md"
        doc.write_text(DOC, encoding="utf-8")
        await page.goto(f"{console_process}/console/")
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="知识库").click()
        await page.locator("input[name=files]").set_input_files([str(doc)])
        await page.get_by_role("button", name="上传并导入").click()
        await expect(page.locator(".flash")).to_contain_text("已导入 1 个文件", timeout=60_000)
        await expect(page.locator("table").last).to_contain_text("委员履职手册")
        answer = await chat.send(1001, "委员因故不能出席会议怎么办")
        assert "《委员履职手册》第二条" in answer.text and "请假" in answer.text
        await page.get_by_role("searchbox").fill("委员因故不能出席会议怎么办")
        await page.get_by_role("button", name="测试").click()
        await expect(page.locator("pre.reply")).to_contain_text("第二条")

        # ---- a question the bot could not answer becomes an FAQ entry ---------------------------------
        refused = await chat.send(1001, "委员证丢了怎么补办")
        assert "请到委员会办公室补办" not in refused.text
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="问答").click()
        gap = page.locator("article.gap", has_text="委员证丢了怎么补办")
        await gap.get_by_placeholder("写下答案").fill("请到委员会办公室补办，带身份证。")
        await gap.get_by_role("button", name="转为常见问答").click()
        await expect(page.locator(".flash")).to_contain_text("已转为常见问答")
        await expect(page.locator("article.gap", has_text="委员证丢了怎么补办")).to_have_count(0)
        faq_answer = await chat.send(1001, "委员证丢了怎么补办？")
        assert "请到委员会办公室补办，带身份证。" in faq_answer.text

        # ---- roster import: a bad row is shown and nothing is saved; fixed, it imports ----------------
        bad = tmp_path / "名单.csv"
        bad.write_text("姓名,界别,地区,角色\n孙委员,教育界,城关区,委员\n,农业界,榆中县,委员\n", encoding="utf-8")
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="委员").click()
        await page.locator("input[name=file]").set_input_files([str(bad)])
        await page.get_by_role("button", name="检查名单").click()
        await expect(page.locator("table.results")).to_contain_text("第 3 行")
        await expect(page.locator("table.results")).to_contain_text("姓名为空")
        await expect(page.get_by_role("button", name="确认导入")).to_have_count(0)
        async with services.db.session() as session:
            assert await members_repo.count(session) == 2
        bad.write_text("姓名,界别,地区,角色\n孙委员,教育界,城关区,委员\n", encoding="utf-8")
        await page.goto(f"{console_process}/console/members")
        await page.locator("input[name=file]").set_input_files([str(bad)])
        await page.get_by_role("button", name="检查名单").click()
        await page.get_by_role("button", name="确认导入").click()
        await expect(page.locator(".flash")).to_contain_text("新增 1 人")
        await page.get_by_role("link", name="孙委员").click()
        await expect(page.locator(".invite .code")).to_have_text(re.compile(r"^[A-Z2-9]{8}$"))
        await expect(page.get_by_role("img", name="邀请二维码")).to_be_visible()

        # ---- the uploaded document becomes a learning material; members read it with /learn ------------
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="学习", exact=True).click()
        await page.get_by_label("资料类型").select_option("kb")
        await page.get_by_label("知识库文档").select_option("委员履职手册.md")
        await page.get_by_role("button", name="添加", exact=True).click()
        await expect(page.locator(".flash")).to_contain_text("学习资料已添加")
        await expect(page.locator("table").first).to_contain_text("委员履职手册")
        menu = await chat.send(1001, "/learn")
        assert "共 1 份资料" in menu.text

        # ---- the audit log shows it all, with who -----------------------------------------------------
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="操作记录").click()
        trail = page.locator("table")
        for action in ("生成登录链接", "登录工作台", "上传文档", "保存常见问答", "导入名单", "添加学习资料"):
            await expect(trail).to_contain_text(action)
        await expect(trail).to_contain_text("李干事")

        # ---- on a phone, the same pages work -----------------------------------------------------------
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(f"{console_process}/console/qa")
        await expect(page.get_by_role("heading", name="问答", exact=True)).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        await page.get_by_role("button", name="退出").click()
        await expect(page.locator("main")).to_contain_text("已退出登录")
        await page.goto(f"{console_process}/console/")
        await expect(page).to_have_url(re.compile(r"/console/signin$"))


# A real 1×1 JPEG, so the browser shows the stored photo as an image.
PIXEL = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f"
    "1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100ffc4001f0000"
    "010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d010203000411"
    "05122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445"
    "464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9"
    "aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100"
    "003f00fbfcffd9")


async def test_a_proposal_handled_in_the_browser_and_the_member_told_in_telegram(
    chat: Dialogue, services: Services, roster: Callable[..., Awaitable[list[Member]]], console_process: str,
) -> None:
    await roster({"name": "张明", "telegram_id": 1001}, {"name": "李干事", "telegram_id": 9001, "role": "staff"})
    from playwright.async_api import expect

    jobs = chat.app.job_queue
    assert jobs is not None
    for name in (proposal_jobs.OUTBOX_JOB, proposal_jobs.PHOTOS_JOB):  # run by hand below, at known moments
        for job in jobs.get_jobs_by_name(name):
            job.enabled = False

    # ---- the member files a 随手拍 in Telegram; the bot stores the photo in the data dir ------------------
    await chat.send_photo(1001, PIXEL, caption="幸福路的路灯坏了两个月了，晚上很不安全")
    await chat.tap(1001, bot_texts.BTN_PROPOSAL_RECORD)
    await chat.tap(1001, "城乡建设")
    await chat.send_location(1001, 36.06, 103.83)
    done = await chat.tap(1001, bot_texts.BTN_CONFIRM)
    number = re.search(r"WJY-\d{4}-\d{4}", done.text)
    assert number, done.text
    await proposal_jobs.fetch_photos(chat.app.bot, services)  # what the bot's job does every few seconds

    async def told(since: int) -> list[str]:
        """What the member was told since ``since`` once the bot's outbox is drained."""
        await proposal_jobs.send_pending(chat.app.bot, services)
        return [c.text or "" for c in chat.fake.replies_since(since, chat_id=1001)]

    refused = await chat.send(1001, "/console")  # a member gets no link to the console
    assert not LINK.search(refused.text)

    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        await page.goto(f"{console_process}/console/proposals")  # signed out: the sign-in help, no data
        await expect(page).to_have_url(re.compile(r"/console/signin$"))
        link = LINK.search((await chat.send(9001, "/console")).text)
        assert link
        await page.goto(link.group(1))
        await page.get_by_role("button", name="登录").click()
        await page.get_by_role("navigation", name="主导航").get_by_role("link", name="微建议").click()
        column = page.locator("section.column[data-status=submitted]")
        await column.get_by_role("link", name=number.group(0)).click()
        await expect(page.locator("main h1")).to_contain_text(number.group(0))
        await expect(page.get_by_role("link", name="OpenStreetMap")).to_have_attribute(
            "href", re.compile(r"mlat=36\.060000&mlon=103\.830000"))
        photo = page.get_by_role("img", name="照片 1")
        await expect(photo).to_be_visible()
        assert await photo.evaluate("img => img.naturalWidth") == 1  # served from the stored file

        # ---- 受理 → 交办 → 答复, each step told to the member in Telegram -----------------------------------
        since = chat.fake.mark()
        await page.get_by_role("button", name="受理", exact=True).click()
        await expect(page.locator(".flash")).to_contain_text("已受理")
        assert any("已受理" in t and number.group(0) in t for t in await told(since))
        since = chat.fake.mark()
        deadline = (services.clock().astimezone(services.tz).date() + timedelta(days=20)).isoformat()
        assign = page.locator("form", has=page.locator("input[name=action][value=assign]"))
        await assign.get_by_label("承办单位").fill("市城市管理局")
        await assign.get_by_label("办理时限").fill(deadline)
        await assign.get_by_role("button", name="交办").click()
        await expect(page.locator(".flash")).to_contain_text("已交办")
        await expect(page.locator("dl.facts")).to_contain_text("市城市管理局")
        assigned = await told(since)
        assert any("市城市管理局" in t and deadline in t for t in assigned), assigned
        since = chat.fake.mark()
        await page.get_by_label("答复内容").fill("已更换幸福路全部路灯，并纳入日常巡查。")
        await page.get_by_role("button", name="答复", exact=True).click()
        await expect(page.locator(".flash")).to_contain_text("已答复")
        answered = await told(since)
        assert any("已更换幸福路全部路灯" in t for t in answered), answered

        # ---- the member rates the reply in Telegram; the console shows the item closed -------------------
        rated = await chat.tap(1001, bot_texts.PROPOSAL_RATING_LABELS["satisfied"])
        assert bot_texts.PROPOSAL_RATED.format(rating="满意", number=number.group(0)) in rated.text
        await page.reload()
        await expect(page.locator("dl.facts")).to_contain_text("已办结")
        await expect(page.locator("dl.facts")).to_contain_text("满意")
        history = page.locator("table.history")
        for step in ("提交", "受理", "交办", "答复", "评价"):
            await expect(history).to_contain_text(step)
        await expect(history).to_contain_text("李干事")

        # ---- the filtered list exports as xlsx ---------------------------------------------------------
        await page.goto(f"{console_process}/console/proposals?category=城乡建设")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name=re.compile("导出 Excel")).click()
        download = await download_info.value
        assert download.suggested_filename.endswith(".xlsx")
    async with services.db.session() as session:
        item = await proposals_repo.get_by_number(session, number=number.group(0))
    assert item is not None and item.status == "closed" and item.rating == "satisfied"
async def test_broadcast_two_person_rule_in_the_browser(
    chat: Dialogue, services: Services, roster: Callable[..., Awaitable[list[Member]]], fake: FakeBotApi,
    bot_app: BotApplication, console_process: str,
) -> None:
    """Composed by staff A in the console with a live count, refused without approval, approved by reviewer B
    in another browser, delivered by the bot's sender through the fake Bot API, progress shown live."""
    await roster({"name": "张明", "telegram_id": 1001, "sector": "经济界"},
                 {"name": "王芳", "telegram_id": 1002, "sector": "教育界"},
                 {"name": "李干事", "telegram_id": 9001, "role": "staff", "sector": "机关"},
                 {"name": "钱把关", "telegram_id": 9003, "role": "reviewer", "sector": "机关"})
    from playwright.async_api import expect

    notice = "各位委员：周五下午三点在二楼会议室召开学习会，请准时参加。"

    def delivered(user: int) -> list[str]:
        return [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=user) if notice in (c.text or "")]

    async with chromium() as browser:
        author = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        link = LINK.search((await chat.send(9001, "/console")).text)
        assert link
        await author.goto(link.group(1))
        await author.get_by_role("button", name="登录").click()
        await author.get_by_role("navigation", name="主导航").get_by_role("link", name="通知").click()
        await author.get_by_role("link", name="编写通知").click()
        await author.get_by_label("通知正文").fill(notice)
        count = author.locator("#bc-count")
        await expect(count).to_have_text("4")
        await author.get_by_label("经济界（1）").check()
        await expect(count).to_have_text("1")  # the page's script asks as boxes are ticked
        await author.get_by_label("教育界（1）").check()
        await expect(count).to_have_text("2")
        await author.get_by_label("需要回执").check()
        await author.get_by_role("button", name="提交").click()
        await expect(author.locator(".flash")).to_contain_text("已提交把关人审核")
        await expect(author.locator("#bc-state")).to_have_text("待审核")

        # ---- the author cannot send it; the bot sends nothing, but asks the reviewer in Telegram -------
        await author.get_by_role("button", name="批准并发送").click()
        await expect(author.get_by_role("alert")).to_contain_text("只有把关人可以审核通知")
        await expect(author.locator("#bc-state")).to_have_text("待审核")
        await run_due(bot_app)
        assert delivered(1001) == [] and delivered(1002) == []
        asked = [c for c in fake.bot_calls("sendMessage", chat_id=9003) if "待审核通知" in (c.text or "")]
        assert len(asked) == 1 and asked[0].buttons == [["批准", "退回"]]

        # ---- reviewer B approves in another browser; the bot delivers; progress updates by itself ------
        reviewer = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        link = LINK.search((await chat.send(9003, "/console")).text)
        assert link
        await reviewer.goto(link.group(1))
        await reviewer.get_by_role("button", name="登录").click()
        await reviewer.get_by_role("navigation", name="主导航").get_by_role("link", name="通知").click()
        await reviewer.locator("table.queue").get_by_role("link").first.click()
        await expect(reviewer.locator("main")).to_contain_text("您可以批准或退回")
        await reviewer.get_by_role("button", name="批准并发送").click()
        await expect(reviewer.locator(".flash")).to_contain_text("已批准")
        await expect(reviewer.locator("[data-count=total]")).to_have_text("2")
        await run_due(bot_app)
        assert len(delivered(1001)) == 1 and len(delivered(1002)) == 1
        await expect(reviewer.locator("[data-count=sent]")).to_have_text("2", timeout=15_000)
        await expect(reviewer.locator("#bc-state")).to_have_text("已完成", timeout=15_000)
        width = await reviewer.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the progress page scrolls sideways on a phone ({width}px)"
        told = [c.text or "" for c in fake.bot_calls("sendMessage", chat_id=9001)]
        assert any("已由 钱把关 批准" in t for t in told)

        # ---- the audit log names both -------------------------------------------------------------------
        await author.goto(f"{console_process}/console/audit")
        trail = author.locator("table")
        await expect(trail).to_contain_text("批准通知")
        await expect(trail).to_contain_text("钱把关")
        await expect(trail).to_contain_text("发布通知")
