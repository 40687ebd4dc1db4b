"""Quiz questions generated offline from the knowledge base's articles (每日一题 and short quizzes; issue #15).

No model is involved. From each article chunk (one 第X条, see ``knowledge.chunking``) a key clause is
picked: a complete, self-contained sentence holding a distinctive term — a number or time limit
("三十日", "三分之二"), an organ ("常务委员会", "登记管理机关") or a rare noun phrase (by IDF over the
corpus). Two kinds of question are made from it:

- ``cloze`` (填空): the clause with the term blanked; the options are the term and three terms of the
  same kind (other numbers with the same unit, other organs) taken first from the article's BM25
  neighbours (the similar articles the retriever would find), never a term that occurs in the cited
  article itself (it could make the clause true as well);
- ``choice`` (选择): "根据《X》第N条，下列表述正确的是" with the clause as written and three copies of it
  where the term is replaced by those distractors.

Every question cites its document and article, quotes the article and explains the answer with the
quote. ``check`` is the mechanical test that the answer (the term, or the whole true clause) occurs in
the cited article's text; ``generate`` drops any question that fails it. Options are shuffled by a
seeded RNG, so the same corpus and seed give the same questions.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import rjieba

from knowledge.aliases import AliasNormalizer
from knowledge.chunking import ARTICLE_RE, split_sentences
from knowledge.index.bm25 import BM25Index
from knowledge.models import Chunk
from knowledge.tokenize import Tokenizer, register_words

KINDS = ("cloze", "choice")
BLANK = "____"
OPTION_LETTERS = "ABCD"
N_OPTIONS = 4
NEIGHBOURS = 30

# Organs and roles the segmenter would split ("登记" + "管理机关"): kept whole so they can be blanked whole.
QUIZ_WORDS = (
    "登记管理机关", "业务主管单位", "常务委员会", "全国委员会", "地方委员会", "主席会议", "全体会议",
    "政务处分", "监察机关", "任免机关", "特邀调解员", "特邀调解组织", "督查机构", "决策机关", "决策承办单位",
    "国务院办公厅", "全国人民代表大会", "全国人民代表大会常务委员会", "中央军事委员会", "国家监察委员会",
    "最高人民法院", "最高人民检察院", "人民法院", "人民检察院", "公安机关", "秘书长", "副主席",
    "政协委员", "专门委员会", "民主党派", "人民团体", "社会团体", "国旗", "国歌", "国徽",
)
ORGAN_SUFFIXES = (
    "委员会", "人民政府", "国务院", "机关", "法院", "检察院", "代表大会", "主席会议", "全体会议", "单位", "机构",
    "部门", "办公厅", "秘书长", "调解员", "组织",
)
_NUMERAL = "一二三四五六七八九十百千万两零〇"
_UNITS = (
    "个工作日", "工作日", "个月", "日", "天", "年", "周", "小时", "人", "名", "次", "届", "倍", "元", "项", "周岁",
)
_QUANTITY_RE = re.compile(
    rf"(?<![第{_NUMERAL}\d])(?:[{_NUMERAL}]+分之[{_NUMERAL}]+|[{_NUMERAL}\d]+(?:{'|'.join(_UNITS)}))"
)
_DATE_RE = re.compile(rf"[\d{_NUMERAL}]{{2,4}}年[\d{_NUMERAL}]{{1,2}}月(?:[\d{_NUMERAL}]{{1,3}}日)?")
# Ladders for synthesised distractors when the corpus has too few numbers with the same unit.
_LADDER = {
    "日": "三 五 七 十 十五 二十 三十 六十 九十".split(),
    "个工作日": "三 五 七 十 十五 二十".split(),
    "工作日": "三 五 七 十 十五 二十".split(),
    "个月": "一 二 三 六 九 十二 十八".split(),
    "年": "一 二 三 五 十 十五 二十".split(),
    "人": "三 五 七 九 十一 十五 二十一".split(),
    "名": "三 五 七 九 十一 十五".split(),
    "次": "一 二 三 四 六".split(),
    "届": "一 二 三 四 五".split(),
    "周岁": "十四 十六 十八 二十二".split(),
    "分之": "二分之一 三分之一 三分之二 四分之三 五分之一 五分之四".split(),
}
# Sentences that lean on another paragraph or article, or only open a list, are not self-contained.
_DEPENDENT_RE = re.compile(r"前款|前两款|前三款|本条|前条|上述|下列|以下|如下|该款|前项|其他|前述")
# Nouns too common or too vague to be the point of a question.
_VAGUE = frozenset(
    """
    国家 人民 规定 工作 有关 本法 本条例 本规定 本章程 公民 组织 单位 部门 情况 事项 活动 方面 问题 内容 范围
    方式 程序 要求 制度 情形 条件 意见 材料 时间 期间 期限 人员 其中 社会 法律 法规 行为 责任 权利 义务 措施
    职责 任务 过程 基础 原则 地区 方针 政策 能力 水平 作用 领导 全国 地方 各级 中国 中华人民共和国 政协
    会议 委员 决定 办法 根据 依照 依法 单位 负责人 本办法 主管 机关
    """.split()
)
# Segmenter slips: a "noun phrase" holding one of these is a clause fragment, not a term.
_FRAGMENT_RE = re.compile(r"有关|依法|依照|责令|规定|口头|办理|建议|之日|负有|应当|可以|按照|有权|悬挂|面向|代行")


@dataclass(frozen=True)
class Question:
    """One generated question: what a member sees, the cited article, and the explanation after an answer."""

    kind: str  # "cloze" | "choice"
    stem: str
    options: tuple[str, ...]
    answer: int  # index into options
    source: str
    title: str
    article: str  # the label: 第二十八条, 总纲
    quote: str  # the article's text (the chunk)
    term: str  # the blanked or replaced term
    clause: str  # the sentence of the article the question is made from, as written
    key: str  # stable identity: the same article, kind and term give the same key

    @property
    def answer_text(self) -> str:
        return self.options[self.answer]

    @property
    def citation(self) -> str:
        return f"《{self.title}》{self.article}"

    @property
    def explanation(self) -> str:
        """The basis shown after an answer: the cited article's clause, quoted."""
        return f"{self.citation}规定：“{self.clause}”"


