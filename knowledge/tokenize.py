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
    "政协 委员 协商 监督 提案 建议 会议 委员会 主席 章程 宪法 处分 学习 履职 界别 议政 任期 选举 表决 答复 办理"
    " 打卡 积分 命令".split()
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

# Words that occur in nearly every question members ask this assistant and in most passages of the
# corpus (after alias normalisation), so sharing them is no evidence that a passage answers the
# question: the evidence check ignores them when it looks for lexical support.
GENERIC_TERMS = frozenset(
    """
    政协 委员 政协委员 委员会 全国政协 地方政协 常委 规定 规则 办法 怎么 多少 可以 助手 问题 有关 相关 工作 现在 情况
    """.split()
)
# Interrogative quantity words jieba keeps whole ("几次", "几篇", "多长", "哪一年"): they ask, they do not inform.
_INTERROGATIVE = re.compile(r"^(几.{0,2}|多(少|长|久|大|高|远)|哪.{0,2})$")

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
        return self.cut(self.normalize(text))

    def normalize(self, text: str) -> str:
        """The text as it is cut: ``normalize_text``, then every alias rewritten to its canonical form."""
        return self.aliases.normalize(normalize_text(text))

    def cut(self, normalised: str) -> list[str]:
        """The tokens of a text already passed through ``normalize`` (``tokenizer(t) == cut(normalize(t))``)."""
        out: list[str] = []
        for raw in rjieba.cut(normalised):
            tok = raw.strip()
            if not tok or tok in STOPWORDS or _PUNCT.match(tok) or (len(tok) == 1 and _is_cjk(tok)):
                continue
            out.append(tok)
            if len(tok) >= 3:
                out.extend(sub for sub in rjieba.cut_for_search(tok) if sub != tok and sub in self.vocabulary)
        return out


def is_generic(term: str) -> bool:
    """True for domain-generic words and interrogatives, which do not count as lexical support."""
    return term in GENERIC_TERMS or bool(_INTERROGATIVE.match(term))


def salient_terms(tokens: Iterable[str]) -> list[str]:
    """The question's content terms (deduplicated, in order) without generic words and interrogatives."""
    return [term for term in dict.fromkeys(tokens) if not is_generic(term)]


# A question asking for a number ("几件", "多少字", "多久") — unless it asks how to do something
# ("有多少积分，咋查": the answer is a procedure, not a number).
_ASKS_QUANTITY = re.compile(r"几(?!样|种|类|方面)|多少|多久|多长|上限|哪一年")
_ASKS_HOW = re.compile(r"(怎么|怎样|咋|如何)(查|看|办|弄|操作|提交|申请|交|报)")
# A passage stating one: digits, a Chinese numeral with a measure word, fractions and halves.
_STATES_QUANTITY = re.compile(
    r"\d|[一二两三四五六七八九十百千万]+(?:个|次|年|月|日|天|周|小时|分钟|分|件|篇|名|人|届|项|倍|岁|字|元|份|位)"
    r"|分之|半数|过半|半天"
)


def asks_quantity(question: str) -> bool:
    """True when the question asks for a number (how many/much/long), not for a procedure."""
    text = normalize_text(question)
    return bool(_ASKS_QUANTITY.search(text)) and not _ASKS_HOW.search(text)


def states_quantity(text: str) -> bool:
    """True when the text states a number (article labels like 第二十六条 must be stripped first)."""
    return bool(_STATES_QUANTITY.search(normalize_text(text)))


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff"
