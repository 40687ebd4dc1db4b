"""Live knowledge base across processes: a revision in the Chroma collection's metadata.

Every process keeps an in-memory mirror of the stored chunks (BM25, the id map). Whoever changes the
collection (the console, ``kb ingest``, another bot) writes a new random revision into the collection's
metadata; every other process reads it at most once per ``interval`` seconds when it is about to search,
and rebuilds its mirror from Chroma when it changed. This works the same with a local PersistentClient
shared by several processes and with a Chroma server, and needs nothing outside ``knowledge``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REVISION_KEY = "kb_revision"
DEFAULT_INTERVAL = 1.0  # seconds between two looks at the revision


class LiveRevision:
    """Watches one collection's revision; ``refresh()`` calls ``reload`` when another process changed it."""

    def __init__(
        self,
        collection: Any,
        reload: Callable[[], None],
        *,
        interval: float = DEFAULT_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.collection = collection
        self.reload = reload
        self.interval = interval
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._checked = monotonic()
        self.seen = self.current()

    def _metadata(self) -> dict[str, Any]:
        """The collection's metadata as stored now (not the copy cached on our collection object)."""
        client = getattr(self.collection, "_client", None)
        if client is not None:
            try:
                return dict(client.get_collection(self.collection.name).metadata or {})
            except Exception as exc:  # a transient server error must not fail a question
                log.warning("could not read the knowledge base revision: %s", exc)
                return dict(self.collection.metadata or {})
        return dict(self.collection.metadata or {})

    def current(self) -> str | None:
        value = self._metadata().get(REVISION_KEY)
        return str(value) if value is not None else None

    def bump(self) -> str:
        """Announce a change made by this process (after it is stored in Chroma)."""
        revision = uuid.uuid4().hex
        metadata = {k: v for k, v in self._metadata().items() if not k.startswith("hnsw:")}
        metadata[REVISION_KEY] = revision
        self.collection.modify(metadata=metadata)
        with self._lock:
            self.seen = revision
            self._checked = self.monotonic()
        return revision

    def refresh(self, *, force: bool = False) -> bool:
        """Reload if another process changed the collection; looks at most once per ``interval``."""
        now = self.monotonic()
        with self._lock:
            if not force and 0 <= now - self._checked < self.interval:
                return False
            self._checked = now
        revision = self.current()
        if revision == self.seen:
            return False
        self.reload()
        with self._lock:
            self.seen = revision
        log.info("knowledge base changed elsewhere (revision %s): index reloaded", revision)
        return True


def reopen_local_client(client: Any, persist_dir: Path) -> Any | None:
    """A fresh PersistentClient on ``persist_dir``, or None when ``client`` is not a local persistent one.

    A local Chroma keeps its vector index in memory per process and does not see vectors another process
    added since it opened (its ``get(include=["embeddings"])`` even fails on them); a new client reads the
    index as stored now. Chroma caches one system per path, so the cache is cleared first (clients already
    handed out keep working). A Chroma server needs none of this: it is one index for everybody.
    """
    try:
        if not client.get_settings().is_persistent:
            return None
    except Exception:
        return None
    from chromadb.api.shared_system_client import SharedSystemClient

    from knowledge.index.chroma_store import make_client

    SharedSystemClient.clear_system_cache()
    return make_client(persist_dir, None)
