"""Query latency: `search` and `ask` on the seed corpus and on a synthetic 10k-chunk corpus.

    python bench/query.py /work/shared/data/arcd/arcd.json [--sizes 10000] [--questions 200]
                          [--index DIR ...] [--out FILE]

Questions are real ARCD questions. Per corpus it times, interleaved question by question:
``embed`` (the question's e5 vector alone: the baseline every other row is compared with),
``search`` and ``ask`` as the CLI/HTTP API run them (embedding included), and the same two with the
question vector precomputed (``retrieval only``), so the ratio shows what retrieval and answer
selection add on top of the embedder. ``p50 CPU ms`` is the process's CPU time per call (all its
threads): the work done, which waiting for a core shared with other processes does not inflate.
(``--before REV``, which timed an older ``qa/retrieve.py`` on the same snapshot, went with the
segmented index format: the old code cannot read it; ``bench/segments.py --before REV`` compares
saves across the change instead.)
The synthetic corpus is built by ``bench/synthetic.synthetic_additions`` (resampled ARCD sentences and
perturbed real vectors) through the real ``Index.apply``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, emit, header, percentiles, table
from synthetic import real_vectors, synthetic_additions

from qa import Assistant
from qa.chunk import ChunkSettings
from qa.embed import get_embedder
from qa.index import Index


class _Cached:
    """The real embedder, except that questions seen before come from a table."""

    def __init__(self, embedder, table: dict[str, np.ndarray]):
        self._e, self._t = embedder, table

    def __getattr__(self, name):
        return getattr(self._e, name)

    def embed_queries(self, texts):
        return np.vstack([self._t[t] for t in texts])


class Precomputed(Assistant):
    table: dict[str, np.ndarray] = {}

    @property
    def embedder(self):
        return _Cached(get_embedder(self.embedder_name), self.table)


def seed_index(work: Path) -> Path:
    Assistant.build([ROOT / "seeds"], work / "seed")
    return work / "seed"


def synthetic_index(work: Path, real: dict, n: int) -> Path:
    folder = work / f"synthetic-{n}"
    index = Index.create(folder, "e5-small", 384, ChunkSettings())
    for batch in synthetic_additions(real, n, seed=n):
        index.apply(batch, set())
    return folder


def measure(folder: Path, questions: list[str], vectors: np.ndarray) -> list[dict]:
    Precomputed.table = dict(zip(questions, vectors))
    live = Assistant.open(folder)
    pre = Precomputed.open(folder)
    snap = pre.index.snapshot
    embedder = live.embedder
    runs = {
        "embed (baseline)": lambda q: embedder.embed_queries([q]),
        "search": lambda q: live.search(q),
        "ask": lambda q: live.ask(q),
        "search, retrieval only": lambda q: pre.search(q),
        "ask, retrieval + answer only": lambda q: pre.ask(q),
    }
    for fn in runs.values():  # warm-up: page in the model, the maps, the caches
        fn(questions[0])
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for i, q in enumerate(questions):
        for name in names[i % len(names):] + names[: i % len(names)]:
            c, t = time.process_time(), time.perf_counter()
            runs[name](q)
            times[name].append((time.perf_counter() - t) * 1000)
            cpu[name].append((time.process_time() - c) * 1000)
    base = np.median(times["embed (baseline)"])
    rows = []
    for name, ms in times.items():
        p = percentiles(ms)
        rows.append({"corpus": f"{folder.name} ({len(snap)} chunks)", "operation": name, **p,
                     "p50 CPU ms": float(np.median(cpu[name])), "p50 / embed p50": p["p50 ms"] / base})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000])
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--index", type=Path, action="append", default=[],
                    help="also time this existing index (e.g. one bench/scale.py --work DIR kept)")
    ap.add_argument("--out", type=Path, default=None, help="append the result (Markdown) to this file")
    args = ap.parse_args()
    real = real_vectors(args.arcd)
    questions = [str(q) for q in real["questions"][: args.questions]]
    vectors = real["question_vectors"][: args.questions]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folders = [seed_index(work)] + [synthetic_index(work, real, n) for n in args.sizes] + args.index
        for folder in folders:
            rows += measure(folder, questions, vectors)
    text = header("Query latency (bench/query.py)") + table(rows) + "\n"
    emit(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
