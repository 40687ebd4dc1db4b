"""Maps bot settings onto the knowledge package's plain configuration and opens the knowledge base."""

from __future__ import annotations

import logging

from bot.settings import Settings
from knowledge.config import KnowledgeConfig
from knowledge.service import KnowledgeBase
from knowledge.starter import STARTER_DIR

log = logging.getLogger(__name__)


def knowledge_config_from(settings: Settings) -> KnowledgeConfig:
    return KnowledgeConfig(
        persist_dir=settings.chroma_dir,
        chroma_url=settings.chroma_url,
        embedder=settings.embedder,
        embeddings_base_url=settings.embeddings_base_url,
        embeddings_api_key=settings.embeddings_api_key,
        embeddings_model=settings.embeddings_model,
        llm_base_url=settings.llm_base_url,
        llm_api_key=settings.llm_api_key,
        llm_model=settings.llm_model,
        llm_rerank=settings.llm_rerank,
    )


def open_knowledge_base(settings: Settings, *, with_starter: bool | None = None) -> KnowledgeBase:
    """Open the KB; with STARTER_KB (default on) make sure the committee's starter guides are in it.

    Re-ingesting unchanged guides costs no embedding (content-addressed chunks), so this is cheap.
    """
    kb = KnowledgeBase.open(knowledge_config_from(settings))
    if (settings.starter_kb if with_starter is None else with_starter) and kb.embedder is not None:
        report = kb.ingest([STARTER_DIR])
        if report.embedded:
            log.info("starter guides indexed: %d chunks embedded", report.embedded)
    return kb
