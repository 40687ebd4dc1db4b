"""Documents uploaded through the console: the kept file, its uploader and the ingest time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import KbDocument


async def record_upload(
    session: AsyncSession, *, source: str, title: str, stored_path: str, size: int, sha256: str, chunks: int,
    uploaded_by: int | None, at: datetime,
) -> KbDocument:
    """Create or replace the record of ``source`` (re-uploading a file replaces it)."""
    doc = await session.get(KbDocument, source)
    if doc is None:
        doc = KbDocument(source=source)
        session.add(doc)
    doc.title, doc.stored_path, doc.size, doc.sha256 = title[:255], stored_path, size, sha256
    doc.chunks, doc.uploaded_by, doc.ingested_at = chunks, uploaded_by, at
    await session.flush()
    return doc


async def documents(session: AsyncSession) -> dict[str, KbDocument]:
    return {d.source: d for d in await session.scalars(select(KbDocument))}


async def forget(session: AsyncSession, *, source: str) -> None:
    await session.execute(delete(KbDocument).where(KbDocument.source == source))
