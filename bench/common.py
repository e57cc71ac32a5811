"""Shared by the bench scripts: machine header, tables, timing, memory, ARCD vectors, synthetic indexes.

The machines are shared and noisy, so every script prints its command, the machine and the load, and
reports ratios to a baseline measured in the same run. Nothing here is used by the product or the tests.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
CACHE = Path(os.environ.get("QA_BENCH_CACHE", Path.home() / ".cache" / "qa-bench"))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def header(title: str) -> str:
    """The lines every result starts with: what ran, where, when, under what load."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join([
        f"## {title}",
        "",
        f"- command: `python {shlex.join(sys.argv)}`",
        f"- machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {cpu_model()}, "
        f"{_mem_gib():.0f} GiB RAM, Python {platform.python_version()}",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='minutes')}, load average at start {load}",
        "",
        "",
    ])


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) / 2**20
    return 0.0


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts), columns in first-seen order unless given."""
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |")
    return "\n".join(out)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def emit(text: str, out: Path | None) -> None:
    print(text, flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def write_section(path: Path, text: str, section: str) -> None:
    """Put ``text`` in place of the file's ``section`` (appended if there is none)."""
    old = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find(section + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(section))
        new = old[:start] + text + (old[end:] if end >= 0 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, "utf-8")


def percentiles(ms: list[float]) -> dict[str, float]:
    xs = sorted(ms)
    return {"p50 ms": statistics.median(xs), "p90 ms": xs[int(0.9 * (len(xs) - 1))], "mean ms": statistics.fmean(xs)}


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) of one call."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start a new high-water mark for ``VmHWM`` (Linux: writing 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


def dir_bytes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- ARCD


def arcd(path: Path) -> tuple[list[str], list[str], list[int]]:
    """(paragraph texts, questions, each question's paragraph) of a SQuAD-format file."""
    data = json.loads(Path(path).read_text("utf-8"))
    paragraphs, questions, gold = [], [], []
    for article in data["data"]:
        for p in article["paragraphs"]:
            paragraphs.append(p["context"])
            for q in p["qas"]:
                questions.append(q["question"])
                gold.append(len(paragraphs) - 1)
    return paragraphs, questions, gold


def write_corpus(paragraphs: list[str], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(paragraphs):
        (folder / f"p{i:05d}.txt").write_text(text, "utf-8")
    return folder


def real_vectors(arcd_path: Path, progress: bool = True) -> dict[str, np.ndarray | list]:
    """ARCD through the real pipeline, once (cached under ``CACHE``): chunk vectors, sentence vectors,
    chunk texts and sentence texts with their BM25 tokens, and the questions' vectors.
    These are what the synthetic large corpora are resampled from."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / "arcd-real.npz"
    if out.exists():
        d = np.load(out, allow_pickle=False)
        return {k: d[k] for k in d.files}
    import tempfile

    from qa import Assistant
    from qa.lexical import tokenize

    paragraphs, questions, _ = arcd(arcd_path)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_corpus(paragraphs, Path(tmp) / "corpus")
        cb = (lambda d, t: print(f"\r  embedding ARCD once for the cache: {d}/{t} chunks", end="", file=sys.stderr)) \
            if progress else None
        a = Assistant.build([corpus], Path(tmp) / "index", progress=cb)
        snap = a.index.snapshot
        chunks = [snap.chunks[i] for i in range(len(snap))]
        sentences = [c.sentence_text(s) for c in chunks for s in c.sentences]
        q = a.embedder.embed_queries(questions)
        d = {
            "chunk_vectors": np.asarray(snap.vectors, np.float32),
            "sentence_vectors": np.asarray(snap.sentence_vectors, np.float32),
            "sentence_offsets": np.concatenate([[0], np.cumsum(np.subtract(*snap.sentence_bounds(
                np.arange(len(snap)))[::-1]))]).astype(np.int64),
            "chunk_texts": np.asarray([c.text for c in chunks]),
            "sentence_texts": np.asarray(sentences),
            "sentence_tokens": np.asarray([" ".join(tokenize(s)) for s in sentences]),
            "question_vectors": np.asarray(q, np.float32),
            "questions": np.asarray(questions),
        }
    np.savez(out, **d)
    print(file=sys.stderr)
    return d


# ---------------------------------------------------------------- synthetic corpora


def perturbed(base: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.02) -> np.ndarray:
    """``n`` unit vectors, each a real vector plus a random share (0-50%) of another real vector plus
    Gaussian noise (``noise`` per dimension), renormalised: they keep the real vectors' geometry
    (anisotropy, topic clusters) without being copies."""
    a = base[rng.integers(0, len(base), n)]
    b = base[rng.integers(0, len(base), n)]
    v = a + rng.uniform(0, 0.5, (n, 1)).astype(np.float32) * b + rng.normal(0, noise, a.shape).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


def synthetic_additions(real: dict, n_chunks: int, seed: int, chunks_per_doc: int = 10,
                        batch: int = 50_000, dim: int = 384) -> Iterator[list]:
    """Batches of ``Addition``s for ``n_chunks`` synthetic chunks: texts of 3-6 resampled ARCD sentences
    (their BM25 tokens reused: a chunk's tokens are its sentences' tokens), passage vectors from
    ``perturbed`` real chunk and sentence vectors, sentence vectors from perturbed real sentence vectors."""
    from qa.index import Addition
    from qa.records import Chunk, Document, Span, content_id

    rng = np.random.default_rng(seed)
    texts, tokens = real["sentence_texts"], real["sentence_tokens"]
    base = np.vstack([real["chunk_vectors"], real["sentence_vectors"]])
    sbase = real["sentence_vectors"]
    made = 0
    doc_no = 0
    while made < n_chunks:
        size = min(batch, n_chunks - made)
        vectors = perturbed(base, size, rng)
        counts = rng.integers(3, 7, size)
        svectors = perturbed(sbase, int(counts.sum()), rng)
        picks = rng.integers(0, len(texts), int(counts.sum()))
        additions, at, sat = [], 0, 0
        while at < size:
            k = min(chunks_per_doc, size - at)
            doc_id = content_id("synthetic", seed, doc_no)
            path = f"/synthetic/{seed}/{doc_no}.txt"
            chunks, ctoks, svecs, pos = [], [], [], 0
            for j in range(k):
                c = int(counts[at + j])
                sents = [str(texts[p]) for p in picks[sat : sat + c]]
                spans, text = [], []
                start = pos
                for s in sents:
                    spans.append(Span(pos, pos + len(s)))
                    text.append(s)
                    pos += len(s) + 1
                body = " ".join(text)
                chunks.append(Chunk(id=content_id(doc_id, start, start + len(body)), doc_id=doc_id, path=path,
                                    title=f"synthetic {doc_no}", lang="ar", text=body, start=start,
                                    end=start + len(body), sentences=tuple(spans)))
                ctoks.append(" ".join(str(tokens[p]) for p in picks[sat : sat + c]).split())
                svecs.append(svectors[sat : sat + c])
                sat += c
            doc = Document(id=doc_id, title=f"synthetic {doc_no}", path=path, lang="ar", text="")
            additions.append(Addition(doc, doc_id, chunks, vectors[at : at + k], svecs, ctoks))
            at += k
            doc_no += 1
        made += size
        yield additions
