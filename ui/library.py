"""Uploads and every write to the index, shared by the web chat and the HTTP API.

An uploaded file is stored only inside ``<index folder>/uploads/`` under a sanitised version of its
name (no directories, no ``..``, no control characters, a capped length, the suffix kept); a file of
the same name but different content gets a numbered name instead of overwriting it. Writes (add and
remove) are serialised by one lock, so two users uploading at once cannot race on the index, while
questions keep being answered from the live snapshot. Out of scope: rendering and HTTP status codes.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from qa import Assistant
from qa.load import READERS, file_hash

SUFFIXES = tuple(sorted(READERS))
MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 200  # UTF-8; file systems allow 255, and 100 characters of a 4-byte script would not fit
DEFAULT_MAX_UPLOAD_BYTES = 20_000_000
_UNSAFE = re.compile(r"[^\w.\- ]+")


class UploadError(ValueError):
    """A file refused before ingestion; ``status`` is the HTTP status the API answers with."""

    def __init__(self, name: str, reason: str, status: int = 400):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason, self.status = name, reason, status


@dataclass
class IngestResult:
    """What happened to each uploaded file, by the name the user gave it."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in (("added", self.added), ("replaced", self.replaced),
                                              ("unchanged", self.unchanged), ("skipped", self.skipped)) if v]
        return f"{', '.join(parts) or 'nothing to do'}; {self.chunks} new passages in {self.seconds:.1f}s"


def human_bytes(n: float) -> str:
    return f"{n / 1e6:.3g} MB" if n >= 1e6 else f"{n / 1e3:.3g} kB"


def safe_name(name: str) -> str:
    """A file name that is safe to create inside the uploads folder, with the original suffix."""
    name = unicodedata.normalize("NFC", str(name)).replace("\x00", "")
    name = re.split(r"[\\/]", name)[-1]  # strip any directories, whichever separator
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = suffix.lower()[:10]
    stem = _fit(stem.strip(" .").replace("..", "_"), f".{suffix}").strip(" .") or "upload"
    return f"{stem}.{suffix}" if suffix else stem


def _fit(stem: str, tail: str) -> str:
    """``stem`` cut so that ``stem + tail`` has at most MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes."""
    stem = stem[: MAX_NAME_CHARS - len(tail)]
    return stem.encode("utf-8")[: MAX_NAME_BYTES - len(tail.encode("utf-8"))].decode("utf-8", "ignore")


def check_upload(name: str, size: int | None, max_bytes: int) -> None:
    """Raise ``UploadError`` for an unsupported suffix (415) or a file over the limit (413)."""
    suffix = Path(safe_name(name)).suffix.lower()
    if suffix not in READERS:
        raise UploadError(name, f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUFFIXES)}",
                          415)
    if size is not None and size > max_bytes:
        raise UploadError(name, f"the file is {human_bytes(size)}, over the {human_bytes(max_bytes)} upload "
                                "limit (qa serve --max-upload-mb)", 413)
    if size == 0:
        raise UploadError(name, "the file is empty", 400)


class Library:
    """The assistant's documents as users change them: stored uploads, add, remove."""

    def __init__(self, assistant: Assistant, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES):
        self.assistant = assistant
        self.max_upload_bytes = int(max_upload_bytes)
        self.folder = (Path(assistant.index.folder) / "uploads").resolve()
        self.lock = threading.Lock()

    def documents(self) -> list[dict[str, Any]]:
        return sorted(self.assistant.documents(), key=lambda d: d.get("added", ""), reverse=True)

    def info(self) -> dict[str, Any]:
        snap = self.assistant.index.snapshot
        return {"documents": len(snap.documents), "chunks": len(snap), "embedder": self.assistant.embedder_name}

    def _store(self, name: str, source: BinaryIO) -> Path:
        """Copy ``source`` into the uploads folder (size-checked while copying); returns the stored path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = safe_name(name)
        part = self.folder / f".part-{os.getpid()}-{threading.get_ident()}"
        digest, size = hashlib.sha256(), 0
        try:
            with open(part, "wb") as out:
                while block := source.read(1 << 20):
                    size += len(block)
                    if size > self.max_upload_bytes:
                        check_upload(name, size, self.max_upload_bytes)
                    digest.update(block)
                    out.write(block)
            check_upload(name, size, self.max_upload_bytes)
            stem, suffix = Path(final).stem, Path(final).suffix
            for n in range(1, 10_000):
                target = self.folder / (final if n == 1 else f"{_fit(stem, f'-{n}{suffix}')}-{n}{suffix}")
                if target.resolve().parent != self.folder:
                    raise UploadError(name, "invalid file name")
                if not target.exists():
                    os.replace(part, target)
                    return target
                if file_hash(target) == digest.hexdigest():  # the very same file: reuse it
                    return target
            raise UploadError(name, "too many files with this name; rename it")
        finally:
            part.unlink(missing_ok=True)

    def add(self, files: list[tuple[str, BinaryIO | Path]],
            progress: Callable[[int, int], None] | None = None) -> IngestResult:
        """Store and ingest ``(original name, stream or path)`` pairs; refused files land in ``skipped``."""
        result = IngestResult()
        with self.lock:
            stored: dict[str, str] = {}  # stored path (resolved, as the index reports it) -> given name
            for name, source in files:
                try:
                    check_upload(name, None, self.max_upload_bytes)
                    if isinstance(source, Path):
                        with open(source, "rb") as f:
                            path = self._store(name, f)
                    else:
                        path = self._store(name, source)
                except UploadError as e:
                    result.skipped.append((name, e.reason))
                    continue
                stored[str(path)] = name
            if not stored:
                return result
            report = self.assistant.add(list(stored), progress=progress)
            named = lambda paths: [stored.get(p, Path(p).name) for p in paths]  # noqa: E731
            result.added, result.replaced = named(report.added), named(report.replaced)
            result.unchanged = named(report.unchanged)
            result.skipped += [(stored.get(s.path, Path(s.path).name), s.reason) for s in report.skipped]
            result.chunks, result.seconds = report.chunks, report.seconds
            documents = self.assistant.documents()
            result.documents = [d for d in documents if d["path"] in stored]
            for path in set(stored) - {d["path"] for d in documents}:  # not indexed: do not keep it
                Path(path).unlink(missing_ok=True)
        return result

    def remove(self, doc_id: str) -> list[dict[str, Any]]:
        """Remove one document by id (``KeyError`` if unknown); its uploaded file goes too."""
        with self.lock:
            if doc_id not in {d["id"] for d in self.assistant.documents()}:
                raise KeyError(doc_id)
            gone = [d for d in self.assistant.remove(doc_id) if d["id"] == doc_id]
            still_used = {d["path"] for d in self.assistant.documents()}
            for d in gone:
                path = Path(d["path"])
                if path.parent == self.folder and d["path"] not in still_used:
                    path.unlink(missing_ok=True)
            return gone

