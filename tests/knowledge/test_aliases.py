from __future__ import annotations

from knowledge.aliases import AliasNormalizer, parse_synonyms
from knowledge.tokenize import Tokenizer


def test_parse_and_longest_alias_wins() -> None:
    mapping = parse_synonyms(
        ["# comment", "全国政协 = 中国人民政治协商会议全国委员会", "政协 = 中国人民政治协商会议, 人民政协", ""]
    )
    norm = AliasNormalizer(mapping)
    assert norm.normalize("中国人民政治协商会议全国委员会委员") == "全国政协委员"
    assert norm.normalize("参加中国人民政治协商会议的单位") == "参加政协的单位"
    assert norm.normalize("人民政协的主题") == "政协的主题"


def test_canonical_form_is_not_rewritten_inside_itself() -> None:
    norm = AliasNormalizer(parse_synonyms(["奏唱国歌 = 唱国歌, 奏国歌"]))
    assert norm.normalize("应当奏唱国歌") == "应当奏唱国歌"
    assert norm.normalize("要不要唱国歌") == "要不要奏唱国歌"


def test_shipped_list_normalises_both_sides_to_the_same_tokens() -> None:
    tok = Tokenizer(AliasNormalizer.from_file())
    doc = tok("中国人民政治协商会议全国委员会常务委员会")
    question = tok("全国政协常委会")
    assert set(question) <= set(doc)
    assert "政协" in tok("全国政协对地方政协")  # long canonical words also yield the core term
    assert "吗" not in tok("可以退出吗")
