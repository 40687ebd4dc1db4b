"""Photos of micro-proposals kept as files in the data dir, not only as Telegram file ids.

The bot downloads each submitted photo outside any transaction: ``claim_downloads`` leases rows with a
conditional UPDATE (committed before the download, so two workers never fetch one photo at once),
``record_download`` stores the file's name relative to the photo folder, ``download_failed`` keeps the
file id and retries later with back-off. The console serves a stored file through ``stored_file`` only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import ProposalPhoto

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
ALLOWED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


@dataclass(frozen=True)
class Download:
    """One claimed photo to fetch: its row, the Telegram file id and the file name to store it under."""

    photo_id: int
    proposal_id: int
    file_id: str
    name: str


def file_name(photo: ProposalPhoto, suffix: str = ".jpg") -> str:
    """A safe file name of our own (never the member's): ``<proposal>-<photo>-<unique id>.jpg``."""
    suffix = suffix.lower() if suffix.lower() in ALLOWED_SUFFIXES else ".jpg"
    return f"{photo.proposal_id}-{photo.id}-{_SAFE.sub('', photo.file_unique_id)[:40] or 'photo'}{suffix}"


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        ProposalPhoto.local_path.is_(None),
        ProposalPhoto.fetch_attempts < MAX_ATTEMPTS,
        or_(ProposalPhoto.fetch_after.is_(None), ProposalPhoto.fetch_after <= now),
    )


async def claim_downloads(session: AsyncSession, *, now: datetime, limit: int = 10) -> list[Download]:
    """Lease up to ``limit`` photos still to download; commit before downloading. Each row is taken by a
    conditional UPDATE on what was read (attempts, lease), so a concurrent claimer on another worker gets
    other rows or none."""
    rows = (await session.execute(
        select(ProposalPhoto.id, ProposalPhoto.fetch_attempts, ProposalPhoto.fetch_after)
        .where(*_due(now)).order_by(ProposalPhoto.id).limit(limit)
    )).all()
    claimed: list[Download] = []
    for photo_id, attempts, after in rows:
        lease_cond = ProposalPhoto.fetch_after.is_(None) if after is None else ProposalPhoto.fetch_after == after
        result = await session.execute(
            update(ProposalPhoto)
            .where(ProposalPhoto.id == photo_id, ProposalPhoto.fetch_attempts == attempts,
                   ProposalPhoto.local_path.is_(None), lease_cond)
            .values(fetch_attempts=attempts + 1, fetch_after=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            continue
        photo = await session.get(ProposalPhoto, photo_id)
        if photo is None:
            continue
        await session.refresh(photo)
        claimed.append(Download(photo.id, photo.proposal_id, photo.file_id, file_name(photo)))
    return claimed


async def record_download(session: AsyncSession, *, photo_id: int, name: str) -> None:
    await session.execute(
        update(ProposalPhoto).where(ProposalPhoto.id == photo_id).values(local_path=name, fetch_after=None)
        .execution_options(synchronize_session=False)
    )


async def download_failed(session: AsyncSession, *, photo_id: int, now: datetime) -> None:
    """Keep the file id; try again later (30 s, 1 min, 2 min … up to an hour) until ``MAX_ATTEMPTS``."""
    photo = await session.get(ProposalPhoto, photo_id)
    if photo is None:
        return
    await session.refresh(photo)
    delay = timedelta(seconds=min(3600, 30 * 2 ** max(0, photo.fetch_attempts - 1)))
    photo.fetch_after = now + delay
    await session.flush()


async def get_photo(session: AsyncSession, *, proposal_id: int, photo_id: int) -> ProposalPhoto | None:
    photo = await session.get(ProposalPhoto, photo_id)
    return photo if photo is not None and photo.proposal_id == proposal_id else None


def stored_file(photo_dir: Path | None, photo: ProposalPhoto) -> Path | None:
    """The downloaded file of ``photo`` inside ``photo_dir``, or None (not downloaded, missing, or a stored
    name that would leave the folder)."""
    if photo_dir is None or not photo.local_path or "/" in photo.local_path or "\\" in photo.local_path:
        return None
    root = photo_dir.resolve()
    path = (root / photo.local_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
