"""Files → ``Document`` records: one reader per suffix, errors collected per file.

A reader turns the bytes of one file into ``(title, text)`` pairs (several for JSON/JSONL); this
module adds ids, languages and paths. A file that cannot be read raises ``LoadError`` with a reason
meant for the user; ``load_paths`` collects those and goes on with the other files.
Out of scope: OCR (a PDF without a text layer is reported, not read) and remote URLs.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from . import readers
from .index.store import sha256_file
from .records import Document, content_id
from .text import detect_language

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# A .docx is a zip: refuse archives that would inflate past this (zip bombs).
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024


class LoadError(ValueError):
    """A file that cannot be ingested; ``reason`` says why in words a user can act on."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SkippedFile(NamedTuple):
    path: str
    reason: str


class LoadReport(NamedTuple):
    documents: list[Document]
    errors: list[SkippedFile]


Reader = Callable[[bytes, str], list[readers.Record]]

READERS: dict[str, Reader] = {
    ".txt": readers.read_text,
    ".md": readers.read_markdown,
    ".markdown": readers.read_markdown,
    ".html": readers.read_html,
    ".htm": readers.read_html,
    ".pdf": readers.read_pdf,
    ".docx": readers.read_docx,
    ".json": readers.read_json,
    ".jsonl": readers.read_jsonl,
}


file_hash = sha256_file  # a file's identity for "unchanged since the last ingest"


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Supported files under the given files and folders (hidden entries skipped), sorted."""
    files: list[Path] = []
    errors: list[SkippedFile] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(
                f for f in sorted(p.rglob("*"))
                if f.is_file() and f.suffix.lower() in READERS
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.is_file():
            if p.suffix.lower() in READERS:
                files.append(p)
            else:
                errors.append(SkippedFile(str(p), f"unsupported file type {p.suffix!r}; "
                                          f"supported: {', '.join(sorted(READERS))}"))
        else:
            errors.append(SkippedFile(str(p), "no such file or folder"))
    return list(dict.fromkeys(files)), errors


def _check_size(path: Path, data: bytes, max_bytes: int) -> None:
    if not data:
        raise LoadError(str(path), "the file is empty")
    if len(data) > max_bytes:
        raise LoadError(str(path), f"the file is {len(data) / 1e6:.1f} MB, over the "
                        f"{max_bytes / 1e6:.1f} MB limit; raise the limit (--max-file-mb) or split it")
    if path.suffix.lower() == ".docx":
        _check_zip(path, max_bytes)


def _check_zip(path: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            inflated = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile as e:
        raise LoadError(str(path), "not a valid .docx (it is not a zip archive)") from e
    if inflated > max(MAX_UNZIPPED_BYTES, 4 * max_bytes):
        raise LoadError(str(path), f"the archive inflates to {inflated / 1e6:.0f} MB; "
                        "refusing it as a possible zip bomb")


def load_file(path: str | Path, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    """The documents in one file; raises ``LoadError`` when it cannot be read."""
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        raise LoadError(str(p), f"unsupported file type {p.suffix!r}")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise LoadError(str(p), f"cannot read the file ({e.strerror or e})") from e
    _check_size(p, data, max_bytes)
    try:
        records = reader(data, p.stem)
    except readers.UnreadableError as e:
        raise LoadError(str(p), str(e)) from e
    except Exception as e:  # noqa: BLE001 - a parser's crash on a hostile file is a skip, not a stop
        raise LoadError(str(p), f"could not parse the file ({type(e).__name__}: {e})") from e
    docs = [_document(r, p) for r in records if r.text.strip()]
    if not docs:
        raise LoadError(str(p), "no text found (a scanned PDF needs OCR first)")
    return docs


def _document(r: readers.Record, path: Path) -> Document:
    """A record as a document. A record's own id (JSON/JSONL ``id``) names it within its file only: the
    document id is a hash of the file's path and that id (kept as ``metadata["record_id"]``), so two
    files that both number their records 0, 1, 2 do not collide; other documents are named by content."""
    if r.id is None:
        return Document(content_id(r.text), r.title, str(path), detect_language(r.text), r.text, dict(r.metadata))
    return Document(id=content_id("record", str(path.resolve()), r.id), title=r.title, path=str(path),
                    lang=detect_language(r.text), text=r.text, metadata={**r.metadata, "record_id": r.id})


def load_paths(paths: Iterable[str | Path], max_bytes: int = DEFAULT_MAX_BYTES) -> LoadReport:
    """Every readable document under ``paths``; unreadable files are reported, not fatal."""
    files, errors = discover(paths)
    documents: list[Document] = []
    for f in files:
        try:
            documents.extend(load_file(f, max_bytes))
        except LoadError as e:
            errors.append(SkippedFile(e.path, e.reason))
    return LoadReport(documents, errors)
