"""Alias normalisation (政协 ↔ 中国人民政治协商会议 …) from a small editable synonym list."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

DEFAULT_SYNONYMS = Path(__file__).with_name("synonyms.txt")


def parse_synonyms(lines: Iterable[str]) -> dict[str, str]:
    """Parse ``canonical = alias, alias`` lines into an alias → canonical map."""
    mapping: dict[str, str] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line or "=" not in line:
            continue
        canonical, aliases = (part.strip() for part in line.split("=", 1))
        if not canonical:
            continue
        for alias in re.split(r"[,，、]", aliases):
            alias = alias.strip()
            if alias and alias != canonical:
                mapping[alias] = canonical
    return mapping


class AliasNormalizer:
    """Rewrites every alias to its canonical form, longest alias first, in one pass."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = dict(mapping)
        # Canonical forms match themselves, so "奏唱国歌" is not re-read as "奏" + alias "唱国歌".
        self._table = {**{c: c for c in self.mapping.values()}, **self.mapping}
        aliases = sorted(self._table, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, aliases))) if aliases else None

    @classmethod
    def from_file(cls, path: Path | None = None) -> AliasNormalizer:
        return _load(str(path or DEFAULT_SYNONYMS))

    @property
    def canonical_terms(self) -> set[str]:
        return set(self.mapping.values())

    def normalize(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._table[m.group(0)], text)


@lru_cache(maxsize=8)
def _load(path: str) -> AliasNormalizer:
    file = Path(path)
    lines = file.read_text(encoding="utf-8").splitlines() if file.exists() else []
    return AliasNormalizer(parse_synonyms(lines))
