"""Calibrate and measure the citation verifier on claims written from xarcd paragraphs.

    python bench/verify_claims.py [--index DIR] [--claims bench/data/claims/claims.jsonl]

Each claim of bench/data/claims (a true statement of a paragraph, or the same statement with a
number, name or place changed, in English and in Arabic) is checked against the paragraph in both
languages (so en→en, en→ar, ar→ar, ar→en), with the checks of ``qa.answer.verify`` for a generated
sentence that cites that paragraph; every true claim is also checked against the next paragraph
(a citation of the wrong passage). The calibration (cosine thresholds within and across languages,
share of new words allowed within one language) is chosen on the ``dev`` split (paragraphs 0-19) by F0.5
(precision first: a kept wrong sentence looks grounded); precision/recall are reported on the
held-out ``test`` split (paragraphs 20-39), for the chosen and for the shipped calibration.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from common import ROOT, header

from qa import Assistant
from qa.answer.verify import CALIBRATION, Calibration, absent_share, numbers, support
from qa.records import Hit
from qa.text import ascii_digits

XARCD = ROOT / "bench" / "data" / "xarcd"


def build_index(folder: Path) -> Assistant:
    lines = []
    for lang in ("ar", "en"):
        for i, article in enumerate(json.loads((XARCD / f"xarcd_{lang}.json").read_text())["data"]):
            lines.append(json.dumps({"id": f"{lang}-{i}", "title": article["title"],
                                     "text": article["paragraphs"][0]["context"]}, ensure_ascii=False))
    source = folder / "xarcd_paragraphs.jsonl"
    if not source.exists():
        folder.mkdir(parents=True, exist_ok=True)
        source.write_text("\n".join(lines) + "\n", "utf-8")
    return Assistant.build([source], folder / "index")


def paragraph_hits(assistant: Assistant) -> dict[tuple[str, int], list[Hit]]:
    snap = assistant.index.snapshot
    out: dict[tuple[str, int], list[Hit]] = defaultdict(list)
    for row in range(len(snap)):
        chunk = snap.chunks[row]
        lang, i = chunk.doc_id.split("-")  # the ids build_index gave the records
        out[(lang, int(i))].append(Hit(rank=1, score=1.0, chunk=chunk, row=row))
    return out


def scored(assistant: Assistant, claims: list[dict], as_passage: bool) -> list[dict]:
    """Per (claim, paragraph language, paragraph): each chunk's raw cosine, number and word checks."""
    snap = assistant.index.snapshot
    hits = paragraph_hits(assistant)
    embed = assistant.embedder.embed_passages if as_passage else assistant.embedder.embed_queries
    vectors = embed([ascii_digits(c["claim"]) for c in claims])  # as qa.answer.generated embeds them
    rows = []
    for c, v in zip(claims, vectors):
        targets = [(c["paragraph"], c["label"] == "supported", c["change"])]
        if c["label"] == "supported":
            targets.append(((c["paragraph"] + 1) % 40, False, "other passage"))
        for para, truth, change in targets:
            for plang in ("en", "ar"):
                checks = [(support(v, h, snap.sentences_of(h.row)).cosine,
                           numbers(c["claim"]) <= numbers(h.chunk.text), absent_share(c["claim"], h.chunk.text))
                          for h in hits[(plang, para)]]
                rows.append({"split": c["split"], "pair": f"{c['lang']}->{plang}", "same": c["lang"] == plang,
                             "truth": truth, "change": change or "-", "checks": checks})
    return rows


def kept(row: dict, cal: Calibration, use_numbers: bool = True, use_words: bool = True) -> bool:
    threshold = cal.threshold if row["same"] else cal.cross_threshold
    return any(cos >= threshold and (ok or not use_numbers)
               and (not row["same"] or not use_words or absent <= cal.max_absent)
               for cos, ok, absent in row["checks"])


