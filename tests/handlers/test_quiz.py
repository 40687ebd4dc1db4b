"""每日一题, the short quiz and the reviewers' gate as dialogues through the real Application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from handlers import texts
from handlers.context import Services
from store.models import CreditEntry, QuizAnswer
from store.quiz import repository as quiz
from tests.fakes.dialogue import Dialogue

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
MEMBER, OTHER, STAFF, REVIEWER = 1001, 1002, 9001, 9002
QUOTE = "第五十二条 中国人民政治协商会议的地方委员会每届任期五年。"


def _spec(n: int) -> quiz.QuestionSpec:
    return quiz.QuestionSpec(
        kind="cloze", stem=f"第{n}题：根据《章程》第五十二条，地方委员会每届任期____。",
        options=[f"{n + 2}年", "五年", f"{n + 10}年", f"{n + 20}年"], answer=1,
        source="章程.md", title="中国人民政治协商会议章程", article="第五十二条", quote=QUOTE,
        explanation="《中国人民政治协商会议章程》第五十二条规定：“中国人民政治协商会议的地方委员会每届任期五年。”",
        key=f"k{n}",
    )


@pytest.fixture
async def people(services: Services, roster: Callable[..., Awaitable[list[object]]]) -> None:
    services.clock = lambda: NOW
    await roster(
        {"name": "张明", "telegram_id": MEMBER},
        {"name": "王芳", "telegram_id": OTHER},
        {"name": "李干事", "telegram_id": STAFF, "role": "staff"},
        {"name": "赵把关", "telegram_id": REVIEWER, "role": "reviewer"},
    )


async def _seed(services: Services, *, approved: int, drafts: int = 0) -> list[int]:
    """``approved`` approved questions then ``drafts`` drafts; their ids in that order."""
    async with services.db.session() as session:
        await quiz.save_generated(session, specs=[_spec(n) for n in range(approved + drafts)], now=NOW)
        ids = [q.id for q in await quiz.list_questions(session, status=quiz.DRAFT, limit=100)]
        from store.models import Member

        reviewer = await session.scalar(select(Member).where(Member.telegram_id == REVIEWER))
        assert reviewer is not None
        for qid in ids[:approved]:
            await quiz.review(session, question_id=qid, reviewer=reviewer, approve=True, now=NOW)
    return ids


async def _points(services: Services) -> int:
    async with services.db.session() as session:
        return int(await session.scalar(select(func.coalesce(func.sum(CreditEntry.points), 0))
                                        .where(CreditEntry.rule_id == "quiz")) or 0)


def _qid(data_prefix: str, chat: Dialogue, user: int) -> int:
    """The question id on the newest card with answer buttons."""
    for message in reversed(list(chat.fake.api.messages[user].values())):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if button.get("callback_data", "").startswith(data_prefix):
                    return int(button["callback_data"].split(":")[2])
    raise AssertionError("no answer card")


async def test_daily_right_answer_earns_points_once(chat: Dialogue, people: None, services: Services) -> None:
    await _seed(services, approved=2)
    card = await chat.send(MEMBER, "/daily")
    assert texts.QUIZ_DAILY_HEAD in card.text and "B. 五年" in card.text
    assert card.buttons == ["A", "B", "C", "D"]
    qid = _qid("quiz:ans:", chat, MEMBER)
    card_message = chat.fake.api.messages[MEMBER][max(chat.fake.api.messages[MEMBER])]
    done = await chat.tap(MEMBER, "B")
    assert texts.QUIZ_RIGHT in done.text and "获得 1 分（每日一题）" in done.text
    assert "第五十二条规定" in done.text  # the explanation quotes the article
    again = await chat.process(chat.fake.api.user_presses(MEMBER, f"quiz:ans:{qid}:1", message=card_message))
    assert texts.QUIZ_ALREADY_ANSWERED in again.text
    assert await _points(services) == 1
    assert texts.QUIZ_DAILY_DONE in (await chat.send(MEMBER, "/daily")).text
    typed = await chat.send(OTHER, "每日一题")  # typed, the same question for everyone that day
    assert _qid("quiz:ans:", chat, OTHER) == qid and texts.QUIZ_DAILY_HEAD in typed.text


async def test_daily_wrong_answer_explains_and_offers_the_article(chat: Dialogue, people: None,
                                                                   services: Services) -> None:
    await _seed(services, approved=1)
    await chat.send(MEMBER, "/daily")
    qid = _qid("quiz:ans:", chat, MEMBER)
    wrong = await chat.tap(MEMBER, "A")
    assert texts.QUIZ_WRONG in wrong.text and "正确答案：B（五年）" in wrong.text
    assert "每届任期五年" in wrong.text and texts.BTN_SOURCE in wrong.buttons
    assert await _points(services) == 0
    source = await chat.tap(MEMBER, texts.BTN_SOURCE)
    assert "《中国人民政治协商会议章程》第五十二条 原文" in source.text and QUOTE in source.text
    retry = await chat.press(MEMBER, f"quiz:ans:{qid}:1")  # no second chance on the same question
    assert texts.QUIZ_ALREADY_ANSWERED in retry.text and await _points(services) == 0
    assert texts.QUIZ_DAILY_DONE in (await chat.send(MEMBER, "/daily")).text


async def test_short_quiz_points_stop_at_the_daily_cap(chat: Dialogue, people: None, services: Services) -> None:
    await _seed(services, approved=6)
    first = await chat.send(MEMBER, "/quiz")
    assert texts.QUIZ_QUIZ_HEAD.format(n=1, total=5) in first.text
    seen = []
    for n in range(1, 4):
        qid = _qid("quiz:ans:", chat, MEMBER)
        seen.append(qid)
        result = await chat.tap(MEMBER, "B")
        assert texts.QUIZ_RIGHT in result.text and texts.BTN_QUIZ_NEXT in result.buttons
        if n <= 2:
            assert "获得 1 分" in result.text
        else:
            assert texts.QUIZ_RIGHT_CAPPED in result.text  # the rule's daily cap is 2 points
        nxt = await chat.tap(MEMBER, texts.BTN_QUIZ_NEXT)
        assert texts.QUIZ_QUIZ_HEAD.format(n=n + 1, total=5) in nxt.text
    assert len(set(seen)) == 3  # never a question already answered
    assert await _points(services) == 2
    # the day's 每日一题 is kept for /daily: still a question never answered
    await chat.send(MEMBER, "/daily")
    assert _qid("quiz:ans:", chat, MEMBER) not in seen


async def test_forged_and_out_of_range_buttons_change_nothing(chat: Dialogue, people: None,
                                                              services: Services) -> None:
    ids = await _seed(services, approved=1, drafts=1)
    for data in (f"quiz:ans:{ids[0]}:9", f"quiz:ans:{ids[0]}", "quiz:ans:x:1", f"quiz:ans:{ids[0]}:1:99",
                 "quiz:next:77", f"quiz:src:{ids[1]}", "quiz:ans:99999999999:1"):
        assert texts.STALE_BUTTON in (await chat.press(MEMBER, data)).text, data
    async with services.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(QuizAnswer)) == 0


async def test_drafts_are_never_shown_until_a_reviewer_approves(chat: Dialogue, people: None,
                                                                 services: Services) -> None:
    ids = await _seed(services, approved=0, drafts=2)
    assert texts.QUIZ_NONE in (await chat.send(MEMBER, "/daily")).text
    assert texts.QUIZ_NONE in (await chat.send(MEMBER, "/quiz")).text
    forged = await chat.press(MEMBER, f"quiz:ans:{ids[0]}:1")  # a draft cannot be answered either
    assert texts.STALE_BUTTON in forged.text
    assert texts.STAFF_ONLY in (await chat.send(MEMBER, "/quiz_review")).text
    assert texts.QUIZ_REVIEW_ONLY in (await chat.send(STAFF, "/quiz_review")).text
    assert texts.QUIZ_REVIEW_ONLY in (await chat.press(STAFF, f"quiz:rv:{ids[0]}:ok")).text
    card = await chat.send(REVIEWER, "/quiz_review")
    assert "共 2 道" in card.text and "答案：B（五年）" in card.text and "原文" in card.text
    assert card.buttons == [texts.BTN_QUIZ_APPROVE, texts.BTN_QUIZ_REJECT, texts.BTN_QUIZ_NEXT]
    skipped = await chat.tap(REVIEWER, texts.BTN_QUIZ_NEXT)
    assert f"#{ids[1]}" in skipped.text
    rejected = await chat.tap(REVIEWER, texts.BTN_QUIZ_REJECT)
    assert texts.QUIZ_REVIEW_DONE["rejected"].format(id=ids[1]) in rejected.text and f"#{ids[0]}" in rejected.text
    approved = await chat.tap(REVIEWER, texts.BTN_QUIZ_APPROVE)
    assert texts.QUIZ_REVIEW_DONE["approved"].format(id=ids[0]) in approved.text
    assert texts.QUIZ_REVIEW_EMPTY in approved.text
    twice = await chat.press(REVIEWER, f"quiz:rv:{ids[0]}:no")  # a stale second press
    assert texts.QUIZ_REVIEW_ALREADY.format(status="已通过") in twice.text
    await chat.send(MEMBER, "/daily")
    assert _qid("quiz:ans:", chat, MEMBER) == ids[0]  # only the approved one goes live


def test_options_that_differ_in_one_term_are_written_once_with_the_terms_as_options() -> None:
    from handlers.quiz import shared_frame

    clause = "中国人民政治协商会议的地方委员会每届任期{}年。"
    options = [clause.format(n) for n in ("三", "二", "五", "一")]
    assert shared_frame(options) == ("中国人民政治协商会议的地方委员会每届任期", "年。")
    organs = [f"由全国委员会{o}决定，并报告全体会议。" for o in ("常务委员会", "主席会议", "秘书长", "专门委员会")]
    assert shared_frame(organs) == ("由全国委员会", "决定，并报告全体会议。")
    # never cut into a number: 二十 / 三十 keep their 十 and 十五 / 五 their 五 (the shared 日 stays in the frame)
    days = [f"承办单位应当在{d}日内答复。" for d in ("二十", "三十", "十五", "五")]
    prefix, suffix = shared_frame(days) or ("", "")
    assert (prefix, suffix) == ("承办单位应当在", "日内答复。")
    assert [d[len(prefix):len(d) - len(suffix)] for d in days] == ["二十", "三十", "十五", "五"]
    assert shared_frame(["五年", "三年", "两年", "一年"]) is None  # short options: nothing worth sharing
    assert shared_frame(["委员应当遵守章程。", "委员应当遵守章程和决议。"]) is None  # one option would be empty
    assert shared_frame(["甲乙丙丁戊己庚辛壬癸子丑A", "甲乙丙丁戊己庚辛壬癸子丑B"]) is not None


async def test_a_choice_between_near_identical_clauses_reads_as_one_clause(chat: Dialogue, people: None,
                                                                          services: Services) -> None:
    clause = "中国人民政治协商会议的地方委员会每届任期{}年。"
    spec = quiz.QuestionSpec(
        kind="choice", stem="根据《中国人民政治协商会议章程》第五十二条，下列表述正确的是哪一项？",
        options=[clause.format(n) for n in ("三", "五", "二", "一")], answer=1, source="章程.md",
        title="中国人民政治协商会议章程", article="第五十二条", quote=QUOTE, explanation="", key="frame",
    )
    async with services.db.session() as session:
        assert await quiz.seed_approved(session, specs=[spec], now=NOW) == 1
    card = await chat.send(MEMBER, "/daily")
    assert texts.QUIZ_FRAME.format(frame="中国人民政治协商会议的地方委员会每届任期（　）年。") in card.text
    assert "A. 三\nB. 五\nC. 二\nD. 一" in card.text
    done = await chat.tap(MEMBER, "B")
    assert texts.QUIZ_RIGHT in done.text and clause.format("五") in done.text  # the answer is named in full
