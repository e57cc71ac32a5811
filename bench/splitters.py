"""Compare sentence splitters on the tricky-case corpus (both languages), by exact spans.

    python bench/splitters.py [tests/fixtures/sentences/tricky.json]

For each splitter: cases whose sentence spans are all exactly right, and boundary precision /
recall (a boundary is a sentence end offset, whitespace trimmed). pysbd (``pip install pysbd``) is
run with ``char_span=True, clean=False`` in its ``en`` and ``ar`` models, per case language.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from qa.sentences import sentence_spans, sentence_spans_v1

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sentences" / "tricky.json"


def expected_spans(case: dict) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for s in case["sentences"]:
        i = case["text"].index(s, pos)
        spans.append((i, i + len(s)))
        pos = i + len(s)
    return spans


def _trim(text: str, a: int, b: int) -> tuple[int, int] | None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return (a, b) if b > a else None


def pysbd_splitter() -> Callable[[str, str], list[tuple[int, int]]] | None:
    try:
        import pysbd
    except ImportError:
        return None
    segmenters = {lang: pysbd.Segmenter(language=lang, clean=False, char_span=True) for lang in ("en", "ar")}

    def split(text: str, lang: str) -> list[tuple[int, int]]:
        return [s for t in segmenters[lang].segment(text) if (s := _trim(text, t.start, t.end))]
    return split


def score(split: Callable[[str, str], list[tuple[int, int]]], cases: list[dict]) -> dict[str, dict]:
    out = {}
    for lang in ("en", "ar"):
        group = [c for c in cases if c["lang"] == lang]
        exact = tp = said = should = 0
        for c in group:
            want, got = expected_spans(c), split(c["text"], lang)
            exact += got == want
            ends_w, ends_g = {b for _, b in want[:-1]}, {b for _, b in got[:-1]}
            tp, said, should = tp + len(ends_w & ends_g), said + len(ends_g), should + len(ends_w)
        out[lang] = {"cases": len(group), "exact": exact, "boundary_precision": round(tp / said, 3) if said else 1.0,
                     "boundary_recall": round(tp / should, 3) if should else 1.0}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path, nargs="?", default=DEFAULT)
    args = parser.parse_args()
    cases = json.loads(args.corpus.read_text("utf-8"))
    splitters = {"qa v2 (shipped)": lambda t, lang: [(s.start, s.end) for s in sentence_spans(t)],
                 "qa v1 (before)": lambda t, lang: [(s.start, s.end) for s in sentence_spans_v1(t)]}
    sbd = pysbd_splitter()
    if sbd is not None:
        splitters["pysbd 0.3.4"] = sbd
    print("| splitter | lang | cases exactly right | boundary precision | boundary recall |")
    print("|---|---|---|---|---|")
    for name, split in splitters.items():
        for lang, r in score(split, cases).items():
            print(f"| {name} | {lang} | {r['exact']}/{r['cases']} | {r['boundary_precision']} "
                  f"| {r['boundary_recall']} |")


if __name__ == "__main__":
    main()
