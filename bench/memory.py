"""Memory probes for the benchmarks: a /proc/self/status field, the file mappings holding the most resident
memory, and the peak of the memory a process owns (RssAnon) while a block runs. Linux only."""

from __future__ import annotations

import threading
from pathlib import Path


def status_mib(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0


def mapped_rss(top: int = 6) -> str:
    """The file mappings holding the most resident memory, from /proc/self/smaps: name (MiB)."""
    rss: dict[str, int] = {}
    name = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and len(parts) >= 5:
            name = parts[5] if len(parts) > 5 else None
        elif parts and parts[0] == "Rss:" and name and name.startswith("/"):
            rss[name] = rss.get(name, 0) + int(parts[1])
    best = sorted(rss.items(), key=lambda x: -x[1])[:top]
    return "; ".join(f"{Path(k).parent.name}/{Path(k).name} {v / 1024:.0f}" for k, v in best)



class AnonPeak:
    """Highest RssAnon (memory the process owns, not mapped files) seen while the block runs."""

    def __enter__(self):
        self.peak, self._stop = status_mib("RssAnon"), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, status_mib("RssAnon"))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
