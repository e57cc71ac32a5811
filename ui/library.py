"""Uploads and every write to the index, shared by the web chat and the HTTP API.

An uploaded file is stored only inside ``<index folder>/uploads/`` under a sanitised version of its
name (no directories, no ``..``, no control characters, a capped length, the suffix kept). A file
uploaded under the name of an earlier upload replaces that document (a new version of it); its
previous version is kept aside until the new one is indexed, and put back if it is not (unreadable,
cancelled, a crash). Adds run one at a time (``writer``); a removal does not wait for a running add,
and questions keep being answered from the live snapshot. Out of scope: rendering, HTTP status codes
and jobs (``jobs``).
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from qa import Assistant
from qa.load import file_hash

from .names import MAX_NAME_BYTES, MAX_NAME_CHARS, SUFFIXES, UploadError, check_upload, human_bytes, safe_name

DEFAULT_MAX_UPLOAD_BYTES = 20_000_000
__all__ = ["MAX_NAME_BYTES", "MAX_NAME_CHARS", "SUFFIXES", "IngestResult", "Library",
           "UploadError", "check_upload", "human_bytes", "safe_name"]


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


def public_path(index_folder: str | Path, path: str) -> str:
    """A document's path as clients see it: relative to the index folder (``uploads/notes.md``), or only
    its file name when it lies elsewhere, so no absolute server path leaves the server."""
    try:
        return Path(path).resolve().relative_to(Path(index_folder).resolve()).as_posix()
    except ValueError:
        return Path(path).name


def public_answer(index_folder: str | Path, answer: dict[str, Any]) -> dict[str, Any]:
    """``Answer.to_dict()`` (or a search result) with every path made public (``public_path``)."""
    out = dict(answer)
    if "citations" in out:
        out["citations"] = [{**c, "path": public_path(index_folder, c["path"])} for c in out["citations"]]
    for key in ("passages", "hits"):
        if key in out:
            out[key] = [{**h, "chunk": {**h["chunk"], "path": public_path(index_folder, h["chunk"]["path"])}}
                        for h in out[key]]
    return out


@dataclass
class _Stored:
    """One uploaded file in the uploads folder while its ingest runs."""

    name: str  # as the user gave it
    path: Path  # where it is stored (the same path for a new version of an earlier upload)
    backup: Path | None = None  # the previous version, restored if this one does not get indexed
    created: bool = False  # the path did not exist before


class Library:
    """The assistant's documents as users change them: stored uploads, add (or replace), remove."""

    def __init__(self, assistant: Assistant, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES):
        self.assistant = assistant
        self.max_upload_bytes = int(max_upload_bytes)
        self.folder = (Path(assistant.index.folder) / "uploads").resolve()
        self.lock = threading.Lock()  # file operations in the uploads folder (short)
        self.writer = threading.Lock()  # one add at a time, held while it embeds; removals do not wait
        self._busy: set[str] = set()  # stored paths of the running add, never unlinked by a removal
        self._recover()

    def documents(self) -> list[dict[str, Any]]:
        return sorted(self.assistant.documents(), key=lambda d: d.get("added", ""), reverse=True)

    def public_message(self, text: str) -> str:
        """``text`` with the index folder's absolute path cut off, so no server path reaches a client."""
        root = str(Path(self.assistant.index.folder).resolve())
        return text.replace(root + os.sep, "").replace(root, ".")

    def public_path(self, path: str) -> str:
        """A document's path as clients see it (``public_path``)."""
        return public_path(self.assistant.index.folder, path)

    def public_answer(self, answer: dict[str, Any]) -> dict[str, Any]:
        """An answer or search result as clients see it (``public_answer``)."""
        return public_answer(self.assistant.index.folder, answer)

    def info(self) -> dict[str, Any]:
        snap = self.assistant.index.snapshot
        return {"documents": len(snap.documents), "chunks": len(snap), "embedder": self.assistant.embedder_name}

    def _copy(self, name: str, source: BinaryIO) -> tuple[Path, str]:
        """``source`` into a partial file of the uploads folder (size-checked while copying), and its hash."""
        self.folder.mkdir(parents=True, exist_ok=True)
        part = self.folder / f".part-{uuid.uuid4().hex}"
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
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return part, digest.hexdigest()

    def _store(self, name: str, source: BinaryIO) -> _Stored:
        """Store ``source`` under its safe name; an earlier upload of that name is kept aside as a backup."""
        target = self.folder / safe_name(name)
        if target.resolve().parent != self.folder:
            raise UploadError(name, "invalid file name")
        part, digest = self._copy(name, source)
        with self.lock:
            if target.exists() and file_hash(target) == digest:  # the very same file: ingest says unchanged
                part.unlink()
                return _Stored(name, target)
            backup = None
            if target.exists():
                backup = self.folder / f".prev-{uuid.uuid4().hex[:12]}-{target.name}"
                os.replace(target, backup)
            os.replace(part, target)
            return _Stored(name, target, backup, created=backup is None)

    def _store_all(self, files: list[tuple[str, BinaryIO | Path]], result: IngestResult) -> dict[str, _Stored]:
        """Store each file (refusals go to ``result.skipped``); stored path -> what was stored."""
        stored: dict[str, _Stored] = {}
        for name, source in files:
            try:
                check_upload(name, None, self.max_upload_bytes)
                if str(self.folder / safe_name(name)) in stored:
                    raise UploadError(name, "another file of this upload has the same name; rename one")
                if isinstance(source, Path):
                    with open(source, "rb") as f:
                        item = self._store(name, f)
                else:
                    item = self._store(name, source)
            except UploadError as e:
                result.skipped.append((name, e.reason))
                continue
            stored[str(item.path)] = item
            with self.lock:
                self._busy.add(str(item.path))
        return stored

    def _undo(self, item: _Stored) -> None:
        """Put back what was in the uploads folder before ``item`` was stored."""
        if item.backup is not None:
            os.replace(item.backup, item.path)
        elif item.created:
            item.path.unlink(missing_ok=True)

    def add(self, files: list[tuple[str, BinaryIO | Path]],
            progress: Callable[[int, int], None] | None = None) -> IngestResult:
        """Store and ingest ``(original name, stream or path)`` pairs; refused files land in ``skipped``.

        A file named like an earlier upload replaces it (a new version; ``unchanged`` when the bytes
        are the same). If the ingest raises (a cancelled job), the uploads folder is put back as it
        was and nothing of this add becomes visible."""
        result = IngestResult()
        with self.writer:
            stored = self._store_all(files, result)
            try:
                report = self.assistant.add(list(stored), progress=progress) if stored else None
            except BaseException:
                with self.lock:
                    for item in stored.values():
                        self._undo(item)
                raise
            finally:
                with self.lock:
                    self._busy -= set(stored)
            if report is None:
                return result
            self._settle(stored, report)
        named = lambda paths: [stored[p].name if p in stored else Path(p).name for p in paths]  # noqa: E731
        result.added, result.replaced = named(report.added), named(report.replaced)
        result.unchanged = named(report.unchanged)
        result.skipped += [(named([s.path])[0], s.reason) for s in report.skipped]
        result.chunks, result.seconds = report.chunks, report.seconds
        result.documents = [d for d in self.assistant.documents() if d["path"] in stored]
        return result

    def _settle(self, stored: dict[str, _Stored], report: Any) -> None:
        """Keep the stored files the index took; put back the earlier version of the others."""
        indexed = set(report.added) | set(report.replaced) | set(report.unchanged)
        with self.lock:
            for path, item in stored.items():
                if path in indexed:
                    if item.backup is not None:
                        item.backup.unlink(missing_ok=True)
                else:
                    self._undo(item)
            held = {d["path"] for d in self.assistant.documents()}
            for path in set(stored) - held:  # not indexed at all (e.g. a duplicate): do not keep it
                Path(path).unlink(missing_ok=True)

    def _recover(self) -> None:
        """After a crash mid-add: a backup whose content the index still holds goes back in place."""
        if not self.folder.is_dir():
            return
        hashes = self.assistant.index.file_hashes()
        for backup in self.folder.glob(".prev-*"):
            target = self.folder / backup.name.split("-", 2)[2]
            if hashes.get(str(target)) == file_hash(backup):
                os.replace(backup, target)
            else:
                backup.unlink(missing_ok=True)
        for part in self.folder.glob(".part-*"):
            part.unlink(missing_ok=True)

    def remove(self, doc_id: str) -> list[dict[str, Any]]:
        """Remove one document by id (``KeyError`` if unknown); its uploaded file goes too."""
        if doc_id not in {d["id"] for d in self.assistant.documents()}:
            raise KeyError(doc_id)
        gone = [d for d in self.assistant.remove(doc_id) if d["id"] == doc_id]
        with self.lock:
            still_used = {d["path"] for d in self.assistant.documents()} | self._busy
            for d in gone:
                path = Path(d["path"])
                if path.parent == self.folder and d["path"] not in still_used:
                    path.unlink(missing_ok=True)
        return gone
