"""Documents → sentence-packed ``Chunk``s with exact character spans.

Sentences are packed greedily up to ``max_tokens`` tokens of the embedder; the next chunk starts
with the trailing sentences of the previous one that fit in ``overlap_tokens``. A sentence longer
than a chunk is cut at commas (Arabic ``،`` included), then between words. Sentences come from the
index's splitter version (``qa.sentences.SPLITTERS``); headings (Markdown ``#`` or underlined lines,
a document's opening title line standing alone, and its first line when that is its title and a
name, "The Harbour Football Club.", even with a full stop) are marked in ``Chunk.headings`` when the
document has sentences under them. Out of scope: columns and tables' cell structure; a chunk never
spans two documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

from .blocks import Block
from .records import Chunk, Document, Span, content_id
from .sentences import SPLITTER, SPLITTERS, clause_spans, word_spans
from .text import detect_language

TokenCounter = Callable[[str], int]


PASSAGE_VECTORS = ("embedded", "from-sentences")


class ChunkSettings(NamedTuple):
    """How documents become indexed passages; fixed when an index is created (kept in its manifest).

    ``passage_vectors``: ``embedded`` embeds every chunk as well as its sentences; ``from-sentences``
    embeds only the sentences and averages them (ARCD: ingest 1.7x faster, dense R@1 -2 points).
    """

    max_tokens: int = 250
    overlap_tokens: int = 40
    passage_vectors: str = "embedded"
    splitter: int = SPLITTER

    @classmethod
    def from_manifest(cls, recorded: dict) -> ChunkSettings:
        """The settings an index was built with; one from before splitter versions used version 1."""
        return cls(**{"splitter": 1, **recorded})

    def check(self, limit: int | None = None) -> ChunkSettings:
        """Valid settings, or ValueError; ``limit`` is the embedder's input size in tokens."""
        if limit is not None and self.max_tokens > limit:
            raise ValueError(f"max_tokens={self.max_tokens} is more than the embedder reads ({limit} tokens); "
                             f"use {limit} or less (default 250)")
        if self.passage_vectors not in PASSAGE_VECTORS:
            raise ValueError(f"passage_vectors={self.passage_vectors!r}; choose one of: {', '.join(PASSAGE_VECTORS)}")
        if self.splitter not in SPLITTERS:
            raise ValueError(f"splitter={self.splitter}; this version knows splitters "
                             f"{', '.join(map(str, SPLITTERS))}: upgrade qa or rebuild the index")
        if self.max_tokens < 16:
            raise ValueError(f"max_tokens={self.max_tokens} is too small; use 16 or more (default 250)")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError(f"overlap_tokens={self.overlap_tokens} must be >= 0 and below "
                             f"max_tokens={self.max_tokens}")
        return self


class _Unit(NamedTuple):
    span: Span
    tokens: int
    heading: bool = False


def _split_long(text: str, span: Span, tokens: int, limit: int, count: TokenCounter) -> Iterator[_Unit]:
    if tokens <= limit:
        yield _Unit(span, tokens)
        return
    clauses = clause_spans(text, span)
    if len(clauses) > 1:
        for c in clauses:
            yield from _split_long(text, c, count(text[c.start : c.end]), limit, count)
        return
    yield from _word_windows(text, span, limit, count)


def _word_windows(text: str, span: Span, limit: int, count: TokenCounter) -> Iterator[_Unit]:
    words = list(word_spans(text, span))
    i = 0
    while i < len(words):
        j, tokens = i + 1, count(text[words[i].start : words[i].end])
        # Grow a window word by word; token counts are not additive, so recount the window.
        while j < len(words):
            grown = count(text[words[i].start : words[j].end])
            if grown > limit:
                break
            j, tokens = j + 1, grown
        yield _Unit(Span(words[i].start, words[j - 1].end), tokens)
        i = j


_BLANK_LINE = re.compile(r"[ \t\r]*\n[ \t\r]*\n")
_LINE_END = re.compile(r"[ \t\r]*\n")
_TITLE_END = tuple(".!?؟…:;؛,،")
TITLE_WORDS = 20


