"""Calibrate abstention: sweep the evidence threshold per language pair on parallel QA sets.

    python bench/calibrate.py bench/data/xarcd [--off-topic seeds] [--out docs/calibration.md]

Runs the four pairs of the parallel set (en→ar, ar→ar, en→en, ar→en), each with its answerable and
no-answer questions, and prints, per threshold, the share of answerable questions answered and of
no-answer questions abstained. ``evidence`` is the best sentence's cosine plus the cross-lingual
shift in use, so the raw cosine for a cross-lingual pair is ``evidence - shift``. With
``--off-topic FOLDER``, every question of the set is also asked of that unrelated corpus (the seed
article): all of them should abstain, and the rate at the shipped threshold is printed.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from qa import datasets
from qa.answer import CALIBRATION
from qa.evaluate import EvalConfig, evaluate

PAIRS = [("en", "ar"), ("ar", "ar"), ("en", "en"), ("ar", "en")]


def run_pair(folder: Path, q: str, c: str, work: Path) -> list[dict]:
    ds = datasets.load([folder / f"xarcd_{q}.json", folder / f"xarcd_noans_{q}.json"], [folder / f"xarcd_{c}.json"])
    return evaluate(ds, work / f"index-{c}", EvalConfig(k=5)).per_question


def sweep(rows: list[dict], shift: float) -> list[tuple[float, float, float, float]]:
    raw = [(r["evidence"] - shift if r["evidence"] is not None else -1.0, r["answerable"]) for r in rows]
    out = []
    for t in np.arange(0.70, 0.95, 0.005):
        ans = [e >= t for e, a in raw if a]
        abst = [e < t for e, a in raw if not a]
        out.append((round(float(t), 3), float(np.mean(ans)), float(np.mean(abst)), (np.mean(ans) + np.mean(abst)) / 2))
    return out


def off_topic(folder: Path, corpus: Path, shift: float) -> str:
    from qa import Assistant

    threshold = CALIBRATION["e5-small"].threshold
    lines = ["| question language | n | abstained at the shipped threshold | raw evidence p50 / p95 / max |",
             "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant.build([corpus], Path(tmp) / "index")
        for lang in ("ar", "en"):
            questions = datasets.load([folder / f"xarcd_{lang}.json"]).questions
            answers = [assistant.ask(q.question) for q in questions]
            corpus_lang = {d["lang"] for d in assistant.documents()}
            raw = np.array([(a.evidence or -1) - (shift if lang not in corpus_lang else 0) for a in answers])
            rate = np.mean([a.abstained for a in answers])
            p50, p95, top = np.percentile(raw, [50, 95, 100])
            lines.append(f"| {lang} | {len(answers)} | {rate:.3f} (threshold {threshold}) | "
                         f"{p50:.3f} / {p95:.3f} / {top:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--off-topic", type=Path, help="a corpus unrelated to the set (e.g. seeds)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    shift = CALIBRATION["e5-small"].cross_lingual
    lines = ["| pair | n ans | n no-ans | best raw threshold | answered | abstained | balanced acc |",
             "|---|---|---|---|---|---|---|"]
    raw_rows: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for q, c in PAIRS:
            rows = run_pair(args.folder, q, c, Path(tmp))
            s = shift if q != c else 0.0
            raw_rows[f"{q}->{c}"] = [((r["evidence"] or -1) - s, r["answerable"]) for r in rows]
            t, a, b, bal = max(sweep(rows, s), key=lambda x: x[3])
            lines.append(f"| {q}→{c} | {sum(r['answerable'] for r in rows)} | {sum(not r['answerable'] for r in rows)} "
                         f"| {t:.3f} | {a:.3f} | {b:.3f} | {bal:.3f} |")
    report = "\n".join(lines)
    print(report)
    for pair, rows in raw_rows.items():
        ans = np.array([e for e, a in rows if a])
        no = np.array([e for e, a in rows if not a])
        print(pair, "answerable p10/p50/p90", np.percentile(ans, [10, 50, 90]).round(3),
              "no-answer p10/p50/p90", np.percentile(no, [10, 50, 90]).round(3))
    if args.off_topic:
        report += "\n\n" + off_topic(args.folder, args.off_topic, shift)
        print(report.rsplit("\n\n", 1)[1])
    if args.out:
        args.out.write_text(report + "\n")
    Path("/tmp/calibration_raw.json").write_text(json.dumps(raw_rows))


if __name__ == "__main__":
    main()
