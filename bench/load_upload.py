"""Questions while a large upload is embedded: ask latency during the upload vs with no upload, one run.

Run through ``python bench/load.py --during-upload`` (see its docstring). Questions arrive open-loop,
a seeded Poisson stream at ``--rate`` per second, each its own request, so a slow answer does not slow
the arrivals and the server has idle time between questions, as with a team asking. On one server:

1. ``quiet``: ``--seconds`` of questions, nothing else;
2. ``upload``: one file of ``--upload-paragraphs`` ARCD paragraphs is uploaded, questions go on until
   it is indexed (the request returns, or its job ends);
3. ``quiet``: ``--seconds`` more of questions (so drift in the machine's load shows), then the upload is
   removed.

The target (issue 9) is ask p95 during the upload ≤ 3× ask p95 of the quiet phases, and 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from common import ROOT, cpu_model, write_section
from serving import own_server

SECTION = "## Questions during an upload"


def upload_text(arcd: Path, paragraphs: int) -> bytes:
    data = json.loads(arcd.read_text("utf-8"))
    texts = [p["context"] for a in data["data"] for p in a["paragraphs"]][:paragraphs]
    return ("Upload for the load test\n\n" + "\n\n".join(texts) + "\n").encode("utf-8")


async def _ask(http: httpx.AsyncClient, body: dict, phase: str, stats: dict) -> None:
    started = time.perf_counter()
    try:
        r = await http.post("/api/ask", json=body)
        if r.status_code >= 400:
            stats["errors"].append(f"{phase}: {r.status_code} {r.text[:200]}")
    except httpx.HTTPError as e:
        stats["errors"].append(f"{phase}: {type(e).__name__} {e}")
    stats[phase].append(time.perf_counter() - started)


async def questions(http: httpx.AsyncClient, phase: str, until, rate: float, rng: random.Random,
                    stats: dict, questions: list[str], modes: list[str]) -> None:
    """Poisson arrivals at ``rate``/s while ``until()`` is false; waits for the answers in flight."""
    tasks = []
    while not until():
        await asyncio.sleep(rng.expovariate(rate))
        body = {"question": rng.choice(questions), "mode": rng.choice(modes), "k": 5}
        tasks.append(asyncio.create_task(_ask(http, body, phase, stats)))
    await asyncio.gather(*tasks)


async def _upload(http: httpx.AsyncClient, data: bytes, done: dict) -> None:
    started = time.perf_counter()
    r = await http.post("/api/documents", files=[("files", ("load-upload.txt", data, "text/plain"))])
    r.raise_for_status()
    body = r.json()
    if r.status_code == 202:  # a background job: follow it until it ends
        job = body.get("job", body)
        while True:
            state = (await http.get(f"/api/jobs/{job['id']}")).json()
            state = state.get("job", state)
            if state.get("state") not in ("queued", "running"):
                body = state
                break
            await asyncio.sleep(0.5)
    done.update(seconds=time.perf_counter() - started, body=body)


async def run(url: str, seconds: float, rate: float, seed: int, data: bytes, questions_list: list[str],
              modes: list[str]) -> dict:
    rng = random.Random(seed)
    stats: dict = {"quiet": [], "upload": [], "errors": []}
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        for q in questions_list[:4]:  # warm-up
            (await http.post("/api/ask", json={"question": q})).raise_for_status()
        for phase in ("quiet", "upload", "quiet"):
            if phase == "upload":
                done: dict = {}
                up = asyncio.create_task(_upload(http, data, done))
                await questions(http, phase, up.done, rate, rng, stats, questions_list, modes)
                await up
                upload = done
            else:
                end = time.monotonic() + seconds
                await questions(http, phase, lambda e=end: time.monotonic() > e, rate, rng, stats,
                                questions_list, modes)
        docs = (await http.get("/api/documents")).json()["documents"]
        chunks = 0
        for d in docs:
            if d.get("title", "").startswith("Upload for the load test") or "load-upload" in str(d.get("path", "")):
                chunks += int(d.get("chunks", 0))
                await http.delete(f"/api/documents/{d['id']}")
    return {"stats": stats, "upload": upload, "chunks": chunks}


def report(result: dict, rate: float, paragraphs: int) -> list[str]:
    stats, upload = result["stats"], result["upload"]
    rows, p95 = [], {}
    for phase in ("quiet", "upload"):
        lat = np.asarray(stats[phase]) * 1000
        p50, p95[phase], p99 = (np.percentile(lat, q) for q in (50, 95, 99))
        errors = sum(e.startswith(phase) for e in stats["errors"])
        rows.append(f"| {phase if phase == 'upload' else 'no upload (before + after)'} | {len(lat)} | {errors} "
                    f"| {p50:.0f} | {p95[phase]:.0f} | {p99:.0f} | {lat.max():.0f} |")
    ratio = p95["upload"] / p95["quiet"]
    return [
        f"Questions at {rate:g}/s (Poisson, open loop), an upload of {paragraphs} ARCD paragraphs in one .txt "
        f"({result['chunks']} chunks) indexed in {upload['seconds']:.1f} s "
        f"({result['chunks'] / upload['seconds']:.2f} chunks/s while questions were answered).",
        "",
        "| phase | asks | errors | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"ask p95 during the upload / without: **{ratio:.2f}x** (target ≤ 3x, 0 errors: "
        f"{'met' if ratio <= 3 and not stats['errors'] else 'not met'}).",
    ]


def during_upload(args: argparse.Namespace, command: str, load_at_start: tuple, questions: list[str],
                  modes: list[str]) -> int:
    """``bench/load.py --during-upload``: the phases above on this tree's server (and on ``--before``'s)."""
    data = upload_text(args.arcd, args.upload_paragraphs)
    servers = [("this tree", ROOT)]
    worktree = None
    if args.before:
        worktree = Path(tempfile.mkdtemp(prefix="qa-before-"))
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.before],
                       check=True, capture_output=True)
        servers.append((f"at {args.before}", worktree))
    lines = [SECTION, "", f"- command: `{command}`",
             f"- machine: `nproc` = {os.cpu_count()}, {cpu_model()}, Python {platform.python_version()}; "
             f"load average at start {', '.join(f'{x:.2f}' for x in load_at_start)}",
             f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='minutes')}", ""]
    errors = 0
    try:
        for name, root in servers:
            if args.url and root == ROOT:
                result = asyncio.run(run(args.url.rstrip("/"), args.seconds, args.rate, args.seed, data,
                                                     questions, modes))
            else:
                with own_server(None, root) as (url, _):
                    result = asyncio.run(run(url, args.seconds, args.rate, args.seed, data,
                                                         questions, modes))
            lines += [f"**Server: {name}.** " + report(result, args.rate, args.upload_paragraphs)[0],
                      *report(result, args.rate, args.upload_paragraphs)[1:], ""]
            lines += [f"- error: {e}" for e in result["stats"]["errors"][:10]]
            errors += len(result["stats"]["errors"])
    finally:
        if worktree:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        write_section(args.out, text, SECTION)
    return 1 if errors else 0
