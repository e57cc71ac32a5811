"""PDF text layer → text with Arabic in logical order and base letters (pypdf + python-bidi).

pypdf's plain extraction reverses each right-to-left run but leaves the runs in visual order;
its layout mode gives raw drawing order. For pages holding Arabic we take layout mode, decide per
document whether glyphs were drawn in visual order, and if so reorder each line with the Unicode
bidi algorithm (after pre-reversing lam-alef ligature maps). Pages without Arabic keep pypdf's
plain output. Out of scope: OCR (a page without a text layer yields ""), columns and tables.
"""
from __future__ import annotations

import io
import re
import unicodedata

from bidi import get_display  # python-bidi >= 0.5 (Rust UBA; reorders without mirroring brackets)
from pypdf import PdfReader
from pypdf.generic import DecodedStreamObject, NameObject

_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_ARABIC_LETTER = re.compile("[\u0621-\u064a\ufb50-\ufdff\ufe70-\ufefc]")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")
_WORD = re.compile("[\u0621-\u064a]{3,}")
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_DEST = re.compile(rb"(<[0-9A-Fa-f]+>\s*)<([0-9A-Fa-f]{8,})>")


def _looks_visual(text: str) -> bool:
    """True if the Arabic words come out reversed (glyphs in left-to-right drawing order).

    Logical Arabic words often start with the article "ال" and end with ة/ى, and ة/ى never start
    a word; reversed words show the mirror image. Ties (no evidence) count as visual: most PDF
    producers draw Arabic glyphs left to right.
    """
    words = _WORD.findall(unicodedata.normalize("NFKC", text))
    logical = sum(w.startswith("ال") + w.endswith(("ة", "ى")) for w in words)
    visual = sum(w.endswith("لا") + w.startswith(("ة", "ى")) for w in words)
    return visual >= logical


def _flip_ligature_maps(resources, seen: set) -> None:
    """Reverse multi-character Arabic ToUnicode targets (lam-alef ligature -> "لا"), in memory.

    A ligature glyph maps to its letters in logical order; once the whole visual line is reversed
    they would come out backwards ("ال" for "لا"), so pre-reverse them. Recurses into form XObjects.
    """
    if resources is None or id(resources) in seen:
        return
    seen.add(id(resources))
    for font in (resources.get("/Font") or {}).values():
        font = font.get_object()
        if "/ToUnicode" not in font:
            continue
        data = font["/ToUnicode"].get_object().get_data()

        def flip(m: re.Match) -> bytes:
            s = bytes.fromhex(m.group(2).decode()).decode("utf-16-be", "replace")
            if len(s) < 2 or not _RTL.search(s):
                return m.group(0)
            return m.group(1) + b"<" + s[::-1].encode("utf-16-be").hex().upper().encode() + b">"

        new = _BFCHAR.sub(lambda b: b.group(0).replace(b.group(1), _DEST.sub(flip, b.group(1))), data)
        if new != data:
            stream = DecodedStreamObject()
            stream.set_data(new)
            font[NameObject("/ToUnicode")] = stream
    for xobj in (resources.get("/XObject") or {}).values():
        xobj = xobj.get_object()
        if xobj.get("/Subtype") == "/Form":
            _flip_ligature_maps(xobj.get("/Resources"), seen)


def _to_logical(line: str) -> str:
    # Paragraph direction of a visual line can't be read from its first strong character (that is
    # the last one for RTL), so take the majority script; the UBA reordering then inverts itself.
    rtl = len(_ARABIC_LETTER.findall(line)) >= len(_LATIN_LETTER.findall(line))
    return get_display(line, base_dir="R" if rtl else "L")


def _clean_layout(text: str) -> list[str]:
    # Layout mode pads with spaces and blank lines to mimic positions; keep words and lines only.
    return [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]


def pdf_text(source: bytes | str) -> str:
    """Text of a PDF (path or bytes), pages joined by a blank line; "" when there is no text layer."""
    return join_pages(pdf_pages(source))[0]


