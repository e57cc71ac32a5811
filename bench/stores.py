"""Stores (issue 11): the milvus store (milvus-lite 2.5.1) beside the local store on the same chunks:
load time, retrieval latency and agreement (top-5 overlap, same first hit, same answers).

    python bench/stores.py /work/shared/data/arcd/arcd.json [--sizes 10000] [--questions 300] [--out FILE]

Corpora: ``arcd`` (ARCD's 573 real chunks with their real e5 vectors: the agreement that matters)
and ``synthetic-N`` (``bench/synthetic.synthetic_additions``: resampled ARCD sentences, perturbed real
vectors). Both stores get the very same ``Addition``s (no embedding here); questions are the real
ARCD question vectors, so the comparison is of the stores alone: ``qa.retrieve.search`` over each
snapshot (retrieval only), interleaved question by question, in the three modes, and for ``arcd``
the extractive answer of ``Assistant.ask`` with the question vectors precomputed. Last, the seed
corpus (``seeds/``) through the real pipeline into the local store, its additions into milvus-lite,
and the seed questions (``tests/fixtures/eval/seed_questions.jsonl``, Arabic and English) asked of
both with the real embedder: same answer text, abstention and cited spans.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, emit, header, percentiles, table
from synthetic import real_vectors, synthetic_additions

from qa import Assistant, datasets
from qa.chunk import ChunkSettings
from qa.index import Addition, Index, stores
from qa.index.milvus import MilvusIndex
from qa.lexical import tokenize
from qa.records import Chunk, Document, Span, content_id
from qa.retrieve import MODES, SearchOptions, search
from qa.text import detect_language


def arcd_additions(real: dict) -> list[Addition]:
    """ARCD's chunks as one document each, with the vectors the real pipeline gave them."""
    offsets, sentences = real["sentence_offsets"], real["sentence_texts"]
    out = []
    for i, text in enumerate(real["chunk_texts"].tolist()):
        doc_id = content_id("arcd", i)
        spans, at = [], 0
        for s in sentences[offsets[i] : offsets[i + 1]].tolist():
            start = text.find(s, at)
            spans.append(Span(start, start + len(s)) if start >= 0 else Span(at, at))
            at = max(at, spans[-1].end)
        chunk = Chunk(id=content_id(doc_id, 0), doc_id=doc_id, path=f"/arcd/{i}.txt", title=f"arcd {i}",
                      lang=detect_language(text), text=text, start=0, end=len(text), sentences=tuple(spans))
        out.append(Addition(Document(doc_id, chunk.title, chunk.path, chunk.lang, text), f"h{i}", [chunk],
                            real["chunk_vectors"][i : i + 1], [real["sentence_vectors"][offsets[i] : offsets[i + 1]]],
                            [tokenize(text)]))
    return out


class Known:
    """An embedder that knows the ARCD questions' vectors (so ``ask`` embeds nothing)."""

    def __init__(self, table: dict[str, np.ndarray]):
        self.table, self.dim, self.max_tokens = table, 384, 512

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self.table[t] for t in texts])


class KnownAssistant(Assistant):
    known: Known | None = None

    @property
    def embedder(self):  # type: ignore[override]
        return self.known


def load(work: Path, name: str, batches: list[list[Addition]]) -> tuple[Index, MilvusIndex, list[dict]]:
    local = Index.create(work / f"{name}-local", "e5-small", 384, ChunkSettings())
    milvus = MilvusIndex.create(str(work / f"{name}.db"), "bench", work / f"{name}-milvus", "e5-small", 384,
                                ChunkSettings())
    rows = []
    for label, index in (("local", local), ("milvus-lite", milvus)):
        t = time.perf_counter()
        for batch in batches:
            index.apply(batch, set())
        seconds = time.perf_counter() - t
        n = sum(len(a.chunks) for b in batches for a in b)
        rows.append({"corpus": name, "store": label, "chunks": n, "load s": seconds, "chunks/s": n / seconds})
    return local, milvus, rows