def check(question: Question) -> bool:
    """The mechanical check: the answer occurs in the cited article, and no distractor is the answer."""
    if not question.quote or question.answer_text not in question.quote:
        return False
    if question.term not in question.clause or question.clause not in question.quote:
        return False
    if len(set(question.options)) != len(question.options):
        return False
    if question.kind == "cloze":
        return all(opt not in question.quote for i, opt in enumerate(question.options) if i != question.answer)
    return True


@dataclass(frozen=True)
class _Candidate:
    sentence: str
    term: str
    category: str  # "quantity:<unit>" | "organ:<suffix>" | "noun"
    score: float


_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_POWERS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def numeral_value(text: str) -> int | None:
    """123, "一百二十三", "十五", "一九一一" (read digit by digit) → int; None if not a numeral."""
    if text.isascii() and text.isdigit():
        return int(text)
    if not text or any(c not in _DIGITS and c not in _POWERS for c in text):
        return None
    if not any(c in _POWERS for c in text):
        return int("".join(str(_DIGITS[c]) for c in text))
    total, current = 0, 0
    for char in text:
        if char in _DIGITS:
            current = _DIGITS[char]
        else:
            total += (current or 1) * _POWERS[char]
            current = 0
    return total + current


def quantity_value(term: str) -> tuple[str, float] | None:
    """(unit, value) of a quantity term: "十五日" and "15日" are both ("日", 15)."""
    unit = _unit(term)
    if unit == "分之":
        num, den = term.split("分之", 1)
        top, bottom = numeral_value(den), numeral_value(num)
        return (unit, top / bottom) if top is not None and bottom else None
    value = numeral_value(term[: len(term) - len(unit)]) if unit else None
    return (unit, float(value)) if value is not None else None


