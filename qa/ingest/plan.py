"""What an ingest changes, decided from the live snapshot, and the commit that applies it.

Planning reads the snapshot only (no lock): a file whose bytes hash to what the index holds for its
path is not even parsed; a changed file replaces every document the index held for that path; a
document whose content is already indexed under another path is skipped as a duplicate. ``commit``
hands the result to ``Index.apply``, which holds the writer lock only for the apply and applies to the
newest generation, so a writer that changed the index while this ingest was embedding is not undone.
Out of scope: chunking and embedding (``encode``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from ..index import Addition, Index
from ..load import LoadError, SkippedFile, discover, file_hash, load_file
from ..records import Document


class IngestReport(NamedTuple):
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    skipped: list[SkippedFile]
    chunks: int
    seconds: float

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} "
                f"unchanged, {len(self.skipped)} skipped; {self.chunks} new chunks "
                f"in {self.seconds:.1f}s")


class Plan(NamedTuple):
    """``documents``: (document, its file's hash) to add; ``read``: paths of the files parsed (their
    documents in the index are replaced); ``records``: documents per file."""

    documents: list[tuple[Document, str]]
    remove: set[str]
    read: set[str]
    replaced: list[str]
    unchanged: list[str]
    skipped: list[SkippedFile]
    records: dict[str, int]

    def report(self, chunks: int, started: float) -> IngestReport:
        """The report of this plan once ``chunks`` new chunks were committed."""
        replaced = set(self.replaced)
        return IngestReport(
            added=list(dict.fromkeys(d.path for d, _ in self.documents if d.path not in replaced)),
            replaced=self.replaced, unchanged=self.unchanged, skipped=self.skipped,
            chunks=chunks, seconds=time.perf_counter() - started)

    def prepared(self, additions: list[Addition]) -> list[Addition]:
        """``additions`` with how many documents their file gave (see ``Addition.file_records``)."""
        return [a._replace(file_records=self.records[a.document.path]) for a in additions]


class Files(NamedTuple):
    """The files of an ingest before any is parsed: ``read`` as (path, hash), the rest unchanged or refused."""

    read: list[tuple[str, str]]
    unchanged: list[str]
    skipped: list[SkippedFile]


def files(index: Index, paths: Iterable[str | Path]) -> Files:
    found, skipped = discover(paths)
    known = index.file_hashes()
    read, unchanged = [], []
    for f in found:
        path, digest = str(f.resolve()), file_hash(f)
        if known.get(path) == digest:
            unchanged.append(path)
        else:
            read.append((path, digest))
    return Files(read, unchanged, skipped)


Loaded = tuple[str, str, "list[Document] | LoadError"]


def choose(index: Index, todo: Files, loaded: Iterable[Loaded]) -> Plan:
    """The plan from each read file's documents (or its ``LoadError``), in the order of ``todo.read``."""
    by_path: dict[str, list[str]] = {}
    for d in index.snapshot.documents:
        by_path.setdefault(d["path"], []).append(d["id"])
    indexed_ids = {d["id"] for d in index.snapshot.documents}
    docs: list[tuple[Document, str]] = []
    planned: set[str] = set()
    records: dict[str, int] = {}
    remove: set[str] = set()
    read: set[str] = set()
    replaced: list[str] = []
    skipped = list(todo.skipped)
    for path, digest, documents in loaded:
        if isinstance(documents, LoadError):
            skipped.append(SkippedFile(documents.path, documents.reason))
            continue
        read.add(path)
        old_ids = set(by_path.get(path, []))
        if old_ids:
            replaced.append(path)
            remove |= old_ids
        elsewhere = indexed_ids - old_ids
        for doc in documents:
            if doc.id in elsewhere or doc.id in planned:
                skipped.append(SkippedFile(path, f"same content as indexed document {doc.id}"))
                continue
            planned.add(doc.id)
            docs.append((doc, digest))
            records[path] = records.get(path, 0) + 1
    return Plan(docs, remove, read, replaced, list(todo.unchanged), skipped, records)


def _load(path: str, digest: str, max_bytes: int) -> Loaded:
    try:
        return path, digest, load_file(path, max_bytes)
    except LoadError as e:
        return path, digest, e


def plan(index: Index, paths: Iterable[str | Path], max_bytes: int) -> Plan:
    """Read the new and changed files here, one after the other, and plan."""
    todo = files(index, paths)
    return choose(index, todo, (_load(path, digest, max_bytes) for path, digest in todo.read))


def commit(index: Index, plan: Plan, additions: list[Addition]) -> None:
    """Apply ``additions`` and the planned removals. ``Index.apply`` takes the writer lock and applies
    to the newest generation, where an added file also replaces any other version of it that another
    writer added while this ingest was embedding."""
    additions = plan.prepared(additions)
    if additions or plan.remove:
        index.apply(additions, plan.remove)