def compare(name: str, local: Index, milvus: MilvusIndex, real: dict, count: int) -> tuple[list[dict], list[dict]]:
    questions = [str(q) for q in real["questions"][:count]]
    vectors = real["question_vectors"][:count]
    snaps = {"local": local.snapshot, "milvus-lite": milvus.snapshot}
    times: dict[tuple[str, str], list[float]] = {(s, m): [] for s in snaps for m in MODES}
    agree = {m: {"overlap": [], "first": []} for m in MODES}
    for i, (q, v) in enumerate(zip(questions, vectors)):
        tokens, lang = tokenize(q), detect_language(q)
        for mode in MODES:
            got = {}
            for store in list(snaps)[i % 2:] + list(snaps)[: i % 2]:  # alternate which goes first
                t = time.perf_counter()
                got[store] = [h.chunk.id for h in search(snaps[store], v, tokens, lang, SearchOptions(k=5, mode=mode))]
                times[(store, mode)].append((time.perf_counter() - t) * 1000)
            a, b = got["local"], got["milvus-lite"]
            agree[mode]["overlap"].append(len(set(a) & set(b)) / max(len(a), 1))
            agree[mode]["first"].append(a[:1] == b[:1])
    latency = []
    for (store, mode), ms in times.items():
        base = float(np.median(times[("local", mode)]))
        latency.append({"corpus": name, "store": store, "mode": mode, **percentiles(ms),
                        "p50 / local p50": float(np.median(ms)) / base})
    agreement = [{"corpus": name, "mode": mode, "questions": len(questions),
                  "top-5 overlap": float(np.mean(x["overlap"])), "same first hit": float(np.mean(x["first"]))}
                 for mode, x in agree.items()]
    return latency, agreement


def answers(local: Index, milvus: MilvusIndex, real: dict, count: int) -> dict:
    questions = [str(q) for q in real["questions"][:count]]
    KnownAssistant.known = Known(dict(zip(questions, real["question_vectors"][:count])))
    a, b = KnownAssistant(local), KnownAssistant(milvus)
    pairs = [(a.ask(q), b.ask(q)) for q in questions]
    return {"corpus": "arcd", "questions": len(questions),
            "same answer text and abstention": float(np.mean([(x.text, x.abstained) == (y.text, y.abstained)
                                                              for x, y in pairs])),
            "same cited spans": float(np.mean([cited(x) == cited(y) for x, y in pairs]))}


def cited(answer) -> list[tuple[str, int, int]]:
    return [(c.doc_id, c.start, c.end) for c in answer.citations]


def seed_answers(work: Path) -> dict:
    local = Assistant.build([ROOT / "seeds"], work / "seed-local")
    milvus = MilvusIndex.create(str(work / "seed.db"), "seed", work / "seed-milvus", local.index.embedder, 384,
                                local.index.chunking)
    milvus.apply(stores.additions_of(local.index.snapshot), set())
    other = Assistant(milvus)
    seed_questions = ROOT / "tests" / "fixtures" / "eval" / "seed_questions.jsonl"
    asked = [q.question for q in datasets.load([seed_questions]).questions]
    same_text = same_cites = 0
    for q in asked:
        a, b = local.ask(q), other.ask(q)
        same_text += (a.text, a.abstained) == (b.text, b.abstained)
        same_cites += cited(a) == cited(b)
    return {"corpus": "seeds (real e5)", "questions": len(asked),
            "same answer text and abstention": same_text / len(asked), "same cited spans": same_cites / len(asked)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000])
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    real = real_vectors(args.arcd)
    emit(header("Stores: milvus-lite beside local (bench/stores.py)"), args.out)
    loads, latency, agreement, answer_rows = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="qa-stores-") as tmp:
        work = Path(tmp)
        corpora = [("arcd", [arcd_additions(real)])]
        corpora += [(f"synthetic-{n}", list(synthetic_additions(real, n, seed=n, batch=2_000))) for n in args.sizes]
        for name, batches in corpora:
            print(f"  {name} ...", file=sys.stderr, flush=True)
            local, milvus, rows = load(work, name, batches)
            loads += rows
            lat, agr = compare(name, local, milvus, real, args.questions)
            latency += lat
            agreement += agr
            if name == "arcd":
                answer_rows.append(answers(local, milvus, real, args.questions))
        print("  seeds ...", file=sys.stderr, flush=True)
        answer_rows.append(seed_answers(work))
    emit("Loading the same additions into each store:\n\n" + table(loads), args.out)
    emit("\nRetrieval latency (qa.retrieve.search, question vectors precomputed, interleaved):\n\n"
         + table(latency), args.out)
    emit("\nAgreement with the local store (k = 5):\n\n" + table(agreement), args.out)
    emit("\nExtractive answers (Assistant.ask), local vs milvus-lite:\n\n" + table(answer_rows), args.out)
    emit(f"\n- load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n", args.out)


if __name__ == "__main__":
    sys.exit(main())
