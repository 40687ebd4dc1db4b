"""微建议 in the console: board and filters, an item with photos, place and history, every transition the
lifecycle allows (the member notified through the bot's outbox with the bot's own texts), bulk 交办 and
合并, the xlsx export of the filtered list, and the permission checks of every route."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Awaitable, Callable
from datetime import date
from urllib.parse import quote

import httpx
from openpyxl import load_workbook

from handlers import proposal_jobs, texts
from handlers.context import BotApplication, Services
from store import audit
from store.models import Member, Proposal
from store.proposals import repository as repo
from store.proposals.config import ProposalsConfig
from store.proposals.repository import NewProposal
from tests.fakes.botapi import FakeBotApi
from tests.web.conftest import SignedIn
from web import texts as web_texts
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]
TITLE = "老城区夜间公交线路不足"


async def _file(console: Console, member: Member, title: str = TITLE, *, category: str = "社会民生",
                place: str | None = "解放路公交站", lat: float | None = 36.06, lon: float | None = 103.83,
                photos: int = 0) -> Proposal:
    async with console.db.session() as session:
        return await repo.submit(
            session, member=member, now=console.clock(), tz=console.config.tz, config=console.config.proposals,
            item=NewProposal(title=title, content=title + "，晚上九点以后没有公交车。", category=category, place=place,
                             latitude=lat, longitude=lon,
                             photos=[{"file_id": f"F{n}", "file_unique_id": f"U{n}"} for n in range(photos)]))


async def _item(console: Console, proposal_id: int) -> Proposal:
    async with console.db.session() as session:
        found = await repo.get(session, proposal_id=proposal_id)
    assert found is not None
    return found


async def _sent_to(bot_app: BotApplication, fake: FakeBotApi, services: Services, chat_id: int) -> list[str]:
    """Run the bot's notification sender (twice: the second run sends nothing) and return what reached ``chat_id``."""
    since = fake.mark()
    await proposal_jobs.send_pending(bot_app.bot, services)
    assert await proposal_jobs.send_pending(bot_app.bot, services) == 0
    return [c.text or "" for c in fake.replies_since(since, chat_id=chat_id)]


def card(p: Proposal) -> str:
    return f'data-number="{p.number}"'


async def test_board_by_status_and_colour_with_filters(client: httpx.AsyncClient, console: Console,
                                                       sign_in: SignIn, people: dict[str, Member]) -> None:
    me = await sign_in(client, people["staff"])
    late = await _file(console, people["member"])
    other = await _file(console, people["member"], "社区养老服务站人手紧张", category="医疗卫生", place=None)
    fresh = await _file(console, people["reviewer"], "黄河沿岸步道照明不够", category="城乡建设")
    overdue = console.clock().astimezone(console.config.tz).date().replace(day=1)
    assert (await me.post(f"/console/proposals/{late.id}/act", {"action": "accept"})).status_code == 303
    assert (await me.post(f"/console/proposals/{other.id}/act", {"action": "accept"})).status_code == 303
    async with console.db.session() as session:  # an item whose deadline has passed
        item = await repo.get(session, proposal_id=late.id)
        assert item is not None
        item.deadline = overdue
    board = (await client.get("/console/proposals")).text
    assert 'data-n="red">1<' in board and 'data-n="total">3<' in board
    assert board.index(card(late)) < board.index(card(other))  # red first among 已受理
    assert 'class="pcard red"' in board and card(fresh) in board
    only_red = (await client.get("/console/proposals", params={"warning": "red"})).text
    assert card(late) in only_red and card(other) not in only_red and card(fresh) not in only_red
    by_category = (await client.get("/console/proposals", params={"category": "医疗卫生"})).text
    assert card(other) in by_category and card(late) not in by_category
    by_member = (await client.get("/console/proposals", params={"member": str(people["reviewer"].id)})).text
    assert card(fresh) in by_member and card(late) not in by_member
    by_text = (await client.get("/console/proposals", params={"q": "步道"})).text
    assert card(fresh) in by_text and card(other) not in by_text
    odd = await client.get("/console/proposals", params={"q": "%_\\", "warning": "purple", "member": "x"})
    assert odd.status_code == 200 and 'data-n="total">0<' in odd.text


