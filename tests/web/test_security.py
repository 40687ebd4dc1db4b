"""Console security: one-time links, sessions, CSRF, escaping, roles, rate limits, uploads, headers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from store import console as console_repo
from store import members as members_repo
from store import questions as questions_repo
from store.models import Member
from store.proposals import repository as proposals_repo
from store.quiz import repository as quiz_repo
from tests.web.conftest import BASE, Clock, SignedIn, csrf_of, new_link
from web import texts
from web.security import COOKIE
from web.state import Console

SignIn = Callable[[httpx.AsyncClient, Member], Awaitable[SignedIn]]
# 微建议: every page and form (item 1 is filed by the tests that use them)
PROPOSAL_PAGES = ("/console/proposals", "/console/proposals?warning=red", "/console/proposals/export.xlsx",
                  "/console/proposals/1", "/console/proposals/1/photos/1")
PROPOSAL_POSTS = (("/console/proposals/1/act", {"action": "accept"}),
                  ("/console/proposals/bulk", {"op": "assign", "unit": "市交通运输局", "ids": "1"}))


async def _file_one(console: Console, member: Member) -> None:
    async with console.db.session() as session:
        await proposals_repo.submit(session, member=member, now=console.clock(), tz=console.config.tz,
                                    config=console.config.proposals,
                                    item=proposals_repo.NewProposal(title="路灯坏了", content="幸福路的路灯坏了",
                                                                    category="城乡建设",
                                                                    photos=[{"file_id": "F", "file_unique_id": "U"}]))


async def test_pages_need_a_session(client: httpx.AsyncClient, people: dict[str, Member]) -> None:
    for path in ("/console/", "/console/kb", "/console/qa", "/console/members", "/console/learning",
                 "/console/quiz",
                 "/console/audit", *PROPOSAL_PAGES,
                 "/console/broadcasts", "/console/broadcasts/new", "/console/broadcasts/count",
                 "/console/broadcasts/1", "/console/broadcasts/1/status"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/console/signin"
    for path, form in PROPOSAL_POSTS:
        assert (await client.post(path, data=form)).status_code == 401, path
    for path in ("/console/qa/faq", "/console/broadcasts", "/console/broadcasts/1/approve",
                 "/console/broadcasts/1/return", "/console/broadcasts/1/withdraw"):
        response = await client.post(path, data={"question": "q", "answer": "a", "text": "t", "reason": "r"})
        assert response.status_code == 401, path
    for path in ("/console/learning/add", "/console/learning/1/retire"):
        response = await client.post(path, data={"kind": "text", "title": "t", "body": "b", "estimated_minutes": "5"})
        assert response.status_code == 401, path
    help_page = await client.get("/console/signin")
    assert "/console" in help_page.text and texts.SIGNIN_HOWTO in help_page.text


async def test_link_signs_in_once_and_only_on_post(client: httpx.AsyncClient, console: Console,
                                                   people: dict[str, Member]) -> None:
    token = await new_link(console, people["staff"])
    for _ in range(2):  # a link preview or a second look does not use it up
        shown = await client.get("/console/login", params={"t": token})
        assert shown.status_code == 200 and "李干事" in shown.text and COOKIE not in shown.headers.get("set-cookie", "")
    signed = await client.post("/console/login", data={"t": token})
    assert signed.status_code == 303 and signed.headers["location"].startswith("/console/")
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie and "Secure" not in cookie
    home = await client.get("/console/")
    assert home.status_code == 200 and "李干事" in home.text
    async with httpx.AsyncClient(transport=client._transport, base_url=BASE) as other:
        again = await other.post("/console/login", data={"t": token})
        assert again.status_code == 410 and texts.LINK_USED in again.text
        assert COOKIE not in again.headers.get("set-cookie", "")
        assert (await other.get("/console/")).status_code == 303


async def test_cookie_is_secure_behind_https(make_client: Callable[..., httpx.AsyncClient], console: Console,
                                             people: dict[str, Member]) -> None:
    async with make_client("https://console.test") as client:
        signed = await client.post("/console/login", data={"t": await new_link(console, people["staff"])})
    assert signed.status_code == 303 and "Secure" in signed.headers["set-cookie"]


async def test_link_expires_after_ten_minutes(client: httpx.AsyncClient, console: Console, clock: Clock,
                                              people: dict[str, Member]) -> None:
    fresh, stale = await new_link(console, people["staff"]), await new_link(console, people["staff"])
    clock.advance(minutes=9, seconds=59)
    assert (await client.post("/console/login", data={"t": fresh})).status_code == 303
    clock.advance(seconds=1)
    expired = await client.post("/console/login", data={"t": stale})
    assert expired.status_code == 410 and texts.LINK_EXPIRED in expired.text


async def test_forged_and_tampered_links_are_refused(client: httpx.AsyncClient, console: Console,
                                                     people: dict[str, Member]) -> None:
    token = await new_link(console, people["staff"])
    link_id, nonce, signature = token.split(".")
    for bad in ("", "garbage", f"{link_id}.{nonce}.{'0' * 32}", f"{int(link_id) + 1}.{nonce}.{signature}",
                f"{link_id}.{nonce}x.{signature}", "1.2.3.4", "é" * 10, "9" * 300):
        response = await client.post("/console/login", data={"t": bad})
        assert response.status_code == 400, bad
        assert texts.LINK_INVALID in response.text
    assert (await client.post("/console/login", data={"t": token})).status_code == 303  # the real one still works


async def test_member_unbound_and_deactivated_staff_get_nothing(
    client: httpx.AsyncClient, console: Console, people: dict[str, Member]
) -> None:
    async with console.db.session() as session:
        for who in ("member", "unbound"):
            assert await console_repo.issue_link(session, member=people[who], configured_secret=None,
                                                 base_url=BASE, now=console.clock(), via="test") is None
        # a link made for a member anyway (forged rows, an old bug) still opens nothing
        secret = await console_repo.console_secret(session, configured=None, now=console.clock())
        member_token = await console_repo.create_link(session, member=people["member"], secret=secret,
                                                      now=console.clock())
    refused = await client.post("/console/login", data={"t": member_token})
    assert refused.status_code == 403 and texts.LINK_FORBIDDEN in refused.text
    token = await new_link(console, people["staff"])
    async with console.db.session() as session:
        await members_repo.set_active(session, member_id=people["staff"].id, active=False, now=console.clock())
    refused = await client.post("/console/login", data={"t": token})
    assert refused.status_code == 403
    assert (await client.get("/console/")).status_code == 303


async def test_deactivating_staff_ends_their_session(client: httpx.AsyncClient, console: Console,
                                                     sign_in: SignIn, people: dict[str, Member]) -> None:
    await sign_in(client, people["staff"])
    async with console.db.session() as session:
        await members_repo.set_role(session, member_id=people["staff"].id, role=people["member"].role_enum,
                                    now=console.clock())
    assert (await client.get("/console/")).status_code == 303


async def test_session_expires_when_idle(client: httpx.AsyncClient, clock: Clock, sign_in: SignIn,
                                         people: dict[str, Member]) -> None:
    await sign_in(client, people["staff"])
    for _ in range(3):  # activity keeps it alive past the idle time
        clock.advance(minutes=29)
        assert (await client.get("/console/")).status_code == 200
    clock.advance(minutes=30)
    assert (await client.get("/console/")).status_code == 303
    clock.advance(seconds=1)
    assert (await client.get("/console/")).status_code == 303  # ended for good


async def test_sign_out_ends_the_session(client: httpx.AsyncClient, sign_in: SignIn,
                                         people: dict[str, Member]) -> None:
    me = await sign_in(client, people["staff"])
    cookie = client.cookies.get(COOKIE)
    out = await me.post("/console/logout")
    assert out.status_code == 200 and texts.SIGNED_OUT in out.text
    client.cookies.set(COOKIE, cookie or "", domain="console.test", path="/console")  # a kept copy is dead too
    assert (await client.get("/console/")).status_code == 303


async def test_forms_need_the_sessions_csrf_token(make_client: Callable[..., httpx.AsyncClient], console: Console,
                                                  sign_in: SignIn, people: dict[str, Member]) -> None:
    async with make_client() as a, make_client() as b:
        alice = await sign_in(a, people["staff"])
        bob = await sign_in(b, people["admin"])
        assert alice.csrf != bob.csrf
        form = {"question": "委员证丢了怎么办", "answer": "请联系办公室补办。"}
        for data in (form, {**form, "csrf": ""}, {**form, "csrf": "x" * 43}, {**form, "csrf": bob.csrf}):
            refused = await a.post("/console/qa/faq", data=data)
            assert refused.status_code == 403 and texts.CSRF_FAILED in refused.text
        refused = await alice.post("/console/qa/faq", data=form, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        async with console.db.session() as session:
            assert await questions_repo.all_faq(session) == []
        assert (await alice.post("/console/qa/faq", data=form)).status_code == 303
        header = await a.post("/console/qa/faq", data={**form, "question": "另一个问题"},
                              headers={"X-CSRF-Token": alice.csrf, "Origin": BASE})
        assert header.status_code == 303
        async with console.db.session() as session:
            assert len(await questions_repo.all_faq(session)) == 2
        material = {"kind": "text", "title": "读本", "body": "正文", "estimated_minutes": "5"}
        for data in (material, {**material, "csrf": bob.csrf}):
            refused = await a.post("/console/learning/add", data=data)
            assert refused.status_code == 403 and texts.CSRF_FAILED in refused.text
        assert (await alice.post("/console/learning/add", data=material)).status_code == 303


async def test_member_written_text_is_escaped(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                              roster: Callable[..., Awaitable[list[Member]]],
                                              people: dict[str, Member]) -> None:
    script = '<script>alert("x")</script>'
    [evil] = await roster({"name": '<img src=x onerror=alert(1)>', "telegram_id": 1666})
    async with console.db.session() as session:
        await questions_repo.log_question(session, member_id=evil.id, chat_id=1666, question=f"问题{script}",
                                          answered=False, answer="", sources=[], at=console.clock(), mode="refused")
    await sign_in(client, people["staff"])
    for path in ("/console/qa", "/console/qa/questions", "/console/members", f"/console/members/{evil.id}",
                 "/console/learning"):
        html = (await client.get(path)).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
    qa = (await client.get("/console/qa")).text
    assert "问题&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in qa
    members = (await client.get("/console/members")).text
    assert "&lt;img src=x onerror=alert(1)&gt;" in members
    search = (await client.get("/console/members", params={"q": "<b>x</b>"})).text
    assert "<b>x</b>" not in search and "&lt;b&gt;x&lt;/b&gt;" in search


async def test_repeated_bad_links_are_rate_limited(client: httpx.AsyncClient, console: Console, clock: Clock,
                                                   people: dict[str, Member]) -> None:
    for n in range(console.config.bad_link_limit):
        assert (await client.get("/console/login", params={"t": f"bad{n}"})).status_code == 400
    good = await new_link(console, people["staff"])
    blocked = await client.post("/console/login", data={"t": good})
    assert blocked.status_code == 429 and texts.TOO_MANY in blocked.text
    clock.advance(seconds=console.config.bad_link_window + 1)
    fresh = await new_link(console, people["staff"])
    assert (await client.post("/console/login", data={"t": fresh})).status_code == 303


async def test_only_admins_change_roles_or_staff(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                 people: dict[str, Member]) -> None:
    staff = await sign_in(client, people["staff"])
    refused = await staff.post(f"/console/members/{people['member'].id}/role", {"role": "admin"})
    assert refused.status_code == 403 and texts.FORBIDDEN_ADMIN in refused.text
    refused = await staff.post(f"/console/members/{people['admin'].id}/deactivate")
    assert refused.status_code == 403
    done = await staff.post(f"/console/members/{people['member'].id}/deactivate")
    assert done.status_code == 303
    own = await staff.post(f"/console/members/{people['staff'].id}/deactivate")
    assert own.status_code == 303 and "self_forbidden" in own.headers["location"]
    async with console.db.session() as session:
        assert (await members_repo.get(session, member_id=people["member"].id)).active is False  # type: ignore[union-attr]  # the row exists
        assert (await members_repo.get(session, member_id=people["admin"].id)).active is True  # type: ignore[union-attr]  # the row exists
        assert (await members_repo.get(session, member_id=people["staff"].id)).active is True  # type: ignore[union-attr]  # the row exists


async def test_only_reviewers_and_admins_review_quiz_questions(
        make_client: Callable[..., httpx.AsyncClient], console: Console, sign_in: SignIn,
        people: dict[str, Member]) -> None:
    """The 题库 matrix: staff see and add (drafts) but never approve; reviewers and admins approve; CSRF."""
    async with console.db.session() as session:
        await quiz_repo.save_generated(session, now=console.clock(), specs=[
            quiz_repo.QuestionSpec(kind="cloze", stem=f"题{n}____", options=["甲", "乙"], answer=0, key=f"s{n}")
            for n in range(2)])
        ids = [q.id for q in await quiz_repo.list_questions(session, status=quiz_repo.DRAFT)]
    async with make_client() as a, make_client() as b, make_client() as c:
        staff = await sign_in(a, people["staff"])
        assert (await a.get("/console/quiz")).status_code == 200
        refused = await staff.post(f"/console/quiz/{ids[0]}/review", {"decision": "approve"})
        assert refused.status_code == 403 and texts.QUIZ_REVIEW_ONLY in refused.text
        assert f"/console/quiz/{ids[0]}/review" not in (await a.get("/console/quiz")).text  # no buttons shown
        reviewer = await sign_in(b, people["reviewer"])
        no_csrf = await b.post(f"/console/quiz/{ids[0]}/review", data={"decision": "approve"})
        assert no_csrf.status_code == 403
        assert (await reviewer.post(f"/console/quiz/{ids[0]}/review", {"decision": "approve"})).status_code == 303
        admin = await sign_in(c, people["admin"])
        assert (await admin.post(f"/console/quiz/{ids[1]}/review", {"decision": "reject"})).status_code == 303
        assert (await admin.post("/console/quiz/99999/review", {"decision": "reject"})).status_code == 404
        assert (await admin.post(f"/console/quiz/{ids[1]}/review", {"decision": "x"})).status_code == 400
    async with console.db.session() as session:
        assert await quiz_repo.counts(session) == {"draft": 0, "approved": 1, "rejected": 1}


async def test_security_headers_and_no_caching(client: httpx.AsyncClient, sign_in: SignIn,
                                               people: dict[str, Member]) -> None:
    await sign_in(client, people["reviewer"])  # 把关人 may use the console
    response = await client.get("/console/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "钱把关" in response.text and "把关人" in response.text


async def test_import_ticket_belongs_to_its_session(make_client: Callable[..., httpx.AsyncClient], sign_in: SignIn,
                                                    people: dict[str, Member]) -> None:
    csv = "name,sector,role\n新委员,教育界,member\n".encode()
    async with make_client() as a, make_client() as b:
        alice = await sign_in(a, people["staff"])
        bob = await sign_in(b, people["admin"])
        checked = await a.post("/console/members/import", data={"csrf": alice.csrf},
                               files={"file": ("r.csv", csv, "text/csv")})
        assert checked.status_code == 200
        ticket = checked.text.split('name="ticket" value="', 1)[1].split('"', 1)[0]
        stolen = await bob.post("/console/members/import/confirm", {"ticket": ticket})
        assert stolen.status_code == 303 and "import_expired" in stolen.headers["location"]
        mine = await alice.post("/console/members/import/confirm", {"ticket": ticket})
        assert mine.status_code == 303 and "msg=imported&n=1" in mine.headers["location"]
        assert csrf_of((await a.get("/console/members")).text) == alice.csrf


async def test_uploads_cannot_escape_the_upload_folder(client: httpx.AsyncClient, console: Console, kb: object,
                                                       sign_in: SignIn, people: dict[str, Member]) -> None:
    console.knowledge = kb
    me = await sign_in(client, people["staff"])
    text = "# 手册\n\n第一条 委员应当学习。\n".encode()
    sneaky = await client.post("/console/kb/upload", data={"csrf": me.csrf, "replace": "../../escape.md"},
                               files=[("files", ("a.md", text, "text/markdown"))])
    assert sneaky.status_code == 400
    named = await client.post("/console/kb/upload", data={"csrf": me.csrf},
                              files=[("files", ("../../../etc/passwd.md", text, "text/markdown"))])
    assert named.status_code == 200 and "passwd.md" in named.text
    stored = [p for p in console.config.data_dir.rglob("*") if p.is_file() and p.suffix == ".md"]
    assert [p.name for p in stored] == ["passwd.md"]
    assert all(p.is_relative_to(console.config.upload_dir) for p in stored)
    assert not (console.config.data_dir.parent / "escape.md").exists()


async def test_proposal_pages_refuse_members_and_signed_out_users(
    make_client: Callable[..., httpx.AsyncClient], console: Console, sign_in: SignIn, people: dict[str, Member]
) -> None:
    await _file_one(console, people["member"])
    async with make_client() as client:
        for path in PROPOSAL_PAGES:  # signed out: the sign-in help, never the data
            response = await client.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/console/signin", path
        for path, form in PROPOSAL_POSTS:
            assert (await client.post(path, data=form)).status_code == 401, path
        staff = await sign_in(client, people["staff"])
        # a member (a staff member demoted meanwhile) is refused on every page and form at once
        async with console.db.session() as session:
            await members_repo.set_role(session, member_id=people["staff"].id, role=people["member"].role_enum,
                                        now=console.clock())
        for path in PROPOSAL_PAGES:
            response = await client.get(path)
            assert response.status_code == 303 and response.headers["location"] == "/console/signin", path
        for path, form in PROPOSAL_POSTS:
            assert (await staff.post(path, form)).status_code == 401, path
    async with console.db.session() as session:
        item = await proposals_repo.get(session, proposal_id=1)
    assert item is not None and item.status == "submitted" and [e.action for e in item.events] == ["submit"]


async def test_proposal_forms_need_the_csrf_token(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                  people: dict[str, Member]) -> None:
    await _file_one(console, people["member"])
    me = await sign_in(client, people["staff"])
    for path, form in PROPOSAL_POSTS:
        for bad in ({}, {"csrf": ""}, {"csrf": "x" * 43}):
            refused = await client.post(path, data={**form, **bad})
            assert refused.status_code == 403 and texts.CSRF_FAILED in refused.text, path
        refused = await me.post(path, form, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403, path
    async with console.db.session() as session:
        item = await proposals_repo.get(session, proposal_id=1)
    assert item is not None and item.status == "submitted"
    assert (await me.post("/console/proposals/1/act", {"action": "accept"})).status_code == 303


async def test_member_written_proposal_text_is_escaped(client: httpx.AsyncClient, console: Console,
                                                       sign_in: SignIn, people: dict[str, Member]) -> None:
    async with console.db.session() as session:
        await proposals_repo.submit(session, member=people["member"], now=console.clock(), tz=console.config.tz,
                                    config=console.config.proposals,
                                    item=proposals_repo.NewProposal(title="<script>alert(1)</script>",
                                                                    content="<img src=x onerror=alert(2)>",
                                                                    category="其他", place="<b>x</b>"))
    await sign_in(client, people["staff"])
    for path in ("/console/proposals", "/console/proposals/1", "/console/proposals?q=<script>"):
        html = (await client.get(path)).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>x</b>" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (await client.get("/console/proposals/1")).text
# ---- the permission matrix of the 积分 pages: every route, for the signed-out, a member, and without CSRF ----

CREDIT_ROUTES = [  # (method, route as declared, a request of it)
    ("GET", "/credits", "/console/credits"),
    ("GET", "/credits", "/console/credits?period=2026Q4"),
    ("GET", "/credits/export.xlsx", "/console/credits/export.xlsx?period=2026"),
    ("GET", "/credits/disputes", "/console/credits/disputes"),
    ("POST", "/credits/disputes/{dispute_id:int}/{decision}", "/console/credits/disputes/1/accept"),
    ("POST", "/credits/disputes/{dispute_id:int}/{decision}", "/console/credits/disputes/1/reject"),
    ("GET", "/credits/adjust", "/console/credits/adjust"),
    ("POST", "/credits/adjust", "/console/credits/adjust"),
    ("GET", "/credits/events", "/console/credits/events"),
    ("GET", "/credits/events/{event_id:int}", "/console/credits/events/1"),
    ("POST", "/credits/events/{event_id:int}/mark", "/console/credits/events/1/mark"),
]


def test_credit_matrix_covers_every_credit_route() -> None:
    from fastapi.routing import APIRoute

    from web.pages import credits

    declared = {(method, route.path) for route in credits.router.routes if isinstance(route, APIRoute)
                for method in route.methods or ()}
    assert declared == {(method, route) for method, route, _ in CREDIT_ROUTES}


async def _credit_fixture(console: Console, people: dict[str, Member]) -> dict[str, str]:
    """An open dispute #1 and an event #1, so a refused request would have had something to change."""
    from datetime import timedelta

    from store.credits import events as events_repo
    from store.credits import ledger
    from store.credits.awards import award
    from store.credits.rules import default_rules

    now = console.clock()
    async with console.db.session() as session:
        result = await award(session, rules=default_rules(), member_id=people["member"].id, rule_id="meeting",
                             source_type="event", source_id="x", requested_points=3,
                             activity_date=now.date(), at=now, apply_caps=False)
        dispute = await ledger.open_dispute(session, entry=result.entry, member_id=people["member"].id, now=now)
        await ledger.submit_dispute(session, dispute=dispute, reason="不对")
        await events_repo.create_event(session, rules=default_rules(), creator=people["staff"], now=now,
                                       spec=events_repo.EventSpec(title="学习会", rule_id="meeting",
                                                                  starts_at=now, ends_at=now + timedelta(hours=1)))
    return {"reason": "原因", "member_id": str(people["member"].id), "rule_id": "meeting", "points": "5"}


