"""Blocks of a text as a reader sees its lines: paragraphs, list items, table rows and headings.

A blank line ends a paragraph; a Markdown heading (``# ...``, or a line underlined with ``===``/``---``),
a list item (``-``, ``*``, ``•``, ``1.``, ``١.``) and a table row (``| a | b |``) are blocks of their own.
Inside a paragraph a line break is a soft wrap (PDF lines, hard-wrapped text) when the next line starts
in lower case, the line ends in a comma, hyphen or a word that cannot end a sentence ("is", "the", "في"),
or the line is as long as wrapped lines are; otherwise (short lines such as "Name: ..." / "Date: ...") it
ends the block. Where sentences end inside a block is ``sentences``' concern.
Out of scope: nested lists, tables whose rows wrap, HTML (the readers turn it into text first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from .records import Span

# A heading line, a list item's marker, a table row, an underline (setext heading or rule).
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}[ \t]+\S")
_BULLET = re.compile(r"[ \t]*(?:[-*+•·▪‣◦–]|[0-9٠-٩]{1,3}[.)]|[a-zA-Z][.)])[ \t]+\S")
_ROW = re.compile(r"[ \t]*\|.*\|[ \t]*$")
_UNDERLINE = re.compile(r"[ \t]{0,3}(?:=+|-{2,})[ \t]*$")
_TERMINAL = tuple(".!?؟…:;؛\"'”’»)")
_SOFT_END = re.compile(
    r"(?:[,،\-–]|\b(?:a|an|the|of|to|in|on|at|by|for|with|from|and|or|but|as|is|are|was|were|be|been|"
    r"has|have|had|that|which|who|whose|its|their|his|her|our|this|these|those|than|into|onto|via|per|"
    r"not|no|very|will|would|can|could|should|may|might|must|do|does|did|about|between|after|before)"
    r"|(?:^|\s)(?:في|من|على|إلى|الى|عن|مع|أن|ان|إن|لم|لن|قد|التي|الذي|الذين|هذا|هذه|ذلك|تلك|بين|حول|"
    r"بعد|قبل|منذ|خلال|عند|أو|او|ثم|بل|لكن|حتى|كان|كانت|هو|هي|و|ف|ب|ل|ك))[ \t]*$", re.IGNORECASE)
WRAP_CHARS = 40  # a line at least this long, not ending a sentence, is taken for a wrapped line


class Block(NamedTuple):
    """A paragraph, list item, table row or heading: ``kind`` is one of those four words."""

    span: Span
    kind: str


def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        yield pos, stop
        pos = stop + 1


def _line_kind(line: str) -> str:
    if not line.strip():
        return "blank"
    if _HEADING.match(line):
        return "heading"
    if _ROW.match(line):
        return "row"
    if _BULLET.match(line):
        return "item"
    return "text"


def _soft_break(previous: str, following: str) -> bool:
    """A line break inside a paragraph that does not end a sentence (a wrap)."""
    prev, nxt = previous.rstrip(), following.lstrip()
    if not prev or prev.endswith(_TERMINAL):
        return True  # a real sentence end is found by the punctuation itself
    if nxt[:1].islower() or _SOFT_END.search(prev):
        return True
    return len(prev.strip()) >= WRAP_CHARS


def blocks(text: str, start: int = 0, end: int | None = None) -> list[Block]:
    """The blocks of ``text[start:end]`` with their kinds, in order (blank lines belong to none).

    A paragraph line that cannot join the line before it (a hard break) starts a new paragraph."""
    end = len(text) if end is None else end
    out: list[Block] = []
    open_kind: str | None = None  # the kind of the block the previous line belongs to, if it can grow
    last_line = ""
    for a, b in _lines(text, start, end):
        line = text[a:b]
        kind = _line_kind(line)
        if (kind == "text" and _UNDERLINE.match(line) and open_kind == "paragraph"
                and "\n" not in text[out[-1].span.start : out[-1].span.end]):
            out[-1] = Block(Span(out[-1].span.start, b), "heading")  # setext heading: title + underline
            open_kind = None
            continue
        if kind == "blank":
            open_kind = None
            continue
        grows = kind == "text" and open_kind in ("paragraph", "item") and _soft_break(last_line, line)
        if grows:
            out[-1] = Block(Span(out[-1].span.start, b), out[-1].kind)
        else:
            new_kind = {"text": "paragraph", "item": "item"}.get(kind, kind)
            out.append(Block(Span(a, b), new_kind))
            open_kind = new_kind if new_kind in ("paragraph", "item") else None
        last_line = line
    return out


def item_text_start(text: str, start: int) -> int:
    """Where the sentences of the list item at ``start`` begin: past its marker (at the last character
    the marker's pattern reads), so that the "1." of "1. Open the valve." ends no sentence."""
    m = _BULLET.match(text, start)
    return m.end() - 1 if m else start
