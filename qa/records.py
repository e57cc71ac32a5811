"""Record types that flow between the stages: Document → Chunk → Hit → Answer.

Every record is a frozen dataclass; a stage returns new records instead of mutating old ones.
Ids come from content hashes so that the same text always gets the same id.
Out of scope: persistence (``store``, ``generation``) and JSON rendering beyond ``to_dict``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def content_id(*parts: object, size: int = 16) -> str:
    """A short, stable hex id derived from the given parts."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return h.hexdigest()[:size]


@dataclass(frozen=True)
class Document:
    """One source document with its original text (never normalised)."""

    id: str
    title: str
    path: str
    lang: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    """A half-open character span ``[start, end)`` in a document's original text."""

    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: its text is exactly ``document.text[start:end]``.

    ``sentences`` holds the spans of the sentences inside the chunk, in document offsets;
    ``headings`` the positions in ``sentences`` of section headings (context, never an answer).
    """

    id: str
    doc_id: str
    path: str
    title: str
    lang: str
    text: str
    start: int
    end: int
    sentences: tuple[Span, ...]
    headings: tuple[int, ...] = ()

    def sentence_text(self, span: Span) -> str:
        return self.text[span.start - self.start : span.end - self.start]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sentences"] = [[s.start, s.end] for s in self.sentences]
        if not self.headings:
            del d["headings"]  # stores without headings stay readable by versions before the field
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        spans = tuple(Span(int(a), int(b)) for a, b in d["sentences"])
        return cls(**{**d, "sentences": spans, "headings": tuple(int(i) for i in d.get("headings", ()))})


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk: 1-based rank, ranking score (fused in hybrid mode), raw cosine if dense.

    ``row`` is the chunk's position in the index snapshot that produced the hit.
    """

    rank: int
    score: float
    chunk: Chunk
    dense: float | None = None
    row: int = -1

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "score": self.score, "dense": self.dense,
                "chunk": self.chunk.to_dict()}


@dataclass(frozen=True)
class Citation:
    """Where the ``[n]`` in an answer leads: the cited sentence and its passage (and, for a PDF,
    the page the sentence starts on, counted from 1).

    ``answer_start``/``answer_end``, when set, are the document offsets of the short answer (a
    number, date or name) inside the sentence; None where locating it would be a guess."""

    n: int
    doc_id: str
    title: str
    path: str
    chunk_id: str
    lang: str
    sentence: str
    start: int
    end: int
    passage_start: int
    passage_end: int
    score: float
    page: int | None = None
    answer_start: int | None = None
    answer_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """A grounded answer. ``abstained`` answers keep the closest passages in ``passages``;
    ``evidence`` is the calibrated score of the best sentence, compared with the abstention threshold.

    ``generator`` names what was asked to write the answer (``extractive`` or a generator spec);
    ``unsupported`` lists the generated sentences the verifier dropped; ``fallback`` is True when
    the extractive answer stands in for a generated one, and ``notice`` says why."""

    question: str
    text: str
    language: str
    abstained: bool
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]
    cross_lingual: bool = False
    evidence: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    generator: str = "extractive"
    unsupported: tuple[str, ...] = ()
    fallback: bool = False
    notice: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "language": self.language,
            "abstained": self.abstained,
            "cross_lingual": self.cross_lingual,
            "evidence": self.evidence,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [h.to_dict() for h in self.passages],
            "timings": dict(self.timings),
            "generator": self.generator,
            "unsupported": list(self.unsupported),
            "fallback": self.fallback,
            "notice": self.notice,
        }
