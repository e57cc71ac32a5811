"""Segments (issue 11): what a save costs at 100k and 1M chunks, with segments and as it was, and what
segments cost questions.

    python bench/segments.py /work/shared/data/arcd/arcd.json [--sizes 100000 1000000] [--batch 250000]
                             [--work DIR] [--reuse] [--before REV] [--questions 300] [--out FILE]

Per size, on the synthetic corpus of ``bench/synthetic.synthetic_additions`` (real ARCD material):
1. the corpus through ``Index.apply`` in batches of ``--batch`` chunks, then merged into one segment:
   the one-segment baseline (build and merge timed);
2. ten adds of 10 chunks each (each timed: the issue's target is <= 2 s at 1M, 52 s before), which
   leave 1 large + 10 small segments (merges are off while measuring: ``QA_MERGE=off``);
3. the removal of one 10-chunk document of the large segment (timed);
4. the tiered merge those saves made due (the 10 small segments into one; timed);
5. retrieval latency (``qa.retrieve.search`` with the real question vectors, interleaved question by
   question) and dense recall@10 against exact search, on the snapshots after steps 1, 2, 3 and 4
   (those of 3 and 4 also as before ``dense.OVERFETCH_DEAD`` and ``lexical._past``: removed rows
   skipped by a FAISS id selector, BM25 postings mapped through a row map; ``removals.twin``);
6. with ``--before REV``: the same 10-chunk add and removal by the code at git revision REV (today's
   numbers), on its own index of the same corpus built by that revision, in a subprocess of this run.
Timings are wall seconds on a shared machine: compare within a table, as ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["QA_MERGE"] = "off"  # merges happen where this script says, and are timed there

import numpy as np  # noqa: E402
from common import ROOT, emit, header, hwm_mib, percentiles, reset_peak_rss, table  # noqa: E402
from memory import AnonPeak  # noqa: E402
from removals import twin  # noqa: E402
from scale_kinds import exact_top, recall  # noqa: E402
from synthetic import real_vectors, synthetic_additions  # noqa: E402

from qa.chunk import ChunkSettings  # noqa: E402
from qa.index import Index, dense, merge  # noqa: E402
from qa.lexical import tokenize  # noqa: E402
from qa.retrieve import SearchOptions, search  # noqa: E402
from qa.text import detect_language  # noqa: E402


def timed_apply(index: Index, additions: list, remove: set[str], what: str) -> dict:
    before = len(index.snapshot)
    reset_peak_rss()
    t = time.perf_counter()
    with AnonPeak() as anon:
        index.apply(additions, remove)
    return {"step": what, "index before": before, "chunks after": len(index.snapshot),
            "segments after": len(index.snapshot.segments), "seconds": time.perf_counter() - t,
            "peak RssAnon MiB": anon.peak, "peak RSS MiB (incl. mapped)": hwm_mib()}


def build(folder: Path, real: dict, n: int, batch: int) -> list[dict]:
    index = Index.create(folder, "e5-small", 384, ChunkSettings())
    rows = []
    for additions in synthetic_additions(real, n, seed=n, batch=batch):
        rows.append(timed_apply(index, additions, set(), f"build: add {sum(len(a.chunks) for a in additions)}"))
        print(f"  {rows[-1]['chunks after']} / {n}: {rows[-1]['seconds']:.0f}s", file=sys.stderr, flush=True)
        del additions
    if len(index.snapshot.segments) > 1:
        t = time.perf_counter()
        with AnonPeak() as anon:
            index.merge_segments([seg.name for seg in index.snapshot.segments])
        rows.append({"step": "build: merge into one segment", "index before": len(index.snapshot),
                     "chunks after": len(index.snapshot), "segments after": len(index.snapshot.segments),
                     "seconds": time.perf_counter() - t, "peak RssAnon MiB": anon.peak})
    return rows


SELECTOR = " (as before: id selector, BM25 row map)"  # the same generation, searched as before removals.py
OVERFETCH_DEAD = dense.OVERFETCH_DEAD


def strategy(name: str) -> None:
    """Dense search of the snapshot ``name`` as today (over-fetch a few dead rows) or as before."""
    dense.OVERFETCH_DEAD = 0 if name.endswith(SELECTOR) else OVERFETCH_DEAD


def latency(snaps: dict[str, object], real: dict, count: int) -> list[dict]:
    questions = [str(q) for q in real["questions"][:count]]
    vectors = real["question_vectors"][:count]
    names = list(snaps)
    times: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up: page in the maps, fill the per-snapshot caches
        strategy(name)
        search(snaps[name], vectors[0], tokenize(questions[0]), "ar", SearchOptions())
    for i, (q, v) in enumerate(zip(questions, vectors)):
        tokens, lang = tokenize(q), detect_language(q)
        for name in names[i % len(names):] + names[: i % len(names)]:
            strategy(name)
            c, t = time.process_time(), time.perf_counter()
            search(snaps[name], v, tokens, lang, SearchOptions())
            times[name].append((time.perf_counter() - t) * 1000)
            cpu[name].append((time.process_time() - c) * 1000)
    base, base_cpu = float(np.median(times[names[0]])), float(np.median(cpu[names[0]]))
    # CPU time is the work done, which waiting for a core shared with other processes does not inflate.
    return [{"snapshot": name, "segments": len(snaps[name].segments), "chunks": len(snaps[name]),
             **percentiles(ms), "p50 / one segment": float(np.median(ms)) / base,
             "p50 CPU ms": float(np.median(cpu[name])), "CPU p50 / one segment": float(np.median(cpu[name])) / base_cpu}
            for name, ms in times.items()]


def dense_recall(snap, queries: np.ndarray) -> float:
    exact = exact_top(np.asarray(snap.vectors, np.float32), queries)
    found = np.asarray([snap.dense_search("ar", q, 10)[0] for q in queries])
    return recall(found, exact)


BEFORE = r"""
import json, sys
from pathlib import Path
tree, arcd, folder, n, batch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sys.path[:0] = [tree, tree + "/bench"]
import scale
from synthetic import real_vectors
real = real_vectors(arcd)
if not (folder / "CURRENT").exists():
    scale.build_index(folder, real, n, batch)