def pr(rows: list[dict], cal: Calibration, **kw) -> tuple[float, float, int]:
    tp = sum(kept(r, cal, **kw) and r["truth"] for r in rows)
    fp = sum(kept(r, cal, **kw) and not r["truth"] for r in rows)
    pos = sum(r["truth"] for r in rows)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / pos if pos else 0.0), len(rows)


def _f05(rows: list[dict], cal: Calibration) -> float:
    p, r, _ = pr(rows, cal)
    return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0


def choose(rows: list[dict]) -> Calibration:
    """Threshold and new-word share on the same-language checks, the cross-language threshold on
    the cross-language ones (each by F0.5), so neither kind of pair decides for the other."""
    same = [r for r in rows if r["same"]]
    cross = [r for r in rows if not r["same"]]
    thresholds = [round(float(t), 3) for t in np.arange(0.75, 0.95, 0.005)]
    grid = itertools.product(thresholds, (0.0, 0.1, 0.15, 0.2, 0.25, 0.34, 1.0))
    best = max((Calibration(t, t, a) for t, a in grid), key=lambda c: _f05(same, c))
    return max((best._replace(cross_threshold=t) for t in thresholds), key=lambda c: _f05(cross, c))


def report(rows: list[dict], cal: Calibration, title: str) -> str:
    test = [r for r in rows if r["split"] == "test"]
    lines = [f"### {title}: threshold {cal.threshold} (same language), {cal.cross_threshold} (across), "
             f"new words allowed {cal.max_absent}", "",
             "| pair | checks | precision | recall | caught: number | name | place | other passage |",
             "|---|---|---|---|---|---|---|---|"]
    for pair in ["all", "en->en", "en->ar", "ar->ar", "ar->en"]:
        group = [r for r in test if pair == "all" or r["pair"] == pair]
        p, rc, n = pr(group, cal)
        caught = []
        for change in ("number", "name", "place", "other passage"):
            bad = [r for r in group if r["change"] == change]
            caught.append(f"{sum(not kept(r, cal) for r in bad) / len(bad):.2f}" if bad else "-")
        lines.append(f"| {pair} | {n} | {p:.3f} | {rc:.3f} | " + " | ".join(caught) + " |")
    lines += ["", "| test, all pairs | precision | recall |", "|---|---|---|"]
    for name, kw in [("all checks", {}), ("without the number check", {"use_numbers": False}),
                     ("without the new-word check", {"use_words": False})]:
        p, rc, _ = pr(test, cal, **kw)
        lines.append(f"| {name} | {p:.3f} | {rc:.3f} |")
    for d in (-0.02, 0.02):
        p, rc, _ = pr(test, cal._replace(threshold=cal.threshold + d, cross_threshold=cal.cross_threshold + d))
        lines.append(f"| both thresholds {d:+.2f} | {p:.3f} | {rc:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=None, help="Keep the paragraphs' index here (default: temporary).")
    ap.add_argument("--claims", type=Path, default=ROOT / "bench" / "data" / "claims" / "claims.jsonl")
    ap.add_argument("--claims-as", choices=["query", "passage"], default="query",
                    help="Embed claims as e5 queries (what the verifier does) or as passages.")
    args = ap.parse_args()
    claims = [json.loads(line) for line in args.claims.read_text("utf-8").splitlines() if line.strip()]
    print(header("bench/verify_claims.py"))
    with tempfile.TemporaryDirectory() as tmp:
        assistant = build_index(args.index or Path(tmp))
        rows = scored(assistant, claims, args.claims_as == "passage")
    chosen = choose([r for r in rows if r["split"] == "dev"])
    print(f"\n{len(claims)} claims, {len(rows)} claim-paragraph checks; claims embedded as {args.claims_as}s; "
          f"test split: {sum(r['split'] == 'test' for r in rows)} checks\n")
    print(report(rows, chosen, "Chosen on dev") + "\n")
    print(report(rows, CALIBRATION["e5-small"], "Shipped (qa/answer/verify.py)"))


if __name__ == "__main__":
    main()
