"""Speed of the web chat's first screen, in Debian's Chromium: first paint, usable question box, requests.

    python bench/firstscreen.py [--before REV] [--runs 5] [--viewport 1366x900] [--out FILE]

Starts ``qa serve`` on a seed index in a subprocess for this tree and, with ``--before REV``, for
the tree at git revision REV (exported with ``git archive`` into a temporary folder), then loads
the page ``--runs`` times in each, alternating, each time in a fresh browser context (empty cache,
no saved conversations). For every load it records: first contentful paint (the browser's own
``paint`` entry), the time until the question box is visible and enabled (``#qa-input textarea``,
polled every animation frame, as the moment a person can type and press Enter), the number of
requests and the bytes transferred until then. Medians per tree and the ratio after/before.
Nothing outside this machine is contacted (requests to other hosts are aborted and counted).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from common import ROOT, emit, header, table
from serving import free_port

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
USABLE_JS = """() => new Promise(resolve => {
  const check = () => {
    const t = document.querySelector('#qa-input textarea');
    if (t && !t.disabled && t.offsetParent !== null) resolve(performance.now()); else requestAnimationFrame(check);
  };
  check();
})"""


def export(rev: str) -> Path:
    """The tree at ``rev`` in a temporary folder (no .git, no index)."""
    folder = Path(tempfile.mkdtemp(prefix="firstscreen-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def start(tree: Path, index: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--port", str(port)],
                            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"qa serve in {tree} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(url + "api/health", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"qa serve in {tree} did not start")


def load_once(browser, url: str, viewport: dict) -> dict:
    context = browser.new_context(viewport=viewport)
    outside, requests, sizes = [], [], []

    def guard(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: sizes.append(int(r.headers.get("content-length", 0) or 0)))
    page.goto(url, wait_until="commit")
    usable = page.evaluate(USABLE_JS)
    fcp = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
    row = {"first paint ms": fcp or float("nan"), "usable input ms": usable, "requests": len(requests),
           "kB": sum(sizes) / 1000, "outside": len(outside)}
    context.close()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default=None, help="git revision to compare with (e.g. main~3)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--viewport", default="1366x900")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    width, height = (int(x) for x in args.viewport.split("x"))
    work = Path(tempfile.mkdtemp(prefix="firstscreen-idx-"))
    trees = {"this tree": ROOT}
    if args.before:
        trees[f"at {args.before}"] = export(args.before)
    servers = {name: start(tree, work / name.replace(" ", "-") / "index") for name, tree in trees.items()}
    from playwright.sync_api import sync_playwright

    rows: dict[str, list[dict]] = {name: [] for name in trees}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for _, url in servers.values():  # one warm-up load each: Python imports, first requests
                load_once(browser, url, {"width": width, "height": height})
            for _ in range(args.runs):
                for name, (_, url) in servers.items():
                    rows[name].append(load_once(browser, url, {"width": width, "height": height}))
            browser.close()
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
        for tree in trees.values():
            if tree != ROOT:
                shutil.rmtree(tree, ignore_errors=True)
    summary = []
    for name, runs in rows.items():
        summary.append({"tree": name, **{k: statistics.median(r[k] for r in runs) for k in runs[0]}})
    if args.before:
        after, before = summary[0], summary[1]
        summary.append({"tree": "ratio this / before", **{k: after[k] / before[k] if before[k] else float("nan")
                                                          for k in after if k != "tree"}})
    emit(header(f"First screen of the web chat ({args.viewport}, median of {args.runs} loads)")
         + table(summary) + f"\n\nload average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n",
         args.out)


if __name__ == "__main__":
    main()
