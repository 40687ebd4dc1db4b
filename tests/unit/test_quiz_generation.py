"""The offline quiz generator: answers are in the cited article, distractors differ, output is deterministic."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.chunking import chunk_document
from knowledge.loaders import load
from knowledge.models import Chunk
from knowledge.quiz import BLANK, QuizGenerator, check, generate, numeral_value, quantity_value

RULES = """# 委员会工作规则

## 第一章 会议

第一条 全体会议每年至少举行一次，由常务委员会召集。

第二条 常务委员会会议一般每季度举行一次，由主席会议召集。

第三条 提案应当在收到之日起三十日内交办，承办单位应当在三个月内答复。

第四条 委员因故不能出席全体会议的，应当向秘书长书面请假。

## 第二章 委员

第五条 委员每届任期五年，连续任职不得超过两届。

第六条 委员在履职中有突出表现的，由主席会议予以表彰。

第七条 社情民意信息应当在十五日内报送办公厅，紧急情况应当在二十四小时内报告。

第八条 列席人员的名单由秘书长提出，报主席会议审定。
"""


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory) -> list[Chunk]:
    path = tmp_path_factory.mktemp("quiz") / "rules.md"
    path.write_text(RULES, encoding="utf-8")
    return chunk_document(load(path))


def test_numerals_and_quantities() -> None:
    texts = ("十五", "三十", "一百二十三", "两", "15", "一九一一")
    assert [numeral_value(t) for t in texts] == [15, 30, 123, 2, 15, 1911]
    assert quantity_value("十五日") == quantity_value("15日") == ("日", 15.0)
    assert quantity_value("三分之二") == ("分之", pytest.approx(2 / 3))
    assert quantity_value("两届") == quantity_value("二届")


def test_every_question_cites_its_article_and_passes_the_check(chunks: list[Chunk]) -> None:
    questions = generate(chunks, seed=3)
    assert len(questions) >= 6 and {q.kind for q in questions} == {"cloze", "choice"}
    by_label = {c.article: c.text for c in chunks}
    for q in questions:
        assert check(q)
        assert q.quote == by_label[q.article] and q.term in q.quote and q.clause in q.quote
        assert q.answer_text in q.quote and len(q.options) == 4 and len(set(q.options)) == 4
        assert q.stem.startswith(f"根据《委员会工作规则》{q.article}")
        assert q.explanation == f"《委员会工作规则》{q.article}规定：“{q.clause}”"
        if q.kind == "cloze":
            assert BLANK in q.stem and q.clause.replace(q.term, BLANK) in q.stem
            assert all(opt not in q.quote for i, opt in enumerate(q.options) if i != q.answer)
        else:
            assert q.answer_text == q.clause
            assert all(opt != q.clause for i, opt in enumerate(q.options) if i != q.answer)


def test_distractors_never_restate_the_answer(chunks: list[Chunk]) -> None:
    for q in generate(chunks):
        if quantity_value(q.term):
            values = {quantity_value(q.term if i == q.answer else _term_of(q, i)) for i in range(4)}
            assert len(values) == 4  # "十五日" and "15日" never both appear


def _term_of(q: object, index: int) -> str:
    options = q.options  # type: ignore[attr-defined]  # a Question
    if q.kind == "cloze":  # type: ignore[attr-defined]
        return str(options[index])
    clause, term = q.clause, q.term  # type: ignore[attr-defined]
    head, tail = clause.split(term, 1)
    return str(options[index])[len(head): len(options[index]) - len(tail)]


def test_same_corpus_and_seed_same_questions(chunks: list[Chunk]) -> None:
    assert generate(chunks, seed=1) == generate(chunks, seed=1)
    shuffled = generate(chunks, seed=2)
    assert [q.key for q in generate(chunks, seed=1)] == [q.key for q in shuffled]  # same questions, other order
    assert [q.answer for q in generate(chunks, seed=1)] != [q.answer for q in shuffled]


def test_the_check_refuses_an_answer_not_in_the_article(chunks: list[Chunk]) -> None:
    q = generate(chunks)[0]
    assert check(q)
    assert not check(replace(q, quote="第一条 另一条文。"))
    assert not check(replace(q, options=(q.answer_text,) * 4))


def test_dependent_and_list_clauses_are_not_used(tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    path.write_text("# 规则\n\n第一条 有下列情形之一的，应当在三十日内报告：\n（一）委员在十五日内未答复；\n\n"
                    "第二条 依照前款规定，应当在七日内处理完毕。\n\n第三条 本条所称期限为十日。\n", encoding="utf-8")
    assert QuizGenerator(chunk_document(load(path))).generate() == []
