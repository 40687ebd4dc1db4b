"""Question log, feedback and /gaps ordering; FAQ add/update and hit counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store import members as members_repo
from store import questions as repo
from store.db import Database
from store.roster import parse_roster

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


async def _member_ids(db: Database) -> list[int]:
    parsed = parse_roster("name,role,telegram_id\n甲,member,1\n乙,member,2\n".encode())
    async with db.session() as session:
        report = await members_repo.import_roster(session, rows=parsed.rows, now=NOW)
        return [m.id for m in report.created]


async def test_gaps_group_normalised_questions_most_frequent_first(db: Database) -> None:
    a, b = await _member_ids(db)
    async with db.session() as session:
        for i, (member, question) in enumerate([
            (a, "委员工作室怎么建？"), (b, "委员工作室 怎么建"), (a, "委员工作室怎么建"),
            (b, "提案限额是多少"),
        ]):
            await repo.log_question(session, member_id=member, chat_id=member, question=question, answered=False,
                                    answer="", sources=[], at=NOW + timedelta(minutes=i))
        useful = await repo.log_question(session, member_id=a, chat_id=1, question="政协的职能", answered=True,
                                         answer="…", sources=[{"source": "x.md"}], at=NOW)
        useless = await repo.log_question(session, member_id=b, chat_id=2, question="常委会多久开一次",
                                          answered=True, answer="…", sources=[], at=NOW)
    async with db.session() as session:
        assert await repo.set_feedback(session, question_id=useful.id, member_id=a, feedback=repo.FEEDBACK_USEFUL)
        assert await repo.set_feedback(session, question_id=useless.id, member_id=b, feedback=repo.FEEDBACK_USELESS)
        # Someone else's question cannot be rated.
        assert not await repo.set_feedback(session, question_id=useless.id, member_id=a,
                                           feedback=repo.FEEDBACK_USEFUL)
    async with db.session() as session:
        gaps = await repo.gaps(session)
    assert [g.count for g in gaps] == [3, 1, 1]
    assert gaps[0].unanswered == 3 and "委员工作室" in gaps[0].question
    assert {g.question for g in gaps[1:]} == {"提案限额是多少", "常委会多久开一次"}
    assert next(g for g in gaps if g.question == "常委会多久开一次").useless == 1
    assert all(g.last_asked.tzinfo is not None for g in gaps)


async def test_faq_add_updates_same_question_and_counts_hits(db: Database) -> None:
    async with db.session() as session:
        first = await repo.add_faq(session, question="怎么补卡？", answer="旧答案", at=NOW)
        again = await repo.add_faq(session, question="怎么补卡", answer="新答案", at=NOW)
        assert first.id == again.id
        await repo.count_faq_hit(session, faq_id=first.id)
        await repo.count_faq_hit(session, faq_id=first.id)
    async with db.session() as session:
        (entry,) = await repo.active_faq(session)
        assert entry.answer == "新答案" and entry.hits == 2


def test_question_key_ignores_punctuation_width_and_spaces() -> None:
    assert repo.question_key("提案 怎么写？") == repo.question_key("提案怎么写?") == "提案怎么写"
    assert repo.question_key("ＡＢＣ委员") == "abc委员"
