from __future__ import annotations

from pathlib import Path

from knowledge.faq import FaqMatcher, FaqPair, load_faq_file

PAIRS = [
    FaqPair(1, "提案交上去多久有答复？", "一般在交办后三个月内答复。"),
    FaqPair(2, "怎么学习打卡", "发送 /checkin。"),
]


def test_matches_paraphrase_and_aliases() -> None:
    matcher = FaqMatcher(PAIRS)
    match = matcher.match("请问提案交上去多久会有答复啊")
    assert match is not None and match.pair.id == 1 and match.score >= 0.72
    checkin = matcher.match("怎么学习打卡？")
    assert checkin is not None and checkin.pair.id == 2


def test_conservative_no_match() -> None:
    matcher = FaqMatcher(PAIRS)
    assert matcher.match("委员可以退出政协吗") is None
    assert matcher.match("怎么提交提案") is None
    assert matcher.match("") is None
    assert FaqMatcher([]).match("提案") is None


def test_load_csv_and_markdown(tmp_path: Path) -> None:
    csv_file = tmp_path / "faq.csv"
    csv_file.write_text("question,answer\n提案多久答复,三个月内\n,缺问题\n", encoding="utf-8")
    assert load_faq_file(csv_file) == [FaqPair(1, "提案多久答复", "三个月内")]
    md = tmp_path / "faq.md"
    md.write_text(
        "# 常见问题\n\n## 怎么打卡\n\n发送 /checkin。\n\n第二段。\n\n## 空问题\n\n## 积分怎么查\n发送 /credits。\n",
        encoding="utf-8",
    )
    pairs = load_faq_file(md)
    assert [p.question for p in pairs] == ["怎么打卡", "积分怎么查"]
    assert pairs[0].answer == "发送 /checkin。\n\n第二段。"
