"""Chinese tokenisation shared by BM25, the FAQ matcher and the answer sentence picker."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import rjieba

from knowledge.aliases import AliasNormalizer

# Domain words the general dictionary splits badly; canonical alias forms are added too.
DOMAIN_WORDS = (
    "政协委员",
    "全国政协",
    "地方政协",
    "常委会",
    "专委会",
    "主席会议",
    "秘书长",
    "界别",
    "特邀人士",
    "提案",
    "微建议",
    "社情民意",
    "建议案",
    "履职",
    "履职档案",
    "履职积分",
    "学习打卡",
    "读书活动",
    "专题协商会",
    "专题议政性会议",
    "协商式监督",
    "民主监督",
    "参政议政",
    "政治协商",
    "统一战线",
    "全会",
    "会徽",
    "五角星",
    "奏唱国歌",
    "政务处分",
    "承办单位",
    "办理答复",
    "委员工作室",
    "随手拍",
    "表决权",
    "选举权",
    "被选举权",
    "任期",
    "复议",
    "警告处分",
)

# Short terms worth matching inside longer words (专题协商会 → 协商, 政协委员 → 委员).
_CORE_TERMS = frozenset(
    "政协 委员 协商 监督 提案 建议 会议 委员会 主席 章程 宪法 处分 学习 履职 界别 议政 任期 选举 表决 答复 办理".split()
)

# Function words and the colloquial question words members add ("啥", "咋", "来着" …).
STOPWORDS = frozenset(
    """
    的 了 是 吗 呢 吧 啊 呀 哦 嘛 么 着 过 和 与 及 或 在 对 把 被 给 让 向 从 到 就 都 也 还 又 再 才 很 太 更 最
    我 你 他 她 它 我们 你们 他们 咱们 自己 本人 这 那 这个 那个 这些 那些 这里 那里 这样 那样 什么 啥 怎么 咋 怎样
    怎么样 如何 为什么 为啥 哪 哪些 哪个 哪几样 几 几个 多少 多久 吗 没 没有 有没有 是不是 能不能 可不可以 要不要
    会不会 一下 一般 到底 来着 平时 主要 这边 那边 话 的话 要是 如果 时候 一些 有 要 能 会 可以 得 请问 请 问 一个
    个 上 下 里 里面 中 等 之 其 以 为 而 并 但 但是 所以 因为 还是 还能 就是 都有 哪几 啥子 咋办 怎么办 算 算是
    不 不要 不会 不能 能否 是否 需要 应该 应当 已经 可能 出来 下来 起来 上去 回来 以后 之后 时 说 讲 写 想 看 干 做
    弄 搞 拿 去 来 用 当 定 开 交 提 帮 点 些 事 啥意思 意思 情况 东西 方面 哪些方面 一般来说 的话 是啥 是什么 有啥
    """.split()
)

_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_loaded_words: set[str] = set()


def register_words(words: Iterable[str]) -> None:
    """Teach the segmenter words it should keep whole (idempotent)."""
    for word in words:
        if word and word not in _loaded_words:
            rjieba.add_word(word, None, None)
            _loaded_words.add(word)


def normalize_text(text: str) -> str:
    """NFKC (full-width digits/letters to ASCII), lower case, collapse spaces."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).lower()


class Tokenizer:
    """Alias-normalising jieba tokenizer: the same function for documents and questions."""

    def __init__(self, aliases: AliasNormalizer) -> None:
        self.aliases = aliases
        register_words(DOMAIN_WORDS)
        register_words(aliases.canonical_terms)

        self.vocabulary = frozenset(DOMAIN_WORDS) | aliases.canonical_terms | _CORE_TERMS

    def __call__(self, text: str) -> list[str]:
        """Precise-mode words; long words also yield the domain terms inside them (全国政协 → 政协)."""
        normalised = self.aliases.normalize(normalize_text(text))
        out: list[str] = []
        for raw in rjieba.cut(normalised):
            tok = raw.strip()
            if not tok or tok in STOPWORDS or _PUNCT.match(tok) or (len(tok) == 1 and _is_cjk(tok)):
                continue
            out.append(tok)
            if len(tok) >= 3:
                out.extend(sub for sub in rjieba.cut_for_search(tok) if sub != tok and sub in self.vocabulary)
        return out


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff"