async def test_item_shows_place_on_a_map_photos_and_history(client: httpx.AsyncClient, console: Console,
                                                            sign_in: SignIn, people: dict[str, Member],
                                                            tmp_path: object) -> None:
    photo_dir = console.config.data_dir / "proposal-photos"
    console.config = dataclasses.replace(
        console.config, proposals=dataclasses.replace(console.config.proposals, photo_dir=photo_dir))
    p = await _file(console, people["member"], photos=2)
    first = p.photos[0]
    photo_dir.mkdir(parents=True)
    (photo_dir / f"{p.id}-{first.id}-U0.jpg").write_bytes(b"\xff\xd8stored-jpeg")
    async with console.db.session() as session:
        stored = await session.get(type(first), first.id)
        assert stored is not None
        stored.local_path = f"{p.id}-{first.id}-U0.jpg"
    await sign_in(client, people["staff"])
    html = (await client.get(f"/console/proposals/{p.id}")).text
    assert "解放路公交站" in html and "openstreetmap.org/?mlat=36.060000&amp;mlon=103.830000" in html
    assert "uri.amap.com/marker?position=103.830000,36.060000&amp;coordinate=wgs84" in html
    assert f'src="/console/proposals/{p.id}/photos/{first.id}"' in html
    assert web_texts.PROPOSAL_PHOTO_UNAVAILABLE in html  # the second was not downloaded (yet)
    served = await client.get(f"/console/proposals/{p.id}/photos/{first.id}")
    assert served.status_code == 200 and served.content == b"\xff\xd8stored-jpeg"
    assert served.headers["content-type"] == "image/jpeg"
    assert (await client.get(f"/console/proposals/{p.id}/photos/{p.photos[1].id}")).status_code == 404
    assert (await client.get(f"/console/proposals/{p.id + 1}/photos/{first.id}")).status_code == 404
    async with console.db.session() as session:  # a stored name that would leave the folder is never served
        stored = await session.get(type(first), first.id)
        assert stored is not None
        stored.local_path = "../../etc/passwd"
    assert (await client.get(f"/console/proposals/{p.id}/photos/{first.id}")).status_code == 404
    assert "提交" in html and "张明" in html  # the history starts with the submission
    assert (await client.get("/console/proposals/999999")).status_code == 404


async def test_submitted_to_answered_in_the_console_notifies_the_member_like_telegram(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member],
    bot_app: BotApplication, fake: FakeBotApi, services: Services,
) -> None:
    services.configs.replace(ProposalsConfig())
    member = people["member"]
    p = await _file(console, member)
    me = await sign_in(client, people["staff"])
    who = texts.PROPOSAL_WHO["author"]
    accepted = await me.post(f"/console/proposals/{p.id}/act", {"action": "accept"})
    assert accepted.status_code == 303 and accepted.headers["location"].endswith("msg=p_accept")
    assert await _sent_to(bot_app, fake, services, 1001) == [
        texts.PROPOSAL_NOTIFY["accept"].format(who=who, number=p.number, title=TITLE)]
    past = await me.post(f"/console/proposals/{p.id}/act", {"action": "assign", "unit": "市交通运输局",
                                                             "deadline": "2026-01-01"})
    assert past.headers["location"].endswith("msg=p_bad_deadline")
    no_unit = await me.post(f"/console/proposals/{p.id}/act", {"action": "assign", "unit": " "})
    assert no_unit.headers["location"].endswith("msg=p_need_unit")
    assigned = await me.post(f"/console/proposals/{p.id}/act", {"action": "assign", "unit": "市交通运输局",
                                                                 "deadline": "2026-12-31"})
    assert assigned.headers["location"].endswith("msg=p_assign")
    assert await _sent_to(bot_app, fake, services, 1001) == [texts.PROPOSAL_NOTIFY["assign"].format(
        who=who, number=p.number, title=TITLE, unit="市交通运输局", deadline="2026-12-31")]
    page = (await client.get(assigned.headers["location"])).text
    assert "已交办" in page and "市交通运输局" in page and web_texts.FLASH["p_assign"] in page
    empty = await me.post(f"/console/proposals/{p.id}/act", {"action": "answer", "reply": ""})
    assert empty.headers["location"].endswith("msg=p_need_reply")
    answered = await me.post(f"/console/proposals/{p.id}/act", {"action": "answer",
                                                                 "reply": "已新增 3 条夜班线路，12 月起运行。"})
    assert answered.headers["location"].endswith("msg=p_answer")
    since = fake.mark()
    await proposal_jobs.send_pending(bot_app.bot, services)
    [note] = fake.replies_since(since, chat_id=1001)
    assert "已新增 3 条夜班线路" in (note.text or "") and texts.PROPOSAL_ASK_RATING in (note.text or "")
    assert note.buttons == [list(texts.PROPOSAL_RATING_LABELS.values())]
    again = await me.post(f"/console/proposals/{p.id}/act", {"action": "accept"})  # a stale form changes nothing
    assert again.headers["location"].endswith("msg=p_refused")
    item = await _item(console, p.id)
    assert item.status == "answered" and item.unit == "市交通运输局" and item.deadline == date(2026, 12, 31)
    assert [e.action for e in item.events] == ["submit", "accept", "assign", "answer"]
    assert all(e.actor == "李干事" for e in item.events[1:])
    async with console.db.session() as session:
        trail = [e.action for e in await audit.entries(session)]
    assert {"proposal.accept", "proposal.assign", "proposal.answer"} <= set(trail)