def join_pages(pages: list[tuple[int, str]]) -> tuple[str, list[list[int]]]:
    """The text ``pdf_text`` gives, and ``[offset, page number]`` where each page's text starts in it."""
    starts, offset = [], 0
    for number, text in pages:
        starts.append([offset, number])
        offset += len(text) + 2
    return "\n\n".join(text for _, text in pages), starts


def page_at(page_starts: list[list[int]], offset: int) -> int | None:
    """The page number holding character ``offset`` of the joined text (None without page offsets)."""
    found = None
    for start, number in page_starts:
        if start > offset:
            break
        found = number
    return found


def pdf_pages(source: bytes | str) -> list[tuple[int, str]]:
    """``(page number from 1, text)`` of each page that has text, in order."""
    if isinstance(source, bytes):
        data = source
    else:
        with open(source, "rb") as f:
            data = f.read()
    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() or "" for page in reader.pages]
    rtl_pages = [i for i, t in enumerate(pages) if _RTL.search(t)]
    if rtl_pages:
        try:
            # Plain mode reverses each RTL run in place but leaves the runs (numbers, Latin,
            # punctuation) in visual order, which can't be undone; layout mode gives raw drawing order.
            raw = {i: reader.pages[i].extract_text(extraction_mode="layout") for i in rtl_pages}
            if _looks_visual("\n".join(raw.values())):
                fixed = PdfReader(io.BytesIO(data))  # fresh reader: its fonts get patched in memory
                for i in rtl_pages:
                    _flip_ligature_maps(fixed.pages[i].get("/Resources"), set())
                    lines = _clean_layout(fixed.pages[i].extract_text(extraction_mode="layout"))
                    pages[i] = "\n".join(_to_logical(ln) if _RTL.search(ln) else ln for ln in lines)
            else:
                for i in rtl_pages:
                    pages[i] = "\n".join(_clean_layout(raw[i]))
        except Exception:  # noqa: BLE001 - layout mode chokes on odd fonts: keep plain text then
            pass
    # NFKC after reordering: presentation forms -> base letters (a lam-alef ligature code point
    # expands to lam, alef, so it must already be in logical position).
    texts = [(i + 1, unicodedata.normalize("NFKC", p).strip()) for i, p in enumerate(pages)]
    return [(number, text) for number, text in texts if text]


_JUNK_TITLE = re.compile(r"^(untitled|document\d*|microsoft word - .*|.*\.(docx?|pdf|odt|rtf|tmp|indd))$", re.I)
HEADING_RATIO = 1.15  # a heading's font is at least this much larger than the page's body text


def meaningful_title(title: str | None) -> str:
    """The PDF's metadata title, or "" for the placeholders tools write ("Untitled", "Microsoft Word - x.docx")."""
    title = " ".join(str(title or "").split())
    return "" if not title or _JUNK_TITLE.match(title) else title


def _letters(text: str) -> list[str]:
    # Order-free: a heading drawn in visual order has the same letters as its logical line.
    return sorted(c for c in unicodedata.normalize("NFKC", text) if c.isalnum())


def first_heading(data: bytes, first_page_text: str) -> str:
    """The line of the first page set in the largest font, if larger than the body text; else ""."""
    runs: list[tuple[float, str]] = []

    def visit(text, cm, tm, font, size):  # pypdf's text visitor: effective size = size x vertical scale
        if text.strip():
            runs.append((abs(float(size) * float(tm[3]) * float(cm[3])) or float(size), text))

    try:
        PdfReader(io.BytesIO(data)).pages[0].extract_text(visitor_text=visit)
    except Exception:  # noqa: BLE001 - a title is a nicety: odd fonts give no heading, not an error
        return ""
    if not runs:
        return ""
    sizes = sorted(size for size, text in runs for _ in text)
    body, top = sizes[len(sizes) // 2], max(size for size, _ in runs)
    if top < body * HEADING_RATIO:
        return ""
    wanted = _letters("".join(text for size, text in runs if size >= top * 0.98))
    for line in first_page_text.splitlines()[:15]:
        if line.strip() and _letters(line) == wanted:
            return line.strip()
    return ""
