"""Learned ranking and calibrated decision: fitting, the shipped model, hits by gold article label."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from knowledge.evaluation import EvalItem, is_hit, summarise_answers
from knowledge.models import Answer, Citation, Passage
from knowledge.ranking import (
    CALIB_FEATURES,
    DEFAULT_MODEL,
    RANK_FEATURES,
    DecisionModel,
    association_column,
    expected_calibration_error,
    fit_listwise,
    fit_logistic,
    mine_associations,
)


def test_listwise_fit_recovers_the_ranking_signal() -> None:
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(150):
        x = rng.normal(size=(25, 3))
        gold = np.zeros(25, dtype=bool)
        gold[int(np.argmax(2 * x[:, 0] - x[:, 1] + rng.normal(scale=0.3, size=25)))] = True
        groups.append((x, gold))
    model = fit_listwise(groups, ("a", "b", "c"))
    assert model.weights[0] > 1.0 and model.weights[1] < -0.5 and abs(model.weights[2]) < 0.5
    top1 = np.mean([g[int(np.argmax(model.score(x)))] for x, g in groups])
    assert top1 > 0.6


def test_logistic_fit_is_calibrated_on_its_own_data() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 2))
    p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.5)))
    y = (rng.random(4000) < p).astype(float)
    model = fit_logistic(x, y, ("a", "b"), l2=0.1)
    fitted = 1 / (1 + np.exp(-model.score(x)))
    assert expected_calibration_error(fitted.tolist(), y.astype(int).tolist()) < 0.03
    assert expected_calibration_error([0.9, 0.9], [1, 0]) == 0.4


def test_associations_are_mined_from_question_and_gold_article_pairs() -> None:
    fired = (["老板", "辞退"], frozenset({"用人单位", "解除", "劳动合同"}))
    pairs = [fired] * 3 + [(["老板"], frozenset({"用人单位"}))]
    share = {"用人单位": 0.05, "解除": 0.1, "劳动合同": 0.08}
    assoc = mine_associations(pairs, share)
    assert set(assoc["老板"]) == {"用人单位", "解除", "劳动合同"}
    assert max(assoc["老板"], key=assoc["老板"].get) == "用人单位"  # type: ignore[arg-type]  # dict.get as a key function
    column = association_column(["老板"], [frozenset({"用人单位"}), frozenset({"工资"})], assoc)
    assert column.tolist() == [1.0, 0.0]


def test_shipped_model_matches_the_code_and_was_cross_validated() -> None:
    model = DecisionModel.load(DEFAULT_MODEL)
    assert model.ranker.names == RANK_FEATURES and model.calibrator.names == CALIB_FEATURES
    assert 0 < model.candidate_threshold <= model.answer_threshold < 1
    assert model.decide(model.answer_threshold) == "answer"
    assert model.decide((model.answer_threshold + model.candidate_threshold) / 2) in ("candidates", "answer")
    assert model.decide(0.0) == "refusal"
    # a passage that states no number is never the answer to "多久/几" (offered as a candidate instead)
    assert model.decide(1.0, quantity_gap=True) == "candidates"
    assert model.decide(0.0, quantity_gap=True) == "refusal"
    cv = model.info["cv"]
    assert {"stard/answerable", "stard/lolo", "visible/answerable", "blind/answerable", "blind/ooc"} <= set(cv)
    data = json.loads(DEFAULT_MODEL.read_text(encoding="utf-8"))
    assert DecisionModel.from_json(data).to_json() == data


def test_round_trip(tmp_path: Path) -> None:
    model = DecisionModel.load(DEFAULT_MODEL)
    path = tmp_path / "m.json"
    model.save(path)
    assert DecisionModel.load(path).to_json() == model.to_json()


def test_hits_count_any_gold_article_by_label() -> None:
    item = EvalItem("q", "问题", "a.md", "第一条", ("关键词",), also=(("b.md", "第九条"),))
    assert is_hit(Passage("b.md", "B", "第九条", "与关键词无关", 1.0), item)
    assert is_hit(Passage("a.md", "A", "第一条", "无关", 1.0), item)
    assert is_hit(Passage("a.md", "A", "第二条", "含关键词", 1.0), item)  # keyword rule still counts
    assert not is_hit(Passage("b.md", "B", "第一条", "无关", 1.0), item)
    answers = [
        Answer(True, "", [Passage("b.md", "B", "第九条", "", 1.0)], [Citation("b.md", "B", "第九条")]),
        Answer(False, "", [Passage("c.md", "C", "第三条", "", 1.0)], decision="candidates",
               candidates=[Citation("c.md", "C", "第三条"), Citation("a.md", "A", "第一条")]),
    ]
    summary = summarise_answers([item, item], answers)
    assert summary.answer_precision == 1.0 and summary.shown == 1.0
    assert summary.modes == {"answer": 1, "candidates": 1}


def test_association_column_is_the_per_candidate_sum_of_best_links() -> None:
    """Per candidate: for each question term with associations, its best associated term present (none: 0),
    summed over the question's terms, then divided by the best candidate's sum."""
    assoc = {"老板": {"用人单位": 2.0, "雇主": 1.0}, "欠薪": {"工资": 1.5, "报酬": 0.5}, "负": {"罚款": -1.0}}
    terms = [
        frozenset({"用人单位", "雇主", "工资"}),
        frozenset({"雇主", "报酬"}),
        frozenset({"罚款"}),
        frozenset({"其他"}),
    ]
    column = association_column(["老板", "欠薪", "老板", "负", "无关"], terms, assoc)
    assert np.allclose(column, np.array([3.5, 1.5, -1.0, 0.0]) / 3.5, rtol=0, atol=1e-15)
    assert association_column(["无关"], terms, assoc).tolist() == [0.0] * 4
    assert association_column(["老板"], [], assoc).shape == (0,)
