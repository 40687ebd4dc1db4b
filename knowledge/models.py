"""Value objects shared across the knowledge package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DocumentMeta:
    """Document-level metadata taken from the metadata line, the H1 heading or the file name."""

    source: str
    title: str
    issuer: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Chunk:
    """One retrievable unit: an article (or part of one) or a section of prose."""

    source: str
    title: str
    text: str
    ordinal: int
    article: str | None = None
    chapter: str | None = None
    section: str | None = None
    part: int = 0
    issuer: str | None = None
    version: str | None = None

    @property
    def label(self) -> str | None:
        """The citable label: the article if any, else the section heading."""
        return self.article or self.section

    def indexed_text(self) -> str:
        """Text given to the retrievers: "title | chapter | article" header, then the body."""
        return indexed_text(self.title, self.chapter, self.label, self.text)

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "source": self.source,
            "title": self.title,
            "ordinal": self.ordinal,
            "part": self.part,
        }
        for key in ("article", "chapter", "section", "issuer", "version"):
            value = getattr(self, key)
            if value:
                meta[key] = value
        return meta

    @classmethod
    def from_stored(cls, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            source=str(meta["source"]),
            title=str(meta.get("title") or meta["source"]),
            text=text,
            ordinal=int(meta.get("ordinal", 0)),
            article=meta.get("article") or None,
            chapter=meta.get("chapter") or None,
            section=meta.get("section") or None,
            part=int(meta.get("part", 0)),
            issuer=meta.get("issuer") or None,
            version=meta.get("version") or None,
        )


def indexed_text(title: str, chapter: str | None, label: str | None, body: str) -> str:
    head = " | ".join(part for part in (title, chapter, label) if part)
    return f"{head}\n{body}" if head else body


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score, in the shape of ``kb search --json``."""

    source: str
    title: str
    article: str | None
    text: str
    score: float
    chapter: str | None = None
    section: str | None = None
    chunk_id: str = ""

    @property
    def label(self) -> str | None:
        return self.article or self.section

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "title": self.title,
            "article": self.article,
            "text": self.text,
            "score": round(float(self.score), 6),
        }


@dataclass(frozen=True)
class Citation:
    """A checked reference to a retrieved passage, e.g. 《中国人民政治协商会议章程》第二十八条."""

    source: str
    title: str
    label: str | None

    def __str__(self) -> str:
        if self.label is None:
            return f"《{self.title}》"
        if self.label.startswith("第") or self.label in ("总纲", "序言"):
            return f"《{self.title}》{self.label}"
        return f"《{self.title}》“{self.label}”"


@dataclass
class Answer:
    """What the bot sends back: ready-to-send text plus the evidence it rests on."""

    answered: bool
    text: str
    passages: list[Passage] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    mode: str = "extractive"  # "extractive" | "llm" | "refusal" | "faq"
    confidence: float = 0.0  # dense cosine of the quoted passage (lexical coverage without dense)
    query: str = ""
    support: float | None = None  # lexical support of the quoted passage (see answering.has_evidence)
    # The three-way decision: "answer" (quoted and cited), "candidates" (no direct answer, up to three
    # possibly relevant articles offered), "refusal" (not covered). ``answered`` is decision == "answer".
    decision: str = ""
    candidates: list[Citation] = field(default_factory=list)
    probability: float | None = None  # calibrated probability that the first passage answers the question

    def __post_init__(self) -> None:
        if not self.decision:
            self.decision = "answer" if self.answered else "refusal"


@dataclass
class FileOutcome:
    path: str
    source: str
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    clauses: int = 0  # clause vectors embedded (sentences and items of numbered articles)
    error: str | None = None


@dataclass
class IngestReport:
    """Per-file results of an ingest run; files that failed are listed with their reason."""

    files: list[FileOutcome] = field(default_factory=list)

    @property
    def ingested(self) -> list[FileOutcome]:
        return [f for f in self.files if f.error is None]

    @property
    def skipped(self) -> list[FileOutcome]:
        return [f for f in self.files if f.error is not None]

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.ingested)

    @property
    def embedded(self) -> int:
        return sum(f.embedded for f in self.ingested)

    @property
    def reused(self) -> int:
        return sum(f.reused for f in self.ingested)

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.ingested)

    @property
    def clauses(self) -> int:
        return sum(f.clauses for f in self.ingested)


@dataclass(frozen=True)
class SourceInfo:
    source: str
    title: str
    chunks: int
    issuer: str | None = None
    version: str | None = None
