"""Learning materials: created by staff (console or Telegram), listed for members by topic, new, required."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.learning.pages import split_pages
from store.models import LearningMaterial
from store.models.learning import MATERIAL_KINDS

MAX_TITLE = 200
MAX_BODY = 200_000
MAX_MINUTES = 600


class MaterialError(ValueError):
    """A material that cannot be saved as given; ``code`` names the problem (texts map it to Chinese)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class MaterialInput:
    """What staff give for a new material (the console's form, the Telegram upload's card)."""

    title: str
    kind: str
    body: str
    estimated_minutes: int
    topics: Sequence[str] = ()
    source_label: str | None = None
    kb_source: str | None = None
    file_name: str | None = None
    link_url: str | None = None
    required_from: date | None = None
    required_until: date | None = None
    required_label: str | None = None


def validate(data: MaterialInput, *, catalogue: Sequence[str] = ()) -> None:
    """Raise ``MaterialError`` for what cannot be saved (topics must come from ``catalogue`` when given)."""
    if data.kind not in MATERIAL_KINDS:
        raise MaterialError("kind")
    if not data.title.strip() or len(data.title.strip()) > MAX_TITLE:
        raise MaterialError("title")
    if data.kind != "link" and not data.body.strip():
        raise MaterialError("body")
    if len(data.body) > MAX_BODY:
        raise MaterialError("body_too_long")
    if data.kind == "link" and not (data.link_url or "").startswith(("https://", "http://")):
        raise MaterialError("link")
    if not 1 <= data.estimated_minutes <= MAX_MINUTES:
        raise MaterialError("minutes")
    if catalogue and any(t not in catalogue for t in data.topics):
        raise MaterialError("topic")
    if (data.required_from is None) != (data.required_until is None):
        raise MaterialError("required")
    if data.required_from and data.required_until and data.required_from > data.required_until:
        raise MaterialError("required")


async def create_material(
    session: AsyncSession, *, data: MaterialInput, created_by: int | None, now: datetime,
    catalogue: Sequence[str] = (),
) -> LearningMaterial:
    """Validate and add a material (active at once)."""
    validate(data, catalogue=catalogue)
    title = data.title.strip()
    material = LearningMaterial(
        title=title,
        kind=data.kind,
        source_label=(data.source_label or title).strip()[:MAX_TITLE],
        body=data.body.strip(),
        kb_source=data.kb_source,
        file_name=data.file_name,
        link_url=data.link_url,
        topics=list(dict.fromkeys(t.strip() for t in data.topics if t.strip())),
        estimated_minutes=data.estimated_minutes,
        required_from=data.required_from,
        required_until=data.required_until,
        required_label=(data.required_label or "").strip()[:64] or None,
        created_by=created_by,
        created_at=now,
        active=True,
    )
    session.add(material)
    await session.flush()
    return material


async def get_material(
    session: AsyncSession, *, material_id: int, active_only: bool = True
) -> LearningMaterial | None:
    material = await session.get(LearningMaterial, material_id)
    if material is None or (active_only and not material.active):
        return None
    return material


async def set_active(session: AsyncSession, *, material_id: int, active: bool) -> LearningMaterial | None:
    material = await session.get(LearningMaterial, material_id)
    if material is not None:
        material.active = active
        await session.flush()
    return material


async def all_materials(session: AsyncSession, *, active_only: bool = False) -> list[LearningMaterial]:
    """Every material, newest first (the console's list; a committee has tens to hundreds)."""
    stmt = select(LearningMaterial).order_by(LearningMaterial.created_at.desc(), LearningMaterial.id.desc())
    if active_only:
        stmt = stmt.where(LearningMaterial.active.is_(True))
    return list(await session.scalars(stmt))


async def newest(session: AsyncSession, *, limit: int = 8) -> list[LearningMaterial]:
    return list(await session.scalars(
        select(LearningMaterial).where(LearningMaterial.active.is_(True))
        .order_by(LearningMaterial.created_at.desc(), LearningMaterial.id.desc()).limit(limit)
    ))


def is_required(material: LearningMaterial, *, today: date) -> bool:
    return (material.required_from is not None and material.required_until is not None
            and material.required_from <= today <= material.required_until)


async def required(session: AsyncSession, *, today: date) -> list[LearningMaterial]:
    """Active materials required (必学) on ``today``, the earliest deadline first."""
    rows = await session.scalars(
        select(LearningMaterial).where(
            LearningMaterial.active.is_(True),
            LearningMaterial.required_from <= today,
            LearningMaterial.required_until >= today,
        ).order_by(LearningMaterial.required_until, LearningMaterial.id)
    )
    return list(rows)


async def by_topic(session: AsyncSession, *, topic: str, limit: int = 8) -> list[LearningMaterial]:
    """Active materials tagged with ``topic``, newest first (filtered here: JSON containment differs by
    database, and the library is small)."""
    return [m for m in await all_materials(session, active_only=True) if topic in (m.topics or [])][:limit]


async def topics_in_use(session: AsyncSession, *, catalogue: Sequence[str]) -> list[str]:
    """Topics of ``catalogue`` (the /settings order) that at least one active material carries."""
    used = {t for m in await all_materials(session, active_only=True) for t in (m.topics or [])}
    return [t for t in catalogue if t in used] + sorted(used - set(catalogue))


def pages_of(material: LearningMaterial) -> list[str]:
    """The pages read in Telegram; a link without text has one page (its address)."""
    body = material.body or ""
    if not body.strip() and material.link_url:
        return [material.link_url]
    return split_pages(body)


def join_chunks(texts: Sequence[str]) -> str:
    """The text of a knowledge-base document from its chunks in document order (a repeated heading line,
    which the chunker puts above each part of a long article, kept once)."""
    lines: list[str] = []
    for text in texts:
        for line in text.split("\n"):
            if line.strip() and (not lines or line != lines[-1]) and not (line.endswith(("：", ":")) and line in lines):
                lines.append(line)
    return "\n".join(lines)
