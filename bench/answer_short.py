"""Questions on short documents unlike ARCD's paragraphs (``bench/data/short``), for the answer models.

ARCD's paragraphs are long Wikipedia extracts; a user's uploads are often two-sentence notes. The
learned answerability of branch ``answer-learned`` abstained on right cross-lingual answers over such
documents (the test suite's mixed corpus), so these sets train and test on them:
- ``unrelated.jsonl``: two answerable and two near-miss questions per document of
  ``tests/fixtures/unrelated`` (25 topics, one English and one Arabic version each, not always the
  same facts: the answers are per language), each asked in both languages of each version
  (en→en, en→ar, ar→ar, ar→en), searched in the document's language of the off-topic corpus
  (``answer_data.OFF_TOPIC``); split by topic like ARCD's articles (60/15/25);
- ``parallel.jsonl``: one answerable and two near-miss questions per topic of
  ``tests/fixtures/parallel`` (6 topics), plus the topic's question of ``questions.jsonl``, asked of
  the test suite's mixed corpus (three topics in English only, three in Arabic only), searched in
  every language as the product does. Split ``heldout``: never trained, tuned or chosen on.
A gold answer is located by the end of its document's path and the answer's first offset in it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from answer_data import Item, split_of

PARALLEL_TOPICS = {"en": ("library", "bridge", "festival"), "ar": ("hospital", "solar", "football")}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _gold(root: Path, row: dict, lang: str) -> tuple[tuple[str, ...], tuple[str, int]]:
    rel = f"{row['folder']}/{lang}/{row['topic']}.txt"
    text = (root / rel).read_text("utf-8")
    answer = row[f"answer_{lang}"]
    if answer not in text and answer.isdigit():
        answer = f"{int(answer):,}"  # questions.jsonl's "12000" is "12,000" in the English version
    if answer not in text:
        raise ValueError(f"{row['id']}: answer {answer!r} is not in {rel}; fix bench/data/short")
    return (answer,), (rel.removeprefix("tests/fixtures/"), text.index(answer))


def _unrelated(root: Path, folder: Path) -> list[Item]:
    out = []
    for row in _rows(folder / "unrelated.jsonl"):
        split = split_of("short:" + row["topic"])
        for lang in ("en", "ar"):
            for target in ("en", "ar"):
                answers, gold = _gold(root, row, target) if row["kind"] == "answerable" else ((), None)
                out.append(Item(f"short:{row['id']}:{lang}->{target}", row[lang], lang, target, row["kind"], split,
                                answers, gold, corpus="off", article="short:" + row["topic"]))
    return out


def _parallel(root: Path, folder: Path) -> list[Item]:
    rows = _rows(folder / "parallel.jsonl")
    for n, q in enumerate(_rows(root / "tests/fixtures/parallel/questions.jsonl")):
        rows.append({"id": f"{q['topic']}-q{n}", "topic": q["topic"], "folder": "tests/fixtures/parallel",
                     "kind": "answerable", "en": q["en"], "ar": q["ar"], "answer_en": q["answer"],
                     "answer_ar": q["answer"]})
    doc_lang = {t: lang for lang, topics in PARALLEL_TOPICS.items() for t in topics}
    out = []
    for row in rows:
        target = doc_lang[row["topic"]]
        answers, gold = _gold(root, row, target) if row["kind"] == "answerable" else ((), None)
        gold = gold and (f"mixed/{row['topic']}.txt", gold[1])  # the copy of mixed_corpus
        for lang in ("en", "ar"):
            out.append(Item(f"mixed:{row['id']}:{lang}->{target}", row[lang], lang, target, row["kind"], "heldout",
                            answers, gold, corpus="mixed", article="mixed:" + row["topic"]))
    return out


def short_items(root: Path, folder: Path) -> list[Item]:
    """Every question of ``folder`` (bench/data/short) as an ``Item``, paths relative to ``root``."""
    if not folder.is_dir():
        return []
    return _unrelated(root, folder) + _parallel(root, folder)


def mixed_corpus(root: Path, work: Path) -> Path:
    """The test suite's mixed corpus (tests/conftest.py ``mixed_corpus``), copied into ``work``."""
    folder = work / "mixed"
    folder.mkdir(parents=True, exist_ok=True)
    for lang, topics in PARALLEL_TOPICS.items():
        for topic in topics:
            shutil.copy(root / "tests/fixtures/parallel" / lang / f"{topic}.txt", folder / f"{topic}.txt")
    return folder