def _subsequence(short: str, long: str) -> bool:
    """All characters of ``short`` in order inside ``long`` (外交机构 in 外交代表机构)."""
    chars = iter(long)
    return all(char in chars for char in short)


def _near(a: str, b: str) -> bool:
    """Terms that read as the same thing: one inside the other, or one an abbreviation of the other."""
    return _subsequence(a, b) or _subsequence(b, a)


def _unit(term: str) -> str:
    if "分之" in term:
        return "分之"
    for unit in _UNITS:
        if term.endswith(unit):
            return unit
    return ""


def _category(term: str) -> str | None:
    if _QUANTITY_RE.fullmatch(term):
        return f"quantity:{_unit(term)}"
    for suffix in ORGAN_SUFFIXES:
        if term.endswith(suffix) and len(term) > len(suffix) - (1 if suffix in ("国务院",) else 0):
            return f"organ:{suffix}"
    return None


def _body(chunk: Chunk) -> str:
    """The article's text without its "第X条" label."""
    lines = chunk.text.split("\n")
    first = ARTICLE_RE.sub("", lines[0], count=1).strip()
    return "\n".join([first, *lines[1:]])


def _clauses(chunk: Chunk) -> list[str]:
    """Complete, self-contained sentences of the article that make a fair question."""
    out: list[str] = []
    for para in _body(chunk).split("\n"):
        para = para.strip()
        if not para or para.startswith(("（", "(")) or para.endswith(("：", ":")):
            continue
        for sentence in split_sentences(para):
            if not sentence.endswith("。") or not 16 <= len(sentence) <= 90:
                continue
            if _DEPENDENT_RE.search(sentence) or "：" in sentence or "《" in sentence:
                continue
            out.append(sentence)
    return out


_NOUN_TAGS = frozenset({"n", "nt", "nz", "ns", "nr"})


def _noun_phrases(sentence: str) -> list[str]:
    """Runs of nouns (jieba POS n*, vn inside) as written, headed by a noun of two or more characters."""
    phrases: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        while run and (run[-1][1] not in _NOUN_TAGS or len(run[-1][0]) < 2):
            run.pop()
        phrase = "".join(word for word, _ in run)
        if run and len(run[0][0]) >= 2 and not _FRAGMENT_RE.search(phrase):
            phrases.append(phrase)
        run.clear()

    for word, tag in [*rjieba.tag(sentence), ("。", "x")]:
        if tag in _NOUN_TAGS or (tag == "vn" and run):
            run.append((word, tag))
        else:
            flush()
    return phrases