print("RESULT " + json.dumps([scale.small_add(folder, real, n), scale.small_remove(folder)]))
"""


def before(rev: str, arcd: Path, folder: Path, n: int, batch: int) -> list[dict]:
    """The 10-chunk add and removal by the code at ``rev`` (its bench/scale.py functions)."""
    tree = Path(tempfile.mkdtemp(prefix="qa-before-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", BEFORE, str(tree), str(arcd), str(folder), str(n), str(batch)],
                          env=env, capture_output=True, text=True, check=False)
    result = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    if result is None:
        raise RuntimeError(f"the {rev} run failed: {done.stderr[-3000:]}")
    add, remove = json.loads(result[len("RESULT "):])
    return [{"step": f"{rev}: add 10 chunks", "index before": add["index before"], "seconds": add["apply s"],
             "peak RssAnon MiB": add["peak RssAnon MiB"]},
            {"step": f"{rev}: remove 10 chunks", "index before": remove["index before"], "seconds": remove["apply s"],
             "peak RssAnon MiB": remove["peak RssAnon MiB"]}]


def run_size(args, real: dict, n: int) -> None:
    folder = args.work / f"segments-{n}"
    steps = []
    if not (args.reuse and (folder / "CURRENT").exists()):
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        steps += build(folder, real, n, args.batch)
    index = Index.open(folder, verify=False)
    snaps = {"1 segment (after the build)": index.snapshot}
    for i in range(10):
        [additions] = list(synthetic_additions(real, 10, seed=n + 7919 * (i + 1) + len(index.snapshot)))
        steps.append(timed_apply(index, additions, set(), f"add 10 chunks ({i + 1} of 10)"))
    snaps["+10 small segments"] = index.snapshot
    victim = index.snapshot.segments[0].documents[len(index.snapshot.segments[0].documents) // 2]["id"]
    steps.append(timed_apply(index, [], {victim}, "remove 10 chunks (a document of the large segment)"))
    snaps["+10 small, 10 removed"] = index.snapshot
    due = merge.plan(index.snapshot)
    t = time.perf_counter()
    index.merge_segments(due)
    steps.append({"step": f"tiered merge of {len(due)} segments", "index before": len(index.snapshot),
                  "chunks after": len(index.snapshot), "segments after": len(index.snapshot.segments),
                  "seconds": time.perf_counter() - t})
    snaps["after the merge"] = index.snapshot
    for name in ("+10 small, 10 removed", "after the merge"):  # caches of its own (see removals.twin)
        snaps[name + SELECTOR] = twin(snaps[name], as_before=True)
    if args.before:
        steps += before(args.before, args.arcd, args.work / f"before-{n}", n, args.batch)
    emit(f"\n### {n} chunks: saves\n\n" + table(steps), args.out)
    emit(f"\nRetrieval latency at {n} chunks ({args.questions} ARCD questions, vectors precomputed; "
         "interleaved):\n\n" + table(latency(snaps, real, args.questions)), args.out)
    queries = real["question_vectors"][: args.questions]
    rows = []
    for name, s in snaps.items():
        strategy(name)
        rows.append({"snapshot": name, "segments": len(s.segments),
                     "dense recall@10 vs exact": dense_recall(s, queries)})
    strategy("")
    emit(f"\nDense recall@10 against exact search at {n} chunks:\n\n" + table(rows), args.out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--batch", type=int, default=250_000)
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--work", type=Path, default=None, help="keep the built indexes here (default: temporary)")
    ap.add_argument("--reuse", action="store_true", help="reuse an index of that size already in --work")
    ap.add_argument("--before", default=None, help="git revision whose add/removal to time on its own index")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    args.work = args.work or Path(tempfile.mkdtemp(prefix="qa-segments-"))
    real = real_vectors(args.arcd)
    emit(header("Segments (bench/segments.py)") + f"Indexes in {args.work}; merges only where listed.\n", args.out)
    for n in args.sizes:
        run_size(args, real, n)
    emit(f"\n- load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n", args.out)


if __name__ == "__main__":
    sys.exit(main())
