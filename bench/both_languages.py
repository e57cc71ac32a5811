"""The short notes' questions asked of ONE index that holds both languages, as a user's mixed folder would.

    PYTHONPATH=.:bench python bench/both_languages.py --work W [--out FILE]

(for another tree, copy the script into its bench/ and run it there: bench/common.py puts its own tree first.)

``bench/abstain_report.py`` asks each question of a one-language corpus (its splits cannot show what a rule
between languages costs); here every question of ``bench/data/short/unrelated.jsonl`` (25 topics: 2 answerable and
2 near-miss questions each, in English and Arabic) is asked in both languages of two indexes built from
``tests/fixtures/unrelated``: ``both`` (every note in both languages: a note and its translation) and
``alternating`` (each topic in one language only, English for odd topics: half the answers lie across languages).
Counted per index and kind: abstained, cited the question's topic first, cited another topic's note first.
Nothing is fitted here, so every topic counts (training ones included). Out of scope: which sentence of the
right note is cited (the reports' sentence accuracy measures that).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path

from common import emit, header, table

from qa import Assistant

ROOT = Path(__file__).resolve().parents[1]
NOTES = ROOT / "tests/fixtures/unrelated"
QUESTIONS = ROOT / "bench/data/short/unrelated.jsonl"


def corpus(folder: Path, layout: str) -> Path:
    """The notes of ``layout`` copied into ``folder`` (built once)."""
    if folder.exists():
        return folder
    folder.mkdir(parents=True)
    for lang in ("en", "ar"):
        for note in sorted((NOTES / lang).glob("*.txt")):
            odd = int(note.name[:2]) % 2 == 1
            if layout == "both" or (lang == "en") == odd:
                shutil.copy(note, folder / f"{lang}-{note.name}")
    return folder


def counts(assistant: Assistant, items: list[dict]) -> Counter:
    """(kind, outcome) counts over every item asked in both languages."""
    out: Counter = Counter()
    for item in items:
        for lang in ("en", "ar"):
            a = assistant.ask(item[lang])
            out[item["kind"], "asked"] += 1
            if a.abstained:
                out[item["kind"], "abstained"] += 1
            elif item["topic"] in Path(a.citations[0].path).name:
                out[item["kind"], "cited its topic"] += 1
            else:
                out[item["kind"], "cited another topic"] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    items = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = []
    for layout in ("both", "alternating"):
        folder = corpus(args.work / f"notes-{layout}", layout)
        assistant = Assistant.build([folder], args.work / f"index-{layout}")
        c = counts(assistant, items)
        for kind in ("answerable", "nearmiss"):
            rows.append({"index": layout, "kind": kind, "asked": c[kind, "asked"], "abstained": c[kind, "abstained"],
                         "cited its topic": c[kind, "cited its topic"],
                         "cited another topic": c[kind, "cited another topic"]})
    text = header("Short notes' questions over one index of both languages (bench/both_languages.py)")
    emit(text + "\n" + table(rows) + "\n", args.out)


if __name__ == "__main__":
    main()