class QuizGenerator:
    """Generates questions over one corpus of chunks (BM25 neighbours and IDF are the corpus's)."""

    def __init__(self, chunks: Sequence[Chunk], *, seed: int = 0, aliases: AliasNormalizer | None = None) -> None:
        register_words(QUIZ_WORDS)
        self.chunks = [c for c in chunks if c.article]
        self.seed = seed
        self.tokenizer = Tokenizer(aliases or AliasNormalizer.from_file())
        self.index = BM25Index([c.text for c in self.chunks], self.tokenizer)
        self._corpus_text = "\n".join(c.text for c in chunks)
        self._similar: dict[int, list[int]] = {}
        self._term_cache: dict[int, list[str]] = {}
        self._df: Counter[str] = Counter()
        self._terms: list[list[_Candidate]] = []
        for chunk in self.chunks:
            cands = self._candidates(chunk)
            self._terms.append(cands)
        for chunk in self.chunks:
            for term in {t for t in self._all_terms(chunk)}:
                self._df[term] += 1
        self._pool: dict[str, list[str]] = {"noun": []}
        for cands in self._terms:
            for c in cands:
                if c.category == "noun" and c.term not in self._pool["noun"]:
                    self._pool["noun"].append(c.term)
        for chunk in self.chunks:
            for term in self._all_terms(chunk):
                cat = _category(term)
                if cat is not None and term not in self._pool.setdefault(cat, []):
                    self._pool[cat].append(term)

    # --- terms ----------------------------------------------------------------------------------------

    def _terms_of(self, position: int) -> list[str]:
        if position not in self._term_cache:
            self._term_cache[position] = self._all_terms(self.chunks[position])
        return self._term_cache[position]

    def _all_terms(self, chunk: Chunk) -> list[str]:
        """Every number and organ in the article (for the distractor pools)."""
        body = _DATE_RE.sub("", _body(chunk))
        terms = [m.group(0) for m in _QUANTITY_RE.finditer(body)]
        terms += [p for p in _noun_phrases(body) if _category(p) and 2 <= len(p) <= 14]
        return terms

    def _candidates(self, chunk: Chunk) -> list[_Candidate]:
        out: list[_Candidate] = []
        for sentence in _clauses(chunk):
            if _DATE_RE.search(sentence):
                continue
            for m in _QUANTITY_RE.finditer(sentence):
                value = quantity_value(m.group(0))
                if value is None or (value[0] == "年" and value[1] >= 100):
                    continue
                out.append(_Candidate(sentence, m.group(0), f"quantity:{_unit(m.group(0))}", 3.0))
            for phrase in _noun_phrases(sentence):
                if not 2 <= len(phrase) <= 14 or phrase in _VAGUE or phrase[-2:] in _VAGUE:
                    continue
                cat = _category(phrase)
                if cat is not None:
                    out.append(_Candidate(sentence, phrase, cat, 2.0))
                elif len(phrase) >= 3:
                    out.append(_Candidate(sentence, phrase, "noun", 1.0))
        return [c for c in out if c.sentence.count(c.term) == 1 and len(c.sentence) - len(c.term) >= 10]

    def _idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return math.log(1 + (len(self.chunks) - df + 0.5) / (df + 0.5))

    # --- distractors ----------------------------------------------------------------------------------

    def _neighbours(self, position: int) -> list[int]:
        """The article's most similar articles by BM25 (what the retriever would find for its text)."""
        if position not in self._similar:
            hits = self.index.search(self.chunks[position].text, NEIGHBOURS + 1)
            self._similar[position] = [pos for pos, _score in hits if pos != position]
        return self._similar[position]

    def _neighbour_terms(self, position: int, category: str) -> list[str]:
        found: list[str] = []
        for pos in self._neighbours(position):
            if pos == position:
                continue
            for term in self._terms_of(pos):
                if term not in found and (_category(term) or "noun") == category:
                    found.append(term)
        if category == "noun":
            for pos in self._neighbours(position):
                for sentence in _clauses(self.chunks[pos]):
                    for phrase in _noun_phrases(sentence):
                        if 3 <= len(phrase) <= 14 and phrase not in _VAGUE and not _category(phrase) \
                                and phrase not in found:
                            found.append(phrase)
        return found

    def _distractors(self, position: int, cand: _Candidate) -> list[str] | None:
        chunk = self.chunks[position]
        text = chunk.text
        pool = self._neighbour_terms(position, cand.category) + self._pool.get(cand.category, [])
        if cand.category.startswith("quantity:"):
            pool += self._synthetic(cand.term)
        if cand.category == "noun":
            pool = [p for p in pool if abs(len(p) - len(cand.term)) <= 2]
        if cand.category == "noun":  # the same head noun (著作权 for 专利权, 申请书 for 报告书) keeps it plausible
            pool = [p for p in pool if p[-1] == cand.term[-1]]
        chosen: list[str] = []
        taken: set[tuple[str, float]] = set()
        if cand.category.startswith("quantity:"):
            answer = quantity_value(cand.term)
            if answer is None:
                return None
            taken = {v for m in _QUANTITY_RE.finditer(text) if (v := quantity_value(m.group(0)))}
            digits = cand.term[0].isdigit()
            pool = [p for p in pool if p[0].isdigit() == digits]
        for term in pool:
            if term == cand.term or term in text:
                continue
            if not cand.category.startswith("quantity:") and _near(term, cand.term):
                continue
            if cand.category.startswith("quantity:"):
                value = quantity_value(term)
                if value is None or value in taken or (value[0] == "年" and value[1] >= 100):
                    continue  # the same amount written another way, one the article states, or a year
                taken.add(value)
            if cand.sentence.replace(cand.term, term) in self._corpus_text:
                continue  # the clause with this option is also a rule of the corpus: a second right answer
            if not cand.category.startswith("quantity:") and any(_near(term, c) for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == N_OPTIONS - 1:
                return chosen
        return None

    @staticmethod
    def _synthetic(term: str) -> list[str]:
        """Numbers of the same unit on a ladder (in the answer's script) when the corpus has too few."""
        unit = _unit(term)
        if unit == "分之":
            return list(_LADDER["分之"])
        ladder = _LADDER.get(unit, [])
        if term[0].isdigit():
            return [str(numeral_value(step)) + unit for step in ladder]
        return [f"{step}{unit}" for step in ladder]

    # --- questions ------------------------------------------------------------------------------------

    def _ranked(self, position: int) -> list[_Candidate]:
        def score(c: _Candidate) -> tuple[float, str, str]:
            length_fit = 1.0 if 20 <= len(c.sentence) <= 70 else 0.6
            return (-(c.score + min(self._idf(c.term), 6.0) / 6.0) * length_fit, c.sentence, c.term)

        return sorted(self._terms[position], key=score)

    def _build(self, position: int, cand: _Candidate, kind: str, distractors: list[str]) -> Question:
        chunk = self.chunks[position]
        label = chunk.article or ""
        key = hashlib.sha1(f"{chunk.source}|{label}|{chunk.part}|{kind}|{cand.term}".encode()).hexdigest()[:16]
        rng = random.Random(f"{self.seed}:{key}")
        if kind == "cloze":
            options = [cand.term, *distractors]
            head = f"根据《{chunk.title}》{label}，填入空格的是哪一项？"
            stem = f"{head}\n{cand.sentence.replace(cand.term, BLANK)}"
        else:
            options = [cand.sentence, *(cand.sentence.replace(cand.term, d) for d in distractors)]
            stem = f"根据《{chunk.title}》{label}，下列表述正确的是哪一项？"
        order = list(range(N_OPTIONS))
        rng.shuffle(order)
        shuffled = tuple(options[i] for i in order)
        return Question(kind=kind, stem=stem, options=shuffled, answer=order.index(0), source=chunk.source,
                        title=chunk.title, article=label, quote=chunk.text, term=cand.term, clause=cand.sentence,
                        key=key)

    def for_article(self, position: int) -> list[Question]:
        """At most one question of each kind from one article, on different terms (and clauses if possible)."""
        out: list[Question] = []
        used_terms: set[str] = set()
        used_sentences: set[str] = set()
        ranked = self._ranked(position)
        for kind in ("choice", "cloze"):  # the choice needs a number or an organ: it picks first
            fresh = [c for c in ranked if c.term not in used_terms and c.sentence not in used_sentences]
            for cand in fresh or [c for c in ranked if c.term not in used_terms]:
                if kind == "choice" and cand.category == "noun":
                    continue  # a swapped noun too often still reads true; numbers and organs do not
                distractors = self._distractors(position, cand)
                if distractors is None:
                    continue
                question = self._build(position, cand, kind, distractors)
                if check(question):
                    out.append(question)
                    used_terms.add(cand.term)
                    used_sentences.add(cand.sentence)
                    break
        return out

    def generate(self) -> list[Question]:
        questions: list[Question] = []
        seen: set[str] = set()
        for position in range(len(self.chunks)):
            for question in self.for_article(position):
                if question.key not in seen:
                    seen.add(question.key)
                    questions.append(question)
        return questions


def generate(chunks: Iterable[Chunk], *, seed: int = 0) -> list[Question]:
    """Questions from every article chunk; each passes ``check`` (the answer is in its cited article)."""
    return QuizGenerator(list(chunks), seed=seed).generate()
