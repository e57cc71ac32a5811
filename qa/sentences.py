"""Sentence spans as a reader sees them, in both languages, with exact character offsets.

A text is first cut into blocks by its lines (``blocks``: paragraphs with their soft wraps, list
items, table rows, headings). Inside a block a sentence ends at ? ! ؟ and at "." followed by a
space, except after an abbreviation: titles (Dr., Prof., No.) and initials (J., U.S., a single Arabic letter as in "د.")
never end one; dotted abbreviations and "etc." (p.m., e.g.) end one only when a typical sentence
opening follows ("The", "He" ...). Ellipses ("..", "...", "…") and semicolons never end one.

Splitters are versioned (``SPLITTERS``): an index keeps the splitter it was built with, so chunks of
documents added later are cut the same way. Version 1 is the original splitter (every line break and
every "." before a space ended a sentence). Measured against pysbd on the tricky-case corpus
(``tests/fixtures/sentences``, ``bench/splitters.py``, docs/evaluation.md): ours is kept because it
wins on both languages and keeps exact spans without re-aligning cleaned text.
Out of scope: sentence boundaries without punctuation (run-on text), quotations spanning sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .blocks import Block, blocks, item_text_start
from .records import Span

# Abbreviations that never end a sentence (a title before a name, "No. 5", "Fig. 2", "vs.") ...
_TITLE_WORDS = """mr mrs ms mx dr prof st sr jr messrs mme mlle gen col maj capt cpt lt sgt cmdr adm rev
hon sen rep gov pres supt insp no nos fig figs vol vols pp ch chap art sec para vs cf approx ca mt ft op
eds ed"""
_TITLES = frozenset(_TITLE_WORDS.split())
# ... and those that end one only before a typical sentence opening ("at 5 p.m. The talks ...").
_ENDING_WORDS = """etc inc ltd co corp bros dept univ assn est jan feb mar apr jun jul aug sep
sept oct nov dec mon tue wed thu fri sat sun al إلخ الخ"""
_ENDING_ABBREVIATIONS = frozenset(_ENDING_WORDS.split())
_OPENER_WORDS = """the a an he she it they we i you this that these those there here his her its their our
my in on at but and however then after before when while if as so yet for since although though today
meanwhile later finally also moreover such some many most all each one two no not what who why how where
during"""
_OPENERS = frozenset(_OPENER_WORDS.split())
_WORD_BEFORE = re.compile(r"(?<![\w.])([^\W\d_]+(?:\.[^\W\d_]+)*)$")
_NEXT_WORD = re.compile(r"\s*([\"'“‘«(]*)(\w+)")
_END = re.compile(r"[!?؟]+[\"'”’»)\]]*|\.+[\"'”’»)\]]*|…+[\"'”’»)\]]*")
_CLOSERS = "\"'”’»)]"


def _word_before(text: str, dot: int) -> str:
    """The word (letters, inner dots allowed: "U.S", "p.m") that ends just before ``text[dot]``."""
    window = text[max(0, dot - 24) : dot]
    m = _WORD_BEFORE.search(window)
    return m.group(1) if m else ""


def _is_abbreviation_end(text: str, dot: int, block_end: int) -> bool:
    """Whether the "." at ``dot`` closes an abbreviation that does not end the sentence."""
    word = _word_before(text, dot)
    if not word:
        return False
    folded = word.casefold()
    if folded in _TITLES or len(word) == 1 and (word.isupper() or "\u0600" <= word <= "\u06ff"):
        return True
    if "." not in word and folded not in _ENDING_ABBREVIATIONS:
        return False
    nxt = _NEXT_WORD.match(text, dot + 1, block_end)
    if nxt is None:
        return False  # the block ends here: so does the sentence
    following = nxt.group(2)
    opens = following[:1].isupper() and following.casefold() in _OPENERS
    return not (opens or "\u0600" <= following[:1] <= "\u06ff" and folded in ("إلخ", "الخ"))


def _ends(text: str, block: Block) -> Iterator[int]:
    """Offsets just past each sentence end inside ``block`` (the block's own end not included)."""
    start, end = block.span.start, block.span.end
    if block.kind == "item":  # not the "1." of "1. Open the valve."
        start = item_text_start(text, start)
    for m in _END.finditer(text, start, end):
        mark = m.group(0).rstrip(_CLOSERS)
        after = m.end()
        if after < end and not text[after].isspace():
            continue  # 3.5, e.g.x, "?!" glued to a word: not an end
        if mark.startswith("…") or (mark.startswith(".") and len(mark) > 1):
            continue  # an ellipsis does not end a sentence
        if _lower_follows(text, after, end) or mark == "." and _is_abbreviation_end(text, m.start(), end):
            continue  # '"Is it safe?" she asked.', "approx. five", "Dr. Smith"
        yield after


def _lower_follows(text: str, pos: int, end: int) -> bool:
    m = _NEXT_WORD.match(text, pos, end)
    return m is not None and m.group(2)[:1].islower()


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def _merge_punctuation_only(text: str, spans: list[Span]) -> list[Span]:
    """A fragment with no letter or digit (a stray quote, "...", a table rule) joins the sentence before it."""
    out: list[Span] = []
    for s in spans:
        if out and not any(c.isalnum() for c in text[s.start : s.end]):
            out[-1] = Span(out[-1].start, s.end)
        else:
            out.append(s)
    return out


def sentence_blocks(text: str, start: int = 0, end: int | None = None) -> list[Block]:
    """Sentences of ``text[start:end]`` with the kind of the block each comes from (a heading or a
    table row is one sentence; a paragraph or a list item may hold several)."""
    out: list[Block] = []
    for block in blocks(text, start, end):
        pos = block.span.start
        cuts = [] if block.kind in ("heading", "row") else list(_ends(text, block))
        for cut in [*cuts, block.span.end]:
            span = _trimmed(text, pos, cut)
            if span is not None:
                out.append(Block(span, block.kind))
            pos = cut
    merged = _merge_punctuation_only(text, [b.span for b in out])
    kinds = {b.span.start: b.kind for b in out}
    return [Block(s, kinds[s.start]) for s in merged]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Spans of the sentences of ``text[start:end]``, trimmed of surrounding whitespace."""
    return [b.span for b in sentence_blocks(text, start, end)]


# Version 1, kept so that an index built with it cuts its new documents the same way.
_END_V1 = re.compile(r"(?:[!?؟؛…]+|\.(?=\s|$|[\"'”’»)\]]))[\"'”’»)\]]*|\n")


def sentence_spans_v1(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """The original splitter: every line break and every "." before a space ends a sentence."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    pos = start
    for m in _END_V1.finditer(text, start, end):
        span = _trimmed(text, pos, m.end())
        if span is not None:
            spans.append(span)
        pos = m.end()
    span = _trimmed(text, pos, end)
    if span is not None:
        spans.append(span)
    return _merge_punctuation_only(text, spans)


def _v1_blocks(text: str, start: int = 0, end: int | None = None) -> list[Block]:
    return [Block(s, "paragraph") for s in sentence_spans_v1(text, start, end)]


SPLITTERS: dict[int, Callable[..., list[Block]]] = {1: _v1_blocks, 2: sentence_blocks}
SPLITTER = 2  # the version new indexes are built with


_CLAUSE = re.compile(r"[،,;:؛]")


def clause_spans(text: str, span: Span) -> list[Span]:
    """Split one over-long sentence at commas and semicolons (Arabic ``،`` ``؛`` included), keeping them."""
    pieces: list[Span] = []
    pos = span.start
    for m in _CLAUSE.finditer(text, span.start, span.end):
        piece = _trimmed(text, pos, m.end())
        if piece is not None:
            pieces.append(piece)
        pos = m.end()
    last = _trimmed(text, pos, span.end)
    if last is not None:
        pieces.append(last)
    return pieces


_WORD = re.compile(r"\S+")


def word_spans(text: str, span: Span) -> Iterator[Span]:
    for m in _WORD.finditer(text, span.start, span.end):
        yield Span(m.start(), m.end())
