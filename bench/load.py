"""Load test: N concurrent HTTP clients against ``qa serve`` on loopback for a fixed time.

    python bench/load.py                              # starts its own `qa serve` on a temp index from seeds/
    python bench/load.py --clients 32 --seconds 60 --out docs/benchmarks.md
    python bench/load.py --url http://127.0.0.1:7860 --pid 12345   # an already running server
    python bench/load.py --rounds 3                   # then twice more: does RSS keep growing?
    python bench/load.py --during-upload --rate 4 --seconds 30 --upload-paragraphs 200 [--before REV]

Each client loops until the time is up, picking (seeded) among: a question to /api/ask or /api/search
(Arabic and English, all modes), an upload of a small new document to /api/documents, and the removal
of a document it uploaded earlier. Reported: requests/s, p50/p95/p99/max latency per endpoint, errors
(any status >= 400 or transport error; the goal is 0), and the server's RSS after warm-up, after the
run and at its peak (``--pid``, or the server this script started); with ``--rounds N`` the load runs N
times against the same server, the table shows the first round and RSS is reported after each (growth
that stops after the first round is caches and allocator pools, growth in every round a leak).
``--out`` writes the result into the "Load test" section of a Markdown file (other sections are left
as they are).
``--during-upload`` measures questions while a large upload is embedded instead (``bench/load_upload.py``:
ask p95 during the upload vs without, one server, one run; section "Questions during an upload");
``--before REV`` runs the same on a server started from git revision REV too, after it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import random
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx
import numpy as np
from common import cpu_model, write_section
from serving import own_server, rss_mb

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Load test"

QUESTIONS = [
    "How many participants attended the forum?",
    "Who organised the Marrakech Security Forum?",
    "What was the theme of the forum?",
    "Which countries took part in the forum?",
    "When was the forum held?",
    "كم عدد المشاركين في المنتدى؟",
    "ما هو شعار المنتدى؟",
    "من نظم منتدى مراكش للأمن؟",
    "ما هي الدبلوماسية الوقائية؟",
    "متى انعقد المنتدى؟",
    "What is preventive diplomacy?",
    "Who won the 2018 World Cup?",  # not in the documents: an abstention
]
MODES = ["hybrid", "hybrid", "dense", "bm25"]
CITIES = ["Tangier", "Fes", "Agadir", "Oujda", "Tetouan", "Essaouira", "Meknes", "Safi"]
CITIES_AR = ["طنجة", "فاس", "أكادير", "وجدة", "تطوان", "الصويرة", "مكناس", "آسفي"]
# Shares of the request mix (the rest are /api/search).
ASK, UPLOAD, DELETE = 0.45, 0.04, 0.03


def note(client: int, n: int, rng: random.Random) -> tuple[str, bytes]:
    """A small new document, English or Arabic, unique to this client and upload."""
    i = rng.randrange(len(CITIES))
    if rng.random() < 0.5:
        text = (f"Load note {client}-{n}\n\nThe library of {CITIES[i]} lent {rng.randint(100, 9999)} books in week "
                f"{n}. Its reading room has {rng.randint(10, 300)} seats and opens at {rng.randint(7, 10)} am.\n")
    else:
        text = (f"ملاحظة {client}-{n}\n\nأعارت مكتبة {CITIES_AR[i]} {rng.randint(100, 9999)} كتابا في الأسبوع {n}. "
                f"وتضم قاعة المطالعة {rng.randint(10, 300)} مقعدا.\n")
    return f"load-{client}-{n}.txt", text.encode("utf-8")


async def client_loop(client: int, http: httpx.AsyncClient, deadline: float, seed: int, stats: dict) -> None:
    rng = random.Random(seed * 1000 + client)
    mine: list[str] = []
    n = 0
    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < DELETE and mine:
            endpoint, call = "DELETE /api/documents/{id}", http.delete(f"/api/documents/{mine.pop(0)}")
        elif roll < DELETE + UPLOAD:
            n += 1
            name, data = note(client, n, rng)
            endpoint = "POST /api/documents"
            # wait=true: the reply is the finished job, so the client knows its documents' ids to remove
            call = http.post("/api/documents", files=[("files", (name, data, "text/plain"))], params={"wait": "true"})
        else:
            body = {"question": rng.choice(QUESTIONS), "mode": rng.choice(MODES), "k": rng.choice([3, 5, 8])}
            endpoint = "POST /api/ask" if roll < DELETE + UPLOAD + ASK else "POST /api/search"
            call = http.post(endpoint.split()[1], json=body)
        started = time.perf_counter()
        try:
            r = await call
            ok = r.status_code < 400
            if not ok:
                stats["errors"].append(f"{endpoint}: {r.status_code} {r.text[:200]}")
            elif endpoint == "POST /api/documents":
                mine += [d["id"] for d in (r.json()["result"] or {}).get("documents", [])]
        except httpx.HTTPError as e:
            ok = False
            stats["errors"].append(f"{endpoint}: {type(e).__name__} {e}")
        stats["latency"][endpoint].append(time.perf_counter() - started)
        stats["failed"][endpoint] += not ok
    stats["leftover"] += mine


async def run(url: str, clients: int, seconds: float, seed: int, pid: int | None, rounds: int = 1) -> dict:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:
        before_docs = len((await http.get("/api/documents")).json()["documents"])
        for q in QUESTIONS[:4]:  # warm-up: model, caches, first-request costs
            (await http.post("/api/ask", json={"question": q})).raise_for_status()
        rss_before = rss_mb(pid)
        results = []
        for r in range(rounds):
            stats = {"latency": defaultdict(list), "failed": defaultdict(int), "errors": [], "leftover": []}
            started = time.monotonic()
            await asyncio.gather(*(client_loop(c, http, started + seconds, seed + r, stats) for c in range(clients)))
            elapsed = time.monotonic() - started
            for doc_id in stats["leftover"]:  # leave the index as it was
                await http.delete(f"/api/documents/{doc_id}")
            results.append({"stats": stats, "elapsed": elapsed, "rss_after": rss_mb(pid)})
        after_docs = len((await http.get("/api/documents")).json()["documents"])
    return {**results[0], "rounds": results, "rss_before": rss_before, "rss_peak": rss_mb(pid, "VmHWM"),
            "docs": (before_docs, after_docs)}


def report(result: dict, args: argparse.Namespace, command: str, load_at_start: tuple) -> str:
    stats, elapsed = result["stats"], result["elapsed"]
    rows = []
    order = ["POST /api/ask", "POST /api/search", "POST /api/documents", "DELETE /api/documents/{id}"]
    for endpoint in [*order, "all"]:
        lat = ([x for v in stats["latency"].values() for x in v] if endpoint == "all"
               else stats["latency"].get(endpoint, []))
        if not lat:
            continue
        failed = sum(stats["failed"].values()) if endpoint == "all" else stats["failed"][endpoint]
        p50, p95, p99 = (np.percentile(lat, q) * 1000 for q in (50, 95, 99))
        rows.append(f"| {endpoint} | {len(lat)} | {failed} | {len(lat) / elapsed:.2f} | {p50:.0f} | {p95:.0f} "
                    f"| {p99:.0f} | {max(lat) * 1000:.0f} |")
    mb = lambda v: "n/a" if v is None else f"{v:.0f} MB"  # noqa: E731
    rounds = result["rounds"]
    of_rounds = f" (the first of {len(rounds)} rounds)" if len(rounds) > 1 else ""
    later = "".join(
        f" Round {i}: {sum(len(v) for v in r['stats']['latency'].values()) / r['elapsed']:.1f} requests/s, "
        f"{len(r['stats']['errors'])} errors, RSS {mb(r['rss_after'])} after it." for i, r in enumerate(rounds[1:], 2))
    lines = [
        SECTION, "",
        f"- command: `{command}`",
        f"- machine: `nproc` = {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}; "
        f"load average at start {', '.join(f'{x:.2f}' for x in load_at_start)}",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='minutes')}",
        f"- {args.clients} clients for {elapsed:.0f} s{of_rounds} against `qa serve` on loopback"
        + (" (started by the script on a temp index built from `seeds/`)" if not args.url else f" at {args.url}")
        + f"; mix: {ASK:.0%} ask, {1 - ASK - UPLOAD - DELETE:.0%} search (Arabic and English, hybrid/dense/bm25, "
        f"k 3-8), {UPLOAD:.0%} uploads of a new small document, {DELETE:.0%} removals of one",
        "",
        "| endpoint | requests | errors | requests/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Server RSS: {mb(result['rss_before'])} after warm-up, {mb(result['rss_after'])} after the run, "
        f"peak {mb(result['rss_peak'])}.{later} Documents: {result['docs'][0]} before, {result['docs'][1]} after "
        "(each round removes what it uploaded).",
    ]
    errors = [e for r in rounds for e in r["stats"]["errors"]]
    if errors:
        lines += ["", "Errors (first 10):", *[f"- {e}" for e in errors[:10]]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--url", help="an already running server (default: start `qa serve` on a free port)")
    parser.add_argument("--pid", type=int, help="the server's process id, for its RSS (with --url)")
    parser.add_argument("--index", type=Path, help="index for the server this script starts (default: temp)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1, help="run the load this many times on the same server")
    parser.add_argument("--out", type=Path, help="write the result into this Markdown file's Load test section")
    parser.add_argument("--during-upload", action="store_true", help="questions while a large upload is embedded")
    parser.add_argument("--rate", type=float, default=4.0, help="--during-upload: questions per second")
    parser.add_argument("--upload-paragraphs", type=int, default=200, help="--during-upload: size of the upload")
    parser.add_argument("--arcd", type=Path, default=Path("/work/shared/data/arcd/arcd.json"))
    parser.add_argument("--before", help="--during-upload: also on a server from this git revision")
    args = parser.parse_args()
    command = "python " + shlex.join(["bench/load.py", *sys.argv[1:]])
    load_at_start = os.getloadavg()
    if args.during_upload:
        import load_upload

        sys.exit(load_upload.during_upload(args, command, load_at_start, QUESTIONS, MODES))
    if args.url:
        result = asyncio.run(run(args.url.rstrip("/"), args.clients, args.seconds, args.seed, args.pid, args.rounds))
    else:
        with own_server(args.index) as (url, pid):
            result = asyncio.run(run(url, args.clients, args.seconds, args.seed, pid, args.rounds))
    text = report(result, args, command, load_at_start)
    print(text)
    if args.out:
        write_section(args.out, text, SECTION)
        print(f"written to {args.out}")
    sys.exit(1 if any(r["stats"]["errors"] for r in result["rounds"]) else 0)


if __name__ == "__main__":
    main()