def _is_title_line(doc: Document, block: Block, first: bool) -> bool:
    """A plain title: a short line standing alone (a blank line after it), without closing
    punctuation, that opens the document or repeats its title (the seed article does both)."""
    text, s = doc.text, block.span
    line = text[s.start : s.end]
    if block.kind != "paragraph" or "\n" in line or line.endswith(_TITLE_END) or len(line.split()) > TITLE_WORDS:
        return False
    if not _BLANK_LINE.match(text, s.end):
        return False
    return first or line.strip().casefold() == doc.title.strip().casefold()


# A name in title case: every Latin-script word capitalised but these (Arabic has no case: any short line).
_MINOR_WORDS = frozenset({"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "al", "el", "de",
                          "la", "le", "du", "von", "van"})
NAME_WORDS = 8


def _is_name(line: str) -> bool:
    words = line.rstrip(".").split()
    latin = [w for w in words if w[:1].isascii() and w[:1].isalpha()]
    return (len(words) <= NAME_WORDS and not any(ch.isdigit() for ch in line)
            and all(w[:1].isupper() or w.casefold() in _MINOR_WORDS for w in latin))


def _is_opening_name(doc: Document, block: Block) -> bool:
    """The document's first line, its title (a reader took it as such), on a line of its own (the
    text goes on after a line break) and a name rather than a sentence ("The Harbour Football
    Club."): a heading even with a full stop. A plain-text note whose first line is a sentence
    ("The bridge opened in 1990.", also its title) keeps it as an answer."""
    text, s = doc.text, block.span
    line = text[s.start : s.end]
    if block.kind != "paragraph" or "\n" in line or not _LINE_END.match(text, s.end):
        return False
    return line.strip().casefold() == doc.title.strip().casefold() and _is_name(line)


def headings(doc: Document, sentences: list[Block]) -> list[bool]:
    """Which sentences are headings; none when nothing but headings would be left to answer from."""
    flags = [b.kind == "heading" or _is_title_line(doc, b, i == 0) or (i == 0 and _is_opening_name(doc, b))
             for i, b in enumerate(sentences)]
    return flags if not all(flags) else [False] * len(flags)


def units(doc: Document, settings: ChunkSettings, count: TokenCounter) -> list[_Unit]:
    out: list[_Unit] = []
    sentences = SPLITTERS[settings.splitter](doc.text)
    for b, heading in zip(sentences, headings(doc, sentences) if settings.splitter > 1 else [False] * len(sentences)):
        s = b.span
        tokens = count(doc.text[s.start : s.end])
        out.extend(u._replace(heading=heading) for u in _split_long(doc.text, s, tokens, settings.max_tokens, count))
    return out


def _pack(items: list[_Unit], settings: ChunkSettings) -> Iterator[list[_Unit]]:
    current: list[_Unit] = []
    size = 0
    for u in items:
        if current and size + u.tokens > settings.max_tokens:
            yield current
            current = _overlap(current, settings.overlap_tokens, settings.max_tokens - u.tokens)
            size = sum(x.tokens for x in current)
        current.append(u)
        size += u.tokens
    if current:
        yield current


def _overlap(previous: list[_Unit], overlap: int, room: int) -> list[_Unit]:
    carried: list[_Unit] = []
    total = 0
    for u in reversed(previous[1:]):
        if total + u.tokens > min(overlap, room):
            break
        carried.insert(0, u)
        total += u.tokens
    return carried


def chunk_document(doc: Document, settings: ChunkSettings, count: TokenCounter) -> list[Chunk]:
    """The chunks of one document, in order; each chunk's text is ``doc.text[start:end]``."""
    chunks = []
    for group in _pack(units(doc, settings.check(), count), settings):
        start, end = group[0].span.start, group[-1].span.end
        lang = detect_language(doc.text[start:end])
        chunks.append(Chunk(
            id=content_id(doc.id, start, end),
            doc_id=doc.id,
            path=doc.path,
            title=doc.title,
            # Per chunk: a mostly English report may quote a whole Arabic passage.
            lang=lang if lang != "other" else doc.lang,
            text=doc.text[start:end],
            start=start,
            end=end,
            sentences=tuple(u.span for u in group),
            headings=tuple(i for i, u in enumerate(group) if u.heading),
        ))
    return chunks
