"""Ray ingest against local ingest: passages/s with 1 and 2 Ray workers beside the local runner, one run.

    python bench/ingest_ray.py /work/shared/data/arcd/arcd.json [--docs 48] [--rounds 2] [--address ADDR]

The first ``--docs`` ARCD paragraphs (one .txt each) are ingested into a fresh index by each runner in
turn, ``--rounds`` times in alternating order: ``local`` (this process, one embedding worker per core),
``ray`` with 1 and with 2 embedding actors (one engine thread each). Without ``--address`` a Ray
instance is started on this machine once, before the timings (its ~10 s start is not counted; each
job's actor start-up is). Chunks/s (passages/s) and the ratio to local are reported.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from common import arcd, emit, header, table, write_corpus

from qa import Assistant
from qa.ingest import LocalRunner, RayRunner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arcd", type=Path)
    ap.add_argument("--docs", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--address", default=None)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import ray

    started = time.perf_counter()
    ray.init(address=args.address, log_to_driver=False, **({} if args.address else {"num_cpus": os.cpu_count()}))
    ray_start = time.perf_counter() - started
    ray.data.DataContext.get_current().enable_progress_bars = False
    runners = {"local (one worker per core)": LocalRunner(), "ray, 1 worker": RayRunner(args.address, workers=1),
               "ray, 2 workers": RayRunner(args.address, workers=2)}
    totals = {k: [0.0, 0] for k in runners}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_corpus(arcd(args.arcd)[0][: args.docs], Path(tmp) / "corpus")
        Assistant.build([], Path(tmp) / "warm").add([next(corpus.iterdir())])  # model paged in
        for r in range(args.rounds):
            order = list(runners) if r % 2 == 0 else list(reversed(runners))
            for name in order:
                a = Assistant.build([], Path(tmp) / f"{r}-{list(runners).index(name)}")
                t = time.perf_counter()
                report = a.add([corpus], runner=runners[name])
                totals[name][0] += time.perf_counter() - t
                totals[name][1] += report.chunks
            print(f"round {r + 1}/{args.rounds} done, load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    ray.shutdown()
    local = totals["local (one worker per core)"]
    rows = [{"runner": k, "chunks": n, "seconds": s, "passages/s": n / s, "vs local": (n / s) / (local[1] / local[0])}
            for k, (s, n) in totals.items()]
    text = header("Ray ingest beside local (bench/ingest_ray.py)")
    text += (f"{args.docs} ARCD paragraphs, {args.rounds} rounds in alternating order; Ray "
             f"{'cluster at ' + args.address if args.address else 'started on this machine'} "
             f"in {ray_start:.1f} s (not counted).\n\n")
    emit(text + table(rows) + "\n", args.out)


if __name__ == "__main__":
    main()
