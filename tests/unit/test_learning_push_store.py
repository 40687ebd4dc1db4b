"""Learning-push store functions on SQLite and PostgreSQL: inputs in a fixed number of queries, no repeat
across weeks, replanning replaces only unsent rows, claims are exclusive, 不再推送此主题 once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from handlers.context import Services
from store import preferences
from store.learning import pushes
from store.learning.materials import MaterialInput, create_material
from store.learning.planner import next_week_start, week_start
from store.learning.reading import open_page
from store.models import LearningMaterial, LearningPush, Member
from tests.support.clock import SHANGHAI

MONDAY = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
CONFIG = pushes.LearningPushConfig()


@contextmanager
def counting(services: Services) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = services.db.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _materials(services: Services, n: int) -> list[int]:
    ids = []
    async with services.db.session() as session:
        for i in range(n):
            m = await create_material(session, data=MaterialInput(
                title=f"资料{i}", kind="text", body="正文。", estimated_minutes=5,
                topics=["经济发展" if i % 2 else "社会民生"]), created_by=None, now=MONDAY - timedelta(days=i + 1))
            ids.append(m.id)
        await session.commit()
    return ids


async def _plan(services: Services, week_from: datetime, now: datetime) -> int:
    async with services.db.session() as session:
        n = await pushes.plan_and_save(session, week_from=week_from, now=now, config=CONFIG,
                                       defaults=services.prefs_defaults, tz=SHANGHAI)
        await session.commit()
    return n


async def _rows(services: Services) -> list[LearningPush]:
    async with services.db.session() as session:
        return list(await session.scalars(select(LearningPush).order_by(LearningPush.id)))


async def test_inputs_in_a_fixed_number_of_queries(services: Services,
                                                   roster: Callable[..., Awaitable[list[Member]]]) -> None:
    people = await roster(*({"name": f"委员{i}", "telegram_id": 5000 + i} for i in range(30)))
    ids = await _materials(services, 6)
    async with services.db.session() as session:
        for person in people[:10]:
            await preferences.toggle_topic(session, member_id=person.id, topic="经济发展", now=MONDAY)
            material = await session.get(LearningMaterial, ids[0])
            assert material is not None
            await open_page(session, member_id=person.id, material=material, page=1, now=MONDAY)
        await session.commit()
    async with services.db.session() as session:
        with counting(services) as statements:
            inputs = await pushes.load_inputs(session, week_from=week_start(MONDAY, SHANGHAI),
                                              defaults=services.prefs_defaults, tz=SHANGHAI)
    assert len(inputs.members) == 30 and len(inputs.materials) == 6
    # seven for members, materials, readings and pushes, and two for the wrong quiz answers' topics
    # (store.learning.quiz_links), whatever the number of members
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 9
    assert all(ids[0] in m.seen for m in inputs.members[:10])


async def test_no_repeat_across_weeks_and_replanning_keeps_sent_rows(
    services: Services, roster: Callable[..., Awaitable[list[Member]]],
) -> None:
    await roster({"name": "张明", "telegram_id": 1001})
    await _materials(services, 5)
    this_week = week_start(MONDAY, SHANGHAI)
    assert await _plan(services, this_week, MONDAY) == 2
    first = await _rows(services)
    async with services.db.session() as session:  # one goes out
        (claimed,) = await pushes.claim_due(session, now=first[0].planned_at, token="t1", limit=1)
        await pushes.record(session, push_id=claimed.push_id, token="t1", status="sent", now=first[0].planned_at)
        await session.commit()
    assert await _plan(services, this_week, MONDAY + timedelta(hours=1)) == 1  # the cap counts the sent one
    rows = await _rows(services)
    assert [r.status for r in rows].count("sent") == 1 and len(rows) == 2
    nxt = next_week_start(MONDAY, SHANGHAI)
    assert await _plan(services, nxt, nxt) == 2
    assert await _plan(services, nxt + timedelta(days=7), nxt + timedelta(days=7)) == 1  # only one left unseen
    assert await _plan(services, nxt + timedelta(days=14), nxt + timedelta(days=14)) == 0
    material_ids = [r.material_id for r in await _rows(services)]
    assert len(material_ids) == len(set(material_ids)) == 5


async def test_two_senders_claim_disjoint_rows(services: Services,
                                               roster: Callable[..., Awaitable[list[Member]]]) -> None:
    await roster(*({"name": f"委员{i}", "telegram_id": 6000 + i} for i in range(20)))
    await _materials(services, 3)
    await _plan(services, week_start(MONDAY, SHANGHAI), MONDAY)
    later = MONDAY + timedelta(days=7)

    async def claim(token: str) -> list[int]:
        async with services.db.session() as session:
            got = await pushes.claim_due(session, now=later, token=token, limit=100)
            await session.commit()
        return [d.push_id for d in got]

    a, b = await asyncio.gather(claim("a"), claim("b"))
    assert not set(a) & set(b) and len(a) + len(b) == len(await _rows(services))
    async with services.db.session() as session:
        assert await pushes.recover_stale(session, now=later + timedelta(minutes=5), stale_after=600) == 0
        assert await pushes.recover_stale(session, now=later + timedelta(minutes=11), stale_after=600) == len(a + b)
        await session.commit()


async def test_stop_topic_once_and_planned_rows_skipped(services: Services,
                                                        roster: Callable[..., Awaitable[list[Member]]]) -> None:
    (member,) = await roster({"name": "张明", "telegram_id": 1001})
    await _materials(services, 4)
    await _plan(services, week_start(MONDAY, SHANGHAI), MONDAY)
    topic = (await _rows(services))[0].topic
    assert topic is not None

    async def stop() -> bool:
        async with services.db.session() as session:
            added = await pushes.block_topic(session, member_id=member.id, topic=topic, now=MONDAY)
            await session.commit()
        return added

    results = await asyncio.gather(stop(), stop())
    assert sorted(results) == [False, True]  # a double tap on two workers stops the topic once
    async with services.db.session() as session:
        assert await pushes.blocked_topics(session, member_id=member.id) == [topic]
    statuses = {r.topic: r.status for r in await _rows(services)}
    assert statuses[topic] == "skipped"