async def test_reject_convert_adopt_and_merge(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                              people: dict[str, Member]) -> None:
    me = await sign_in(client, people["staff"])
    a, b, c, d = [await _file(console, people["member"], f"{TITLE}{n}") for n in range(4)]
    assert (await me.post(f"/console/proposals/{a.id}/act", {"action": "reject"})).headers["location"].endswith(
        "msg=p_need_note")
    assert (await me.post(f"/console/proposals/{a.id}/act", {"action": "reject", "note": "不属于政协职责范围"})
            ).headers["location"].endswith("msg=p_reject")
    assert (await me.post(f"/console/proposals/{b.id}/act", {"action": "convert"})).headers["location"].endswith(
        "msg=p_convert")
    assert (await me.post(f"/console/proposals/{c.id}/act", {"action": "accept"})).status_code == 303
    assert (await me.post(f"/console/proposals/{c.id}/act", {"action": "adopt"})).headers["location"].endswith(
        "msg=p_adopt")
    assert (await me.post(f"/console/proposals/{c.id}/act", {"action": "adopt"})).headers["location"].endswith(
        "msg=p_refused")  # once only
    assert (await me.post(f"/console/proposals/{d.id}/act", {"action": "merge", "into": a.number})
            ).headers["location"].endswith("msg=p_need_target")  # a rejected item takes nothing
    assert (await me.post(f"/console/proposals/{d.id}/act", {"action": "merge", "into": c.number})
            ).headers["location"].endswith("msg=p_merge")
    assert (await me.post(f"/console/proposals/{d.id}/act", {"action": "fly"})).status_code == 400
    states = {p.number: (await _item(console, p.id)) for p in (a, b, c, d)}
    assert states[a.number].status == "rejected" and states[b.number].status == "converted"
    assert states[c.number].adopted_at is not None and states[d.number].merged_into_id == c.id
    page = (await client.get(f"/console/proposals/{c.id}")).text
    assert d.number in page and "（已采纳）" in page


