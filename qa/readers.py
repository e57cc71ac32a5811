"""One reader per file format: bytes → ``Record`` (title, text, optional id and metadata).

Readers are pure functions of the file's bytes and its stem (the fallback title). They raise
``UnreadableError`` with a user-facing reason for content they recognise as unusable.
HTML tables keep their cells (``Town | Boats`` a row, one row a line). Out of scope: OCR, layout
analysis and images.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


class UnreadableError(ValueError):
    pass


@dataclass(frozen=True)
class Record:
    """What a reader found in a file: a title, the text, the record's own id (JSON/JSONL) and metadata."""

    title: str
    text: str
    id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # one dict per record, never shared


def jsonl_lines(text: str) -> list[str]:
    """The lines of a JSONL text: split at "\\n" only (a "\\r" before it is dropped). ``str.splitlines``
    would also split at U+2028, U+0085, form feeds..., which JSON strings may hold raw."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _decode(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UnreadableError("binary content, not text (is the file extension right?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnreadableError(f"not valid UTF-8 text (bad byte at offset {e.start}); "
                              "save it as UTF-8 and try again") from e


def first_line_title(text: str, fallback: str, limit: int = 120) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:limit]
    return fallback


def _short_title(text: str, fallback: str, limit: int = 80) -> str:
    """The first line, cut at a word boundary with an ellipsis when it runs past ``limit``."""
    line = first_line_title(text, fallback, limit=10_000)
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return (cut if len(cut) > limit // 2 else line[:limit]).rstrip(" ,;:-") + "…"


def read_text(data: bytes, stem: str) -> list[Record]:
    text = _decode(data)
    return [Record(first_line_title(text, stem), text)]


def read_markdown(data: bytes, stem: str) -> list[Record]:
    return read_text(data, stem)


class _HTMLText(HTMLParser):
    """Visible text of an HTML page; script/style/template content is dropped, never executed."""

    _SKIP = {"script", "style", "template", "noscript", "head"}
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "caption",
              "article", "blockquote", "pre", "table", "ul", "ol", "header", "footer"}
    _CELL = {"td", "th"}  # cells of a row are joined by " | ", each row ends its line

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._cells = 0  # cells seen in the current table row

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag == "tr":
            self._cells = 0
        elif tag in self._CELL:
            self.parts.append(" | " if self._cells else "")
            self._cells += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK or tag == "tr":
            self.parts.append("\n")
            self._cells = 0

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def read_html(data: bytes, stem: str) -> list[Record]:
    parser = _HTMLText()
    parser.feed(_decode(data))
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return [Record(parser.title.strip()[:120] or first_line_title(text, stem), text)]


def read_pdf(data: bytes, stem: str) -> list[Record]:
    """The PDF's text; its title from the metadata (unless a placeholder), else its first heading (the
    largest font on page 1), else its first line; ``page_starts`` in the metadata map offsets to pages."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    from .pdf import first_heading, join_pages, meaningful_title, pdf_pages

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableError("the PDF is encrypted; save an unencrypted copy and try again")
        pages = pdf_pages(data)
    except PyPdfError as e:
        raise UnreadableError(f"the PDF is damaged or truncated ({e}); export it again") from e
    text, page_starts = join_pages(pages)
    if not text:
        raise UnreadableError("the PDF has no text layer (scanned?); run OCR on it first")
    title = meaningful_title(reader.metadata.title if reader.metadata else None)[:120]
    if not title:
        title = (first_heading(data, pages[0][1]) if pages[0][0] == 1 else "")[:120]
    return [Record(title or _short_title(text, stem), text, metadata={"page_starts": page_starts})]


def read_docx(data: bytes, stem: str) -> list[Record]:
    import docx

    document = docx.Document(io.BytesIO(data))
    text = "\n\n".join(p.text.strip() for p in document.paragraphs if p.text.strip())
    title = (document.core_properties.title or "").strip()
    return [Record(title[:120] or first_line_title(text, stem), text)]


def _record(obj: Any, where: str, stem: str) -> Record:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise UnreadableError(f"{where}: expected an object with a string 'text' field")
    meta = obj.get("metadata") or {}
    if not isinstance(meta, dict):
        raise UnreadableError(f"{where}: 'metadata' must be an object")
    rid = obj.get("id")
    title = obj.get("title")
    return Record(
        title=str(title)[:120] if title else first_line_title(obj["text"], stem),
        text=obj["text"],
        id=str(rid) if rid is not None else None,
        metadata=dict(meta),
    )


def _valid_unicode(obj: Any) -> Any:
    """JSON may escape lone surrogates ("\\ud800"), which no UTF-8 file can hold: make each one U+FFFD."""
    if isinstance(obj, str):
        return obj.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(obj, list):
        return [_valid_unicode(v) for v in obj]
    if isinstance(obj, dict):
        return {_valid_unicode(k): _valid_unicode(v) for k, v in obj.items()}
    return obj


def read_json(data: bytes, stem: str) -> list[Record]:
    try:
        obj = _valid_unicode(json.loads(_decode(data)))
    except json.JSONDecodeError as e:
        raise UnreadableError(f"not valid JSON (line {e.lineno}: {e.msg})") from e
    items = obj if isinstance(obj, list) else [obj]
    return [_record(o, f"record {i + 1}", stem) for i, o in enumerate(items)]


def read_jsonl(data: bytes, stem: str) -> list[Record]:
    records = []
    for n, line in enumerate(jsonl_lines(_decode(data)), 1):
        if not line.strip():
            continue
        try:
            obj = _valid_unicode(json.loads(line))
        except json.JSONDecodeError as e:
            raise UnreadableError(f"line {n} is not valid JSON ({e.msg})") from e
        records.append(_record(obj, f"line {n}", stem))
    return records
