"""Shared by the bench scripts: machine header, tables, timing, memory, the ARCD corpus as files.

The machines are shared and noisy, so every script prints its command, the machine and the load, and
reports ratios to a baseline measured in the same run. ARCD's vectors and the synthetic corpora made of
them are ``synthetic``. Nothing here is used by the product or the tests.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
CACHE = Path(os.environ.get("QA_BENCH_CACHE", Path.home() / ".cache" / "qa-bench"))


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def header(title: str) -> str:
    """The lines every result starts with: what ran, where, when, under what load."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join([
        f"## {title}",
        "",
        f"- command: `python {shlex.join(sys.argv)}`",
        f"- machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {cpu_model()}, "
        f"{_mem_gib():.0f} GiB RAM, Python {platform.python_version()}",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='minutes')}, load average at start {load}",
        "",
        "",
    ])


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) / 2**20
    return 0.0


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts), columns in first-seen order unless given."""
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |")
    return "\n".join(out)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def emit(text: str, out: Path | None) -> None:
    print(text, flush=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def write_section(path: Path, text: str, section: str) -> None:
    """Put ``text`` in place of the file's ``section`` (appended if there is none)."""
    old = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find(section + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(section))
        new = old[:start] + text + (old[end:] if end >= 0 else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, "utf-8")


def percentiles(ms: list[float]) -> dict[str, float]:
    xs = sorted(ms)
    return {"p50 ms": statistics.median(xs), "p90 ms": xs[int(0.9 * (len(xs) - 1))], "mean ms": statistics.fmean(xs)}


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) of one call."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return (time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start a new high-water mark for ``VmHWM`` (Linux: writing 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return 0.0


def dir_bytes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- ARCD


def arcd(path: Path) -> tuple[list[str], list[str], list[int]]:
    """(paragraph texts, questions, each question's paragraph) of a SQuAD-format file."""
    data = json.loads(Path(path).read_text("utf-8"))
    paragraphs, questions, gold = [], [], []
    for article in data["data"]:
        for p in article["paragraphs"]:
            paragraphs.append(p["context"])
            for q in p["qas"]:
                questions.append(q["question"])
                gold.append(len(paragraphs) - 1)
    return paragraphs, questions, gold


def write_corpus(paragraphs: list[str], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(paragraphs):
        (folder / f"p{i:05d}.txt").write_text(text, "utf-8")
    return folder
