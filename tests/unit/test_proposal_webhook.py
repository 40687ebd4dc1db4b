"""The outbound webhook delivers each event once, signed, to a local receiver despite an injected failure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiohttp import web

from store.db import Database
from store.models import Member
from store.proposals import repository as repo
from store.proposals import webhook
from store.proposals.config import ProposalsConfig
from store.proposals.lifecycle import Action, Actor

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SECRET = "s3cret-for-tests"


@dataclass
class Receiver:
    url: str = ""
    fail_first: int = 1
    seen: list[str] = field(default_factory=list)  # every Idempotency-Key, failures included
    accepted: dict[str, dict[str, object]] = field(default_factory=dict)
    bad_signatures: int = 0


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers["Idempotency-Key"]
        state.seen.append(key)
        if state.fail_first > 0:
            state.fail_first -= 1
            return web.Response(status=500)
        signature = request.headers.get("X-Cppcc-Signature", "")
        if not webhook.verify(SECRET, request.headers["X-Cppcc-Timestamp"], body, signature):
            state.bad_signatures += 1
            return web.Response(status=401)
        if key not in state.accepted:  # a receiver de-duplicates on the idempotency key
            state.accepted[key] = json.loads(body)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_each_event_is_delivered_once_despite_one_failure(db: Database, receiver: Receiver) -> None:
    config = ProposalsConfig(webhook_url=receiver.url, webhook_secret=SECRET)
    async with db.session() as session:
        author = Member(name="张明", role="member", telegram_id=1001)
        session.add(author)
        await session.flush()
        item = repo.NewProposal(title="关于增设夜间公交线路的建议", content="建议在老城区增设夜间公交线路",
                                category="城乡建设")
        proposal = await repo.submit(session, member=author, item=item, now=NOW, tz=TZ, config=config)
        await repo.transition(session, proposal=proposal, action=Action.ACCEPT, actor=Actor.STAFF, actor_member=None,
                              actor_label="后台", now=NOW, tz=TZ, config=config)

    async with httpx.AsyncClient(timeout=5.0) as client:

        async def deliver(at: datetime) -> int:
            return await webhook.deliver_due(db.sessionmaker, client=client, url=receiver.url, secret=SECRET, now=at)

        assert await deliver(NOW) == 1  # the first request fails (500), the second gets through
        assert await deliver(NOW + timedelta(seconds=5)) == 0  # back-off: not due yet
        assert await deliver(NOW + webhook.backoff(1) + timedelta(seconds=1)) == 1
        assert await deliver(NOW + timedelta(hours=2)) == 0  # nothing left

    assert receiver.bad_signatures == 0
    assert len(receiver.seen) == 3 and receiver.seen[0] == receiver.seen[2]  # the retry reuses its key
    kinds = sorted(str(payload["event"]) for payload in receiver.accepted.values())
    assert kinds == ["proposal.accept", "proposal.submit"]
    submitted = next(p for p in receiver.accepted.values() if p["event"] == "proposal.submit")
    assert submitted["number"] == "WJY-2026-0001" and submitted["status"] == "submitted"


async def test_two_processes_delivering_at_once_post_each_event_once(db: Database, receiver: Receiver) -> None:
    """Every bot process runs the delivery job: an event is leased before it is posted."""
    receiver.fail_first = 0
    config = ProposalsConfig(webhook_url=receiver.url, webhook_secret=SECRET)
    async with db.session() as session:
        author = Member(name="张明", role="member", telegram_id=1001)
        session.add(author)
        await session.flush()
        for n in range(3):
            item = repo.NewProposal(title=f"关于第{n}号路口的建议", content=f"建议在第{n}号路口增设红绿灯",
                                    category="城乡建设")
            await repo.submit(session, member=author, item=item, now=NOW, tz=TZ, config=config)

    async with httpx.AsyncClient(timeout=5.0) as one, httpx.AsyncClient(timeout=5.0) as two:
        counts = await asyncio.gather(*(
            webhook.deliver_due(db.sessionmaker, client=c, url=receiver.url, secret=SECRET, now=NOW)
            for c in (one, two)))
        assert sum(counts) == 3
        # Leased, then delivered: nothing is due later, and nothing was posted twice.
        assert await webhook.deliver_due(db.sessionmaker, client=one, url=receiver.url, secret=SECRET,
                                         now=NOW + webhook.LEASE * 2) == 0
    assert len(receiver.seen) == 3 and len(set(receiver.seen)) == 3


def test_signature_and_backoff() -> None:
    body = webhook.body_of({"b": 1, "a": "微建议"})
    assert body == '{"a":"微建议","b":1}'.encode()
    signature = webhook.sign("k", "1700000000", body)
    assert signature.startswith("sha256=") and webhook.verify("k", "1700000000", body, signature)
    assert not webhook.verify("k", "1700000001", body, signature)
    assert not webhook.verify("other", "1700000000", body, signature)
    assert [webhook.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert webhook.backoff(50) == webhook.MAX_DELAY
