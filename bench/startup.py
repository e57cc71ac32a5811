"""Start-up and memory of `qa serve`: from the command to the first answered question, and peak RSS.

    python bench/startup.py [--index DIR ...] [--no-seed] [--runs 3] [--asks 20] [--out FILE]

It builds the seed corpus (seeds/) into a temporary index first (not timed) and measures it, then
each ``--index`` folder.
For each index it starts ``qa serve --index DIR --port P`` as a subprocess, polls ``POST /api/ask``
until one answer comes back (that moment is the start-up time), asks ``--asks`` more questions, and
reads the server's peak RSS (VmHWM) and current RSS split into anonymous and file-backed pages.
The baseline measured in the same run is ``python -c 'import qa'`` plus loading the embedder and
embedding one question: what any process that answers must pay before touching an index; beside it,
``python -c 'import ui.server'`` (FastAPI + Gradio) on its own.
Pass the 100k index that ``bench/scale.py --work DIR`` keeps (DIR/synthetic-100000) for that size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, emit, header, table
from serving import free_port

QUESTIONS = ["كم عدد المشاركين في المنتدى؟", "How many participants attended the forum?",
             "ما هو موضوع المنتدى؟", "Where was the forum held?"]


def status(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = int(line.split()[1]) / 1024
    return out


def ask(port: int, question: str, timeout: float = 30) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/ask", data=json.dumps({"question": question}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def serve_once(index: Path, asks: int) -> dict:
    port = free_port()
    qa = Path(sys.executable).with_name("qa")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(qa), "serve", "--index", str(index), "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"qa serve exited: {proc.stderr.read()[-2000:]}")
            try:
                answer = ask(port, QUESTIONS[0], timeout=60)
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        first = time.perf_counter() - t0
        ms = []
        for i in range(asks):
            t = time.perf_counter()
            ask(port, QUESTIONS[i % len(QUESTIONS)])
            ms.append((time.perf_counter() - t) * 1000)
        mem = status(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"first answer s": first, "answer timings ms (server)": answer.get("timings", {}).get("total_ms"),
            "HTTP ask p50 ms": sorted(ms)[len(ms) // 2] if ms else float("nan"),
            "peak RSS MiB": mem.get("VmHWM"), "RssAnon MiB": mem.get("RssAnon"), "RssFile MiB": mem.get("RssFile")}


def timed_python(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return time.perf_counter() - t


def baseline() -> float:
    return timed_python("import qa; from qa.embed import get_embedder; e = get_embedder(); e.embed_queries(['x'])")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, action="append", default=[])
    ap.add_argument("--no-seed", action="store_true", help="only the --index folders, not the seed corpus")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--asks", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        indexes = list(args.index)
        if not args.no_seed:
            sys.path.insert(0, str(ROOT))
            from qa import Assistant

            Assistant.build([ROOT / "seeds"], Path(tmp) / "seed")
            indexes.insert(0, Path(tmp) / "seed")
        rows = []
        for index in indexes:
            manifest = json.loads((index / (index / "CURRENT").read_text().strip() / "manifest.json").read_text())
            for run in range(args.runs):
                base = baseline()
                web = timed_python("import ui.server")
                r = serve_once(index, args.asks)
                rows.append({"index": f"{index.name} ({manifest['chunks']} chunks, {manifest['ann']})", "run": run + 1,
                             "baseline s (import + load e5 + 1 query)": base, "import ui.server s": web, **r,
                             "first answer / baseline": r["first answer s"] / base})
                print(f"  {index.name} run {run + 1}: {r['first answer s']:.2f}s", file=sys.stderr, flush=True)
    emit(header("Start-up of `qa serve` (bench/startup.py)") + table(rows) + "\n", args.out)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
