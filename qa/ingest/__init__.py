"""The ingest stage: files → chunks → vectors → one new index generation.

Layout: ``plan`` (what is new, changed or unchanged, from the live snapshot; the commit under the
writer lock), ``encode`` (chunking, the distinct texts to embed, BM25 tokens), ``workers`` (per-core
embedding workers, questions first), ``shards`` (Parquet shards of embedded chunks) and the runners
from ``RUNNERS``: ``local`` (this process) and ``ray`` (a Ray Data pipeline on a cluster). All changes
of one ingest land in a single new generation, so an interrupted ingest leaves the index as it was.
Out of scope: watching folders, and deleting documents whose files vanished (``Assistant.remove``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from ..embed import Embedder
from ..index import Index
from .encode import Progress, encode, sentence_texts
from .local import LocalRunner, ingest
from .plan import IngestReport
from .ray_runner import RayRunner


class Runner(Protocol):
    def ingest(self, index: Index, embedder: Embedder, paths: Iterable[str | Path], max_bytes: int = ...,
               progress: Progress | None = None) -> IngestReport: ...


RUNNERS: dict[str, Callable[..., Runner]] = {"local": LocalRunner, "ray": RayRunner}


def get_runner(name: str = "local", **options: Any) -> Runner:
    """The runner ``name`` with its options (``workers``; ``address`` for ray)."""
    if name not in RUNNERS:
        raise ValueError(f"unknown runner {name!r}; choose one of: {', '.join(RUNNERS)}")
    return RUNNERS[name](**options)


__all__ = ["RUNNERS", "IngestReport", "LocalRunner", "Progress", "RayRunner", "Runner", "encode", "get_runner",
           "ingest", "sentence_texts"]