async def test_bulk_assign_and_merge_into_one_class(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                    people: dict[str, Member]) -> None:
    me = await sign_in(client, people["staff"])
    items = [await _file(console, people["member"], f"{TITLE}{n}") for n in range(4)]
    for p in items[:2]:
        await me.post(f"/console/proposals/{p.id}/act", {"action": "accept"})
    ids = [str(p.id) for p in items[:3]]
    none = await me.post("/console/proposals/bulk", {"op": "assign", "unit": "市交通运输局"})
    assert "msg=p_none_selected" in none.headers["location"]
    done = await me.client.post("/console/proposals/bulk", data={
        "csrf": me.csrf, "op": "assign", "unit": "市交通运输局", "deadline": "2026-12-20", "ids": ids,
        "back": "category=社会民生"})
    assert done.status_code == 303 and "msg=p_bulk_assign&n=2&m=1" in done.headers["location"]
    assert done.headers["location"].endswith("&category=" + quote("社会民生"))  # back to the filtered board
    assert [(await _item(console, p.id)).status for p in items] == ["assigned", "assigned", "submitted", "submitted"]
    merged = await me.client.post("/console/proposals/bulk", data={
        "csrf": me.csrf, "op": "merge", "into": items[0].number, "ids": [str(items[2].id), str(items[3].id)]})
    assert "msg=p_bulk_merge&n=2&m=0" in merged.headers["location"]
    async with console.db.session() as session:
        children = await repo.merged_into(session, proposal_id=items[0].id)
        queued = await repo.pending_notifications(session)
    assert [c.id for c in children] == [items[2].id, items[3].id]
    assert queued >= 4  # every step told the member (accept ×2, assign ×2, merge ×2)
    page = (await client.get(merged.headers["location"])).text
    assert "已合并 2 件" in page


async def test_export_of_the_filtered_list(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                           people: dict[str, Member]) -> None:
    await sign_in(client, people["staff"])
    kept = await _file(console, people["member"])
    await _file(console, people["member"], "社区养老服务站人手紧张", category="医疗卫生")
    response = await client.get("/console/proposals/export.xlsx", params={"category": "社会民生"})
    assert response.status_code == 200 and "spreadsheetml" in response.headers["content-type"]
    assert "attachment" in response.headers["content-disposition"]
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book["微建议"].iter_rows(values_only=True))
    assert rows[0][0] == "编号" and [r[0] for r in rows[1:]] == [kept.number]
    assert rows[1][1] == "已提交" and rows[1][4] == TITLE
    assert [r[0] for r in book["办理记录"].iter_rows(values_only=True)][1:] == [kept.number]


async def test_a_long_column_pages_and_the_counts_cover_every_item(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member], monkeypatch,
) -> None:
    from web.pages import proposals as page_module

    monkeypatch.setattr(page_module, "PER_COLUMN", 2)
    await sign_in(client, people["staff"])
    authors = [people["member"], people["reviewer"], people["staff"], people["admin"], people["member"]]
    titles = ["老城区夜间公交线路不足", "社区养老服务站人手紧张", "黄河沿岸步道照明不够", "学校门口缺少减速带",
              "农贸市场排水不畅"]
    filed = [await _file(console, who, title) for who, title in zip(authors, titles, strict=True)]
    board = (await client.get("/console/proposals")).text
    assert 'data-n="total">5<' in board  # counted over all five, not over the page
    shown = [p for p in filed if card(p) in board]
    assert len(shown) == 2 and "共 5 件" in board
    assert "/console/proposals?status=submitted&amp;page=2" in board and "上一页" not in board
    second = (await client.get("/console/proposals?status=submitted&page=2")).text
    third = (await client.get("/console/proposals?status=submitted&page=3")).text
    pages = [[p for p in filed if card(p) in text] for text in (board, second, third)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert {p.id for page in pages for p in page} == {p.id for p in filed}  # every item on exactly one page
    assert "status=submitted&amp;page=1" in second and "status=submitted&amp;page=3" in second
    assert "下一页" not in third and "status=submitted&amp;page=2" in third
    everywhere = (await client.get("/console/proposals", params={"q": "解放路"})).text  # every item's place
    assert f"q={quote('解放路')}&amp;status=submitted&amp;page=2" in everywhere  # the filter goes along
    one = (await client.get("/console/proposals", params={"q": "照明"})).text
    assert [p.title for p in filed if card(p) in one] == ["黄河沿岸步道照明不够"] and "下一页" not in one
    assert (await client.get("/console/proposals?page=0")).status_code == 400