async def _nothing_changed(console: Console) -> None:
    from store import member_notices
    from store.credits import ledger

    async with console.db.session() as session:
        assert [d.status for d, _, _ in await ledger.dispute_rows(session, open_only=True)] == ["open"]
        assert await ledger.recent_adjustments(session) == []
        assert await member_notices.pending_count(session) == 0


async def test_credit_pages_refuse_signed_out_users_and_members(
    client: httpx.AsyncClient, console: Console, sign_in: SignIn, people: dict[str, Member]
) -> None:
    form = await _credit_fixture(console, people)
    for method, _, path in CREDIT_ROUTES:  # signed out
        response = await client.request(method, path, data=form if method == "POST" else None)
        if method == "GET":
            assert response.status_code == 303 and response.headers["location"] == "/console/signin", path
        else:
            assert response.status_code == 401 and texts.SESSION_ENDED in response.text, path
    # a member gets no link, and a forged one opens nothing
    async with console.db.session() as session:
        assert await console_repo.issue_link(session, member=people["member"], configured_secret=None, base_url=BASE,
                                             now=console.clock(), via="test") is None
        secret = await console_repo.console_secret(session, configured=None, now=console.clock())
        forged = await console_repo.create_link(session, member=people["member"], secret=secret, now=console.clock())
    assert (await client.post("/console/login", data={"t": forged})).status_code == 403
    # staff who became a member: the session they had opens none of the pages any more
    staff = await sign_in(client, people["staff"])
    assert (await client.get("/console/credits")).status_code == 200
    async with console.db.session() as session:
        await members_repo.set_role(session, member_id=people["staff"].id, role=people["member"].role_enum,
                                    now=console.clock())
    for method, _, path in CREDIT_ROUTES:
        if method == "GET":
            response = await client.get(path)
            assert response.status_code == 303, path
        else:
            response = await staff.post(path, form)
            assert response.status_code == 401, path
    await _nothing_changed(console)


async def test_credit_forms_need_the_csrf_token(client: httpx.AsyncClient, console: Console, sign_in: SignIn,
                                                people: dict[str, Member]) -> None:
    form = await _credit_fixture(console, people)
    staff = await sign_in(client, people["staff"])
    for method, _, path in CREDIT_ROUTES:
        if method != "POST":
            continue
        for data in (form, {**form, "csrf": "x" * 43}):
            refused = await client.post(path, data=data)
            assert refused.status_code == 403 and texts.CSRF_FAILED in refused.text, path
        refused = await staff.post(path, form, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403, path
    await _nothing_changed(console)
