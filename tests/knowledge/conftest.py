"""Fixtures for the knowledge tests: the shared kb-samples, a fast hashed embedder, a temp KB."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from knowledge.config import KnowledgeConfig, Thresholds
from knowledge.embedders import HashEmbedder
from knowledge.service import KnowledgeBase
from tests.support.environment import missing

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = Path(os.environ.get("CPPCC_SHARED_DIR") or REPO_ROOT / ".." / "shared").resolve()
    if not (path / "kb-samples").is_dir():
        message = f"kb-samples not found under {path} (set CPPCC_SHARED_DIR)"
        missing(message)
    return path


@pytest.fixture(scope="session")
def samples(shared_dir: Path) -> Path:
    return shared_dir / "kb-samples"


@pytest.fixture(scope="session")
def sample_docs(samples: Path) -> list[Path]:
    return sorted(p for p in samples.glob("*.md") if p.name != "SOURCES.md")


class CountingEmbedder(HashEmbedder):
    """The hashed fake, counting how many passages it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.passages_embedded = 0

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        items = list(texts)
        self.passages_embedded += len(items)
        return super().embed_passages(items)


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def config(tmp_path: Path) -> KnowledgeConfig:
    return KnowledgeConfig(persist_dir=tmp_path / "chroma", embedder="hash", thresholds=Thresholds(min_dense=0.1))


@pytest.fixture
def kb(config: KnowledgeConfig, embedder: CountingEmbedder) -> Iterator[KnowledgeBase]:
    yield KnowledgeBase.open(config, embedder=embedder)
