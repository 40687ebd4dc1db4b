"""通知 in the console: compose with a live count, the two-person rule (author refused, a reviewer approves or
returns), delivery progress, uploads checked, and nobody but staff (with the CSRF token) gets in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from store import audit
from store.broadcasts import outbox
from store.models import Member
from tests.web.conftest import SignedIn
from web import texts
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]
NOTICE = "各位委员：周五下午三点在二楼会议室召开学习会。"


async def _compose(staff: SignedIn, **fields: str) -> httpx.Response:
    return await staff.post("/console/broadcasts", {"text": NOTICE, "op": "submit", **fields})


async def test_compose_is_refused_for_the_author_and_approved_by_a_reviewer(
    make_client: Callable[..., httpx.AsyncClient], console: Console, sign_in: SignIn, people: dict[str, Member],
) -> None:
    async with make_client() as a, make_client() as b:
        author = await sign_in(a, people["staff"])
        form = await a.get("/console/broadcasts/new")
        assert form.status_code == 200 and texts.BC_APPROVAL_ON in form.text and "计算人数" in form.text
        created = await _compose(author, receipt="1")
        assert created.status_code == 303 and created.headers["location"].endswith("?msg=bc_submitted")
        detail_url = created.headers["location"].split("?")[0]
        bid = int(detail_url.rsplit("/", 1)[1])
        shown = await a.get(created.headers["location"])
        assert "待审核" in shown.text and NOTICE in shown.text and texts.FLASH["bc_submitted"] in shown.text
        listing = await a.get("/console/broadcasts")
        assert f"/console/broadcasts/{bid}" in listing.text and "待审核（1）" in listing.text

        refused = await author.post(f"{detail_url}/approve")
        assert refused.status_code == 303 and "msg=bc_not_reviewer" in refused.headers["location"]
        page = await a.get(refused.headers["location"])
        assert 'role="alert"' in page.text and texts.FLASH["bc_not_reviewer"] in page.text
        async with console.db.session() as s:
            status = await outbox.status(s, broadcast_id=bid)
            assert status is not None and status.total == 0  # nothing to send before approval

        reviewer = await sign_in(b, people["reviewer"])
        approved = await reviewer.post(f"{detail_url}/approve")
        assert approved.status_code == 303 and "msg=bc_approved" in approved.headers["location"]
        again = await reviewer.post(f"{detail_url}/approve")
        assert "msg=bc_already" in again.headers["location"]
        counts = (await b.get(f"{detail_url}/status")).json()
        assert counts["state"] == "queued" and counts["total"] == 4 and counts["pending"] == 4
        progress = await b.get(detail_url)
        assert 'data-poll="/console/broadcasts/' in progress.text and "发送进度" in progress.text
        async with console.db.session() as s:
            entries = await audit.entries(s, action="broadcast.", limit=5)
        assert [(e.action, e.actor) for e in entries] == [("broadcast.approve", "钱把关"),
                                                          ("broadcast.create", "李干事")]


async def test_a_reviewer_returns_with_a_reason_and_cannot_review_their_own(
    make_client: Callable[..., httpx.AsyncClient], console: Console, sign_in: SignIn, people: dict[str, Member],
) -> None:
    async with make_client() as a, make_client() as b:
        reviewer = await sign_in(a, people["reviewer"])
        own = await _compose(reviewer)
        own_url = own.headers["location"].split("?")[0]
        assert "msg=bc_own" in (await reviewer.post(f"{own_url}/approve")).headers["location"]
        author = await sign_in(b, people["staff"])
        created = await _compose(author)
        url = created.headers["location"].split("?")[0]
        blank = await reviewer.post(f"{url}/return", {"reason": " "})
        assert "msg=bc_no_reason" in blank.headers["location"]
        returned = await reviewer.post(f"{url}/return", {"reason": "时间写错了"})
        assert "msg=bc_returned" in returned.headers["location"]
        page = await b.get(url)
        assert "已退回" in page.text and "时间写错了" in page.text and "批准并发送" not in page.text


async def test_recipient_count_live_and_without_script(client: httpx.AsyncClient, sign_in: SignIn,
                                                       people: dict[str, Member]) -> None:
    staff = await sign_in(client, people["staff"])
    everyone = (await client.get("/console/broadcasts/count")).json()
    assert everyone == {"count": 4, "label": "全体委员"}
    none = (await client.get("/console/broadcasts/count", params={"sector": "没有这个界别"})).json()
    assert none["count"] == 0
    recount = await staff.post("/console/broadcasts", {"text": "草稿", "op": "count", "sector": "没有这个界别"})
    assert recount.status_code == 200 and '<output id="bc-count" aria-live="polite">0</output>' in recount.text
    assert "草稿" in recount.text  # the text typed so far is kept
    empty = await _compose(staff, sector="没有这个界别")
    assert empty.status_code == 400 and texts.BC_EMPTY_AUDIENCE in empty.text


async def test_bad_input_gets_a_clear_reply(client: httpx.AsyncClient, sign_in: SignIn, console: Console,
                                            people: dict[str, Member]) -> None:
    staff = await sign_in(client, people["staff"])
    blank = await staff.post("/console/broadcasts", {"text": "  ", "op": "submit"})
    assert blank.status_code == 400 and texts.BC_TEXT_NEEDED in blank.text
    past = await _compose(staff, when="昨天 9点")
    assert past.status_code == 400 and "没看懂发送时间" in past.text
    fake_photo = await staff.post("/console/broadcasts", {"text": NOTICE, "op": "submit"},
                                  files={"media": ("a.jpg", b"not a jpeg", "image/jpeg")})
    assert fake_photo.status_code == 400 and texts.UPLOAD_BAD_CONTENT in fake_photo.text
    exe = await staff.post("/console/broadcasts", {"text": NOTICE, "op": "submit"},
                           files={"media": ("run.exe", b"MZ...", "application/octet-stream")})
    assert exe.status_code == 400 and texts.BC_MEDIA_BAD_TYPE in exe.text
    scheduled = await _compose(staff, when="明天 9点", urgent="1")
    assert scheduled.status_code == 303
    photo = await staff.post("/console/broadcasts", {"text": NOTICE, "op": "submit"},
                             files={"media": ("../../会议.png", b"\x89PNG\r\n\x1a\n-png-", "image/png")})
    assert photo.status_code == 303
    async with console.db.session() as s:
        latest = await outbox.latest_id(s)
        assert latest is not None
        b = await outbox.get(s, broadcast_id=latest)
    assert b is not None and b.media_kind == "photo" and b.media_file and "/" not in b.media_file
    assert (console.config.media_dir / b.media_file).read_bytes() == b"\x89PNG\r\n\x1a\n-png-"
    assert not list(console.config.data_dir.glob("**/会议.png"))  # stored under a random name, inside the data dir


async def test_signed_out_members_and_forged_posts_are_refused(
    make_client: Callable[..., httpx.AsyncClient], client: httpx.AsyncClient, sign_in: SignIn,
    people: dict[str, Member],
) -> None:
    staff = await sign_in(client, people["staff"])
    created = await _compose(staff)
    url = created.headers["location"].split("?")[0]
    async with make_client() as anonymous:
        for path in ("/console/broadcasts", "/console/broadcasts/new", "/console/broadcasts/count", url,
                     f"{url}/status"):
            response = await anonymous.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/console/signin", path
        for path in ("/console/broadcasts", f"{url}/approve", f"{url}/return"):
            response = await anonymous.post(path, data={"text": "x", "reason": "x"})
            assert response.status_code == 401, path
    for path in ("/console/broadcasts", f"{url}/approve", f"{url}/return"):  # signed in, without the token
        response = await client.post(path, data={"text": "x", "reason": "x"})
        assert response.status_code == 403, path
        cross = await client.post(path, data={"csrf": staff.csrf, "text": "x", "reason": "x"},
                                  headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403, path


async def test_the_author_or_an_admin_withdraws_a_notice_from_its_page(
    make_client: Callable[..., httpx.AsyncClient], console: Console, sign_in: SignIn, people: dict[str, Member],
) -> None:
    async with make_client() as a, make_client() as b, make_client() as c:
        author = await sign_in(a, people["staff"])
        created = await _compose(author)
        detail_url = created.headers["location"].split("?")[0]
        bid = int(detail_url.rsplit("/", 1)[1])
        page = await a.get(detail_url)
        assert "撤回通知" in page.text and f'action="{detail_url}/withdraw"' in page.text
        reviewer = await sign_in(b, people["reviewer"])  # a reviewer is neither its author nor an admin
        assert "撤回通知" not in (await b.get(detail_url)).text
        refused = await reviewer.post(f"{detail_url}/withdraw")
        assert refused.status_code == 303 and refused.headers["location"].endswith("msg=bc_withdraw_not_allowed")
        assert texts.FLASH["bc_withdraw_not_allowed"] in (await b.get(refused.headers["location"])).text
        assert (await a.post(f"{detail_url}/withdraw")).status_code == 403  # no CSRF token: refused

        done = await author.post(f"{detail_url}/withdraw")
        assert done.headers["location"].endswith("msg=bc_withdrawn")
        shown = await a.get(done.headers["location"])
        assert texts.FLASH["bc_withdrawn"] in shown.text and "已撤回" in shown.text and "撤回通知" not in shown.text
        late = await reviewer.post(f"{detail_url}/approve")  # the reviewer's approval comes too late
        assert "msg=bc_already" in late.headers["location"]
        async with console.db.session() as s:
            status = await outbox.status(s, broadcast_id=bid)
            entries = await audit.entries(s, action="broadcast.withdraw")
        assert status is not None and (status.state, status.total) == ("cancelled", 0)
        assert [e.actor for e in entries] == ["李干事"]

        # an admin may withdraw a colleague's queued notice; once withdrawn it cannot be withdrawn again
        second = await _compose(author)
        url2 = second.headers["location"].split("?")[0]
        approved = await reviewer.post(f"{url2}/approve")
        assert "msg=bc_approved" in approved.headers["location"]
        admin = await sign_in(c, people["admin"])
        assert "撤回通知" in (await c.get(url2)).text
        assert (await admin.post(f"{url2}/withdraw")).headers["location"].endswith("msg=bc_withdrawn")
        assert (await admin.post(f"{url2}/withdraw")).headers["location"].endswith("msg=bc_withdraw_too_late")
        counts = (await c.get(f"{url2}/status")).json()
        assert (counts["state"], counts["pending"], counts["failed"]) == ("cancelled", 0, counts["total"])
