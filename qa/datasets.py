"""QA test sets → questions with gold answers and, where the set brings one, a corpus.

Formats: SQuAD JSON (v1.1, and v2.0 where ``is_impossible`` marks a no-answer question), JSONL
(``{"id", "question", "answers", "lang"?}`` per line, scored against an existing index) and BEIR
folders (``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``). A bad entry is skipped with its
line or question id and the rest load. Out of scope: downloading sets; scoring (``evaluate``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, NamedTuple

from .readers import jsonl_lines
from .records import Document, content_id
from .text import detect_language


class Gold(NamedTuple):
    """Where an answer sits: the context document and the answer's character offset in it."""

    doc_id: str
    start: int


class Question(NamedTuple):
    id: str
    question: str
    lang: str
    answers: tuple[str, ...]
    gold: tuple[Gold, ...] = ()
    relevant_docs: dict[str, float] | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers) or bool(self.relevant_docs)


class EvalSet(NamedTuple):
    questions: list[Question]
    corpus: list[Document] | None
    skipped: list[tuple[str, str]]
    kind: str


def _context_doc(context: str, title: str, path: str) -> Document:
    return Document(id=content_id(context), title=title or context[:60], path=path,
                    lang=detect_language(context), text=context)


def _squad_items(path: Path) -> tuple[list[tuple[dict, Document]], list[tuple[str, str]]]:
    """(question entry, its context document) for every question of a SQuAD file."""
    try:
        data = json.loads(path.read_text("utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a SQuAD JSON file ({e}); expected {{'data': [...]}}") from e
    items, skipped = [], []
    for article in data:
        for para in article.get("paragraphs", []):
            context = para.get("context")
            if not isinstance(context, str):
                skipped.append((str(article.get("title")), "paragraph without a context"))
                continue
            doc = _context_doc(context, article.get("title", ""), str(path))
            items.extend((qa, doc) for qa in para.get("qas", []))
    return items, skipped


def _check_answers(qa: dict, doc: Document) -> tuple[tuple[str, ...], tuple[Gold, ...]]:
    answers, gold = [], []
    for a in qa.get("answers", []):
        text, start = a.get("text", ""), a.get("answer_start", -1)
        if not isinstance(start, int) or doc.text[start : start + len(text)] != text:
            raise ValueError(f"answer {text!r} is not at offset {start} of its context")
        answers.append(text)
        gold.append(Gold(doc.id, start))
    return tuple(answers), tuple(gold)


def load_squad(paths: list[Path], corpus_paths: list[Path] | None = None) -> EvalSet:
    """Questions from ``paths``; contexts (and gold) from ``corpus_paths`` when given, by question id."""
    items, skipped = [], []
    for p in paths:
        got, bad = _squad_items(p)
        items += got
        skipped += bad
    source = items
    if corpus_paths:
        source = []
        for p in corpus_paths:
            got, bad = _squad_items(p)
            source += got
            skipped += bad
    by_id = {str(qa.get("id")): (qa, doc) for qa, doc in source}
    questions = []
    for qa, _ in items:
        qid = str(qa.get("id"))
        text = qa.get("question")
        if not isinstance(text, str) or not text.strip():
            skipped.append((qid, "no question text"))
            continue
        if qa.get("is_impossible") or not qa.get("answers"):
            questions.append(Question(qid, text.strip(), detect_language(text), ()))
            continue
        if qid not in by_id:
            skipped.append((qid, "no question with this id in the corpus file"))
            continue
        gold_qa, gold_doc = by_id[qid]
        impossible = bool(gold_qa.get("is_impossible")) or not gold_qa.get("answers")
        try:
            answers, gold = ((), ()) if impossible else _check_answers(gold_qa, gold_doc)
        except ValueError as e:
            skipped.append((qid, str(e)))
            continue
        questions.append(Question(qid, text.strip(), detect_language(text), answers, gold))
    corpus = list({doc.id: doc for _, doc in source}.values())
    return EvalSet(questions, corpus, skipped, "squad")


def load_jsonl(path: Path) -> EvalSet:
    questions, skipped = [], []
    for n, line in enumerate(jsonl_lines(path.read_text("utf-8")), 1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
            answers = obj["answers"]
            if not isinstance(obj["question"], str) or not isinstance(answers, list):
                raise TypeError("'question' must be a string and 'answers' a list")
            text = obj["question"].strip()
            questions.append(Question(str(obj.get("id", n)), text, obj.get("lang") or detect_language(text),
                                      tuple(str(a) for a in answers)))
        except (ValueError, KeyError, TypeError) as e:
            skipped.append((f"line {n}", f"{type(e).__name__}: {e}"))
    return EvalSet(questions, None, skipped, "jsonl")


def load_beir(folder: Path, split: str = "test") -> EvalSet:
    missing = [n for n in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv") if not (folder / n).is_file()]
    if missing:
        raise ValueError(f"{folder} is not a BEIR folder: {', '.join(missing)} missing (a folder needs "
                         f"corpus.jsonl, queries.jsonl and qrels/{split}.tsv)")

    def rows(name: str) -> list[dict]:
        return [json.loads(line) for line in jsonl_lines((folder / name).read_text("utf-8")) if line.strip()]

    corpus = [Document(id=str(d["_id"]), title=d.get("title") or str(d["_id"]), path=str(folder / "corpus.jsonl"),
                       lang=detect_language(d["text"]), text=d["text"]) for d in rows("corpus.jsonl")]
    qrels: dict[str, dict[str, float]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if float(row["score"]) > 0:
                qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = float(row["score"])
    questions = [Question(str(q["_id"]), q["text"], detect_language(q["text"]), (), (),
                          qrels[str(q["_id"])]) for q in rows("queries.jsonl") if str(q["_id"]) in qrels]
    return EvalSet(questions, corpus, [], "beir")


def load(paths: list[Path], corpus_paths: list[Path] | None = None) -> EvalSet:
    """Pick the loader by what ``paths`` are: a BEIR folder, JSONL or SQuAD JSON files."""
    if len(paths) == 1 and paths[0].is_dir():
        return load_beir(paths[0])
    if all(p.suffix == ".jsonl" for p in paths):
        sets = [load_jsonl(p) for p in paths]
        return EvalSet([q for s in sets for q in s.questions], None, [x for s in sets for x in s.skipped], "jsonl")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f"no such dataset file: {', '.join(missing)}")
    return load_squad(paths, corpus_paths)
