"""Audience specs: who a broadcast goes to.

A spec is a list of clauses; a member is in the audience if any clause matches (union). A clause maps
kinds (``sector``, ``district``, ``group``, ``topic``) to accepted values; all kinds in a clause must
match (intersection). ``[{}]`` (an empty clause) is everyone. Only active, bound members are recipients.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Member, MemberGroup, MemberPreference

KINDS = ("sector", "district", "group", "topic")
KIND_LABELS = {"sector": "界别", "district": "地区", "group": "小组", "topic": "关注主题"}
Spec = list[dict[str, list[str]]]


class AudienceError(ValueError):
    pass


def parse_target(token: str) -> dict[str, list[str]]:
    """``all`` or ``sector:经济界`` or ``sector:经济界,district:城关区`` (one clause) → a clause."""
    token = token.strip()
    if token in ("all", "全部", ""):
        return {}
    clause: dict[str, list[str]] = defaultdict(list)
    for item in token.split(","):
        kind, sep, value = item.partition(":")
        kind, value = kind.strip(), value.strip()
        if not sep or kind not in KINDS or not value:
            raise AudienceError(f"{item!r}: use all, sector:NAME, district:NAME, group:NAME or topic:NAME")
        if value not in clause[kind]:
            clause[kind].append(value)
    return dict(clause)


def parse_targets(tokens: list[str]) -> Spec:
    """Several ``--to`` values: the union of their clauses (``all`` anywhere means everyone)."""
    clauses = [parse_target(t) for t in tokens] or [{}]
    return [{}] if any(not c for c in clauses) else clauses


def validate(spec: Any) -> Spec:
    if not isinstance(spec, list) or not spec:
        raise AudienceError("audience must be a non-empty list of clauses")
    for clause in spec:
        if not isinstance(clause, dict) or set(clause) - set(KINDS):
            raise AudienceError(f"bad clause {clause!r}")
        for values in clause.values():
            if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
                raise AudienceError(f"bad clause {clause!r}")
    return spec


def describe(spec: Spec) -> str:
    """A short Chinese label such as ``界别：经济界；地区：城关区`` (``全体委员`` for everyone)."""
    if any(not c for c in spec):
        return "全体委员"
    labels = []
    for clause in spec:
        labels.append("，".join(f"{KIND_LABELS[k]}：{'、'.join(v)}" for k, v in clause.items()))
    return "；或 ".join(labels)[:200]


@dataclass(frozen=True)
class Recipient:
    member_id: int
    chat_id: int


@dataclass
class _Facts:
    sector: str
    district: str
    groups: set[str]
    topics: set[str]


def _matches(facts: _Facts, clause: dict[str, list[str]]) -> bool:
    for kind, values in clause.items():
        wanted = set(values)
        if kind == "sector" and facts.sector not in wanted:
            return False
        if kind == "district" and facts.district not in wanted:
            return False
        if kind == "group" and not facts.groups & wanted:
            return False
        if kind == "topic" and not facts.topics & wanted:
            return False
    return True


async def resolve(session: AsyncSession, *, spec: Spec, exclude_roles: tuple[str, ...] = ()) -> list[Recipient]:
    """Active, bound members matching ``spec``, ordered by id (one query per table, filtered in Python)."""
    validate(spec)
    rows = (await session.execute(
        select(Member.id, Member.telegram_id, Member.sector, Member.district, Member.role)
        .where(Member.active.is_(True), Member.telegram_id.is_not(None))
        .order_by(Member.id)
    )).all()
    kinds = {k for clause in spec for k in clause}
    groups: dict[int, set[str]] = defaultdict(set)
    topics: dict[int, set[str]] = defaultdict(set)
    if "group" in kinds:
        for mid, name in await session.execute(select(MemberGroup.member_id, MemberGroup.name)):
            groups[mid].add(name)
    if "topic" in kinds:
        for mid, chosen in await session.execute(select(MemberPreference.member_id, MemberPreference.topics)):
            topics[mid].update(chosen or [])
    out = []
    for mid, telegram_id, sector, district, role in rows:
        if role in exclude_roles or telegram_id is None:  # the query keeps bound members only
            continue
        facts = _Facts(sector or "", district or "", groups.get(mid, set()), topics.get(mid, set()))
        if any(_matches(facts, clause) for clause in spec):
            out.append(Recipient(member_id=mid, chat_id=telegram_id))
    return out


async def choices(session: AsyncSession, *, kind: str) -> list[tuple[str, int]]:
    """Values of ``kind`` among active bound members with their member counts, most common first."""
    counts: dict[str, int] = defaultdict(int)
    base = (Member.active.is_(True), Member.telegram_id.is_not(None))
    if kind in ("sector", "district"):
        column = Member.sector if kind == "sector" else Member.district
        for (value,) in await session.execute(select(column).where(*base)):
            if value:
                counts[value] += 1
    elif kind == "group":
        groups = select(MemberGroup.name).join(Member, Member.id == MemberGroup.member_id).where(*base)
        for (value,) in await session.execute(groups):
            counts[value] += 1
    elif kind == "topic":
        topics = select(MemberPreference.topics).join(Member, Member.id == MemberPreference.member_id).where(*base)
        for (chosen,) in await session.execute(topics):
            for value in chosen or []:
                counts[value] += 1
    else:
        raise AudienceError(f"unknown kind {kind!r}")
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
