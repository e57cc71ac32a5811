"""Questions and retrieved passages for training and testing the answer models (bench/train_answer.py).

Question sets, each question tagged with its language pair, its kind and its split:
- answerable: ARCD (ar→ar); xarcd's English questions on the English and on the Arabic paragraphs
  (en→en, en→ar) and its Arabic questions on the English paragraphs (ar→en); the English
  translations of ARCD questions in ``bench/data/arcd_en`` (en→ar); gold = document + offset;
- near-miss (``bench/data/nearmiss``): on a paragraph's topic, asking for a detail it does not give;
  each is asked of the paragraph's language and, for the 40 xarcd paragraphs, of the translation;
- off-topic: xarcd's questions and a quarter of ARCD's asked of an unrelated corpus (the seed
  article, the parallel test fixtures and the fifty unrelated fixtures).
Splits are by ARCD article (a hash of its title): 60% train, 15% validation (thresholds, margin),
25% test, never trained on. One index holds ARCD and xarcd's English paragraphs; a question is
searched in its target language only (``langs``), so a paragraph's translation never answers it.
What is cached (``WORK/raw.pkl``) is retrieval only (hits and their sentence cosines), so a change
of features costs no new search.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from qa import Assistant, datasets
from qa.lexical import tokenize
from qa.metrics import contains
from qa.records import Hit, content_id
from qa.retrieve import SearchOptions, search
from qa.text import detect_language

ROOT = Path(__file__).resolve().parent.parent
K = 5
CACHE_VERSION = 1


class Item(NamedTuple):
    qid: str
    question: str
    lang: str
    target: str  # the language of the passages searched ("any": the off-topic corpus)
    kind: str  # answerable | nearmiss | offtopic
    split: str
    answers: tuple[str, ...] = ()
    gold: tuple[str, int] | None = None  # (doc id, answer offset)
    corpus: str = "main"
    article: str = ""  # the ARCD article: splits and cross-fitting folds keep an article together


class Raw(NamedTuple):
    """One question's retrieval, as the Assistant's extractive path sees it."""

    item: Item
    hits: list[Hit]
    cosines: list[np.ndarray]  # per hit, its sentences' cosines with the question


def bucket(article: str, n: int) -> int:
    return int(hashlib.sha1(article.encode("utf-8")).hexdigest(), 16) % n


def split_of(article: str) -> str:
    h = bucket(article, 20)
    return "train" if h < 12 else "val" if h < 15 else "test"


def _squad(path: Path) -> list[tuple[str, dict, str]]:
    data = json.loads(path.read_text("utf-8"))["data"]
    return [(a["title"], qa, p["context"]) for a in data for p in a["paragraphs"] for qa in p["qas"]]


def _arcd(arcd: Path) -> list[Item]:
    out = []
    for title, qa, ctx in _squad(arcd):
        a = qa["answers"][0]
        if ctx[a["answer_start"]:].startswith(a["text"]):
            out.append(Item(qa["id"], qa["question"].strip(), "ar", "ar", "answerable", split_of(title),
                            (a["text"],), (content_id(ctx), a["answer_start"]), article=title))
    return out


def _translations(folder: Path, arcd_items: list[Item]) -> list[Item]:
    """English versions of ARCD questions (``{"id", "question"}`` per line): en→ar, ARCD's gold."""
    by_id = {i.qid: i for i in arcd_items}
    out = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                src = by_id.get(row["id"])  # None: ARCD's own offsets are wrong (skipped there too)
                if src is not None:
                    out.append(src._replace(qid=f"{src.qid}:en", question=row["question"].strip(), lang="en"))
    return out


def data_arguments(description: str) -> argparse.ArgumentParser:
    """The parser of a script over these questions: ARCD, xarcd, the near-miss sets, the English ARCD
    translations and the work folder of the retrieval cache (bench/train_answer.py, bench/rank_report.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("arcd", type=Path)
    parser.add_argument("--xarcd", type=Path, default=ROOT / "bench/data/xarcd")
    parser.add_argument("--nearmiss", type=Path, default=ROOT / "bench/data/nearmiss")
    parser.add_argument("--arcd-en", type=Path, default=ROOT / "bench/data/arcd_en")
    parser.add_argument("--short", type=Path, default=ROOT / "bench/data/short",
                        help="questions on short documents (bench/answer_short.py)")
    parser.add_argument("--work", type=Path, required=True)
    return parser


def items(arcd: Path, xarcd: Path, nearmiss: Path, arcd_en: Path | None = None,
          short: Path | None = None) -> list[Item]:
    from answer_short import short_items

    arcd_items = _arcd(arcd)
    out = list(arcd_items) + (_translations(arcd_en, arcd_items) if arcd_en else [])
    article_of = {qa["id"]: title for title, qa, _ in _squad(arcd)}
    en = {qa["id"]: (qa, ctx) for _, qa, ctx in _squad(xarcd / "xarcd_en.json")}
    ar = {qa["id"]: (qa, ctx) for _, qa, ctx in _squad(xarcd / "xarcd_ar.json")}
    for qid, (qa_en, ctx_en) in en.items():
        qa_ar, ctx_ar = ar[qid]
        split = split_of(article_of[qid])
        for q, lang, (gqa, gctx), target in ((qa_en, "en", (qa_en, ctx_en), "en"), (qa_en, "en", (qa_ar, ctx_ar), "ar"),
                                            (qa_ar, "ar", (qa_en, ctx_en), "en")):
            g = gqa["answers"][0]
            out.append(Item(f"{qid}:{lang}->{target}", q["question"].strip(), lang, target, "answerable", split,
                            (g["text"],), (content_id(gctx), g["answer_start"]), article=article_of[qid]))
    arcd_titles = [a["title"] for a in json.loads(arcd.read_text("utf-8"))["data"]]
    for path in sorted(nearmiss.glob("nearmiss*_*.json")):
        lang = path.stem.rsplit("_", 1)[1]
        for _, qa, ctx in _squad(path):
            title = arcd_titles[qa["arcd_article"]]
            targets = [detect_language(ctx)] + (["en" if lang == "ar" else "ar"] if qa["id"].startswith("nm-x") else [])
            for target in dict.fromkeys(targets):
                out.append(Item(f"{qa['id']}:{lang}->{target}", qa["question"], lang, target, "nearmiss",
                                split_of(title), article=title))
    for i in arcd_items[::4]:  # a quarter of ARCD's questions, asked of the unrelated corpus
        out.append(i._replace(qid=i.qid + ":off", target="any", kind="offtopic", corpus="off", gold=None))
    for qid, (qa_en, _) in en.items():
        for q, lang in ((qa_en, "en"), (ar[qid][0], "ar")):
            out.append(Item(f"{qid}:{lang}:off", q["question"].strip(), lang, "any", "offtopic",
                            split_of(article_of[qid]), corpus="off", article=article_of[qid]))
    return out + (short_items(ROOT, short) if short else [])


def main_corpus(arcd: Path, xarcd: Path, work: Path) -> Path:
    docs = {d.id: d for d in datasets.load_squad([arcd]).corpus + datasets.load_squad([xarcd / "xarcd_en.json"]).corpus}
    source = work / "corpus.jsonl"
    lines = "".join(json.dumps({"id": d.id, "title": d.title, "text": d.text}, ensure_ascii=False) + "\n"
                    for d in docs.values())
    if not source.exists() or source.read_text("utf-8") != lines:
        source.write_text(lines, "utf-8")
    return source


OFF_TOPIC = ("seeds", "tests/fixtures/parallel/en", "tests/fixtures/parallel/ar", "tests/fixtures/unrelated/en",
             "tests/fixtures/unrelated/ar")


def assistant(corpus: str, arcd: Path, xarcd: Path, work: Path) -> Assistant:
    """The index of ``corpus``: ``main`` (ARCD + xarcd's English paragraphs), ``off`` (the off-topic
    corpus, also that of the short documents) or ``mixed`` (the test suite's mixed corpus)."""
    from answer_short import mixed_corpus

    if corpus == "main":
        return Assistant.build([main_corpus(arcd, xarcd, work)], work / "index")
    if corpus == "mixed":
        return Assistant.build([mixed_corpus(ROOT, work)], work / "index-mixed")
    return Assistant.build([ROOT / p for p in OFF_TOPIC], work / "index-off-2")


def retrieve(assistant: Assistant, item: Item, vector: np.ndarray) -> Raw:
    """``item``'s top-K hybrid hits and their sentence cosines (``vector``: the question's)."""
    langs = None if item.target == "any" or item.corpus == "mixed" else (item.target,)  # mixed: as the product
    snap = assistant.index.snapshot
    hits = search(snap, vector, tokenize(item.question), item.lang, SearchOptions(k=K, mode="hybrid", langs=langs))
    return Raw(item, hits, [np.asarray(snap.sentences_of(h.row) @ vector, np.float32) for h in hits])


def _key(i: Item) -> tuple[str, str, str, str]:
    return i.qid, i.question, i.target, i.corpus


def _print(text: str) -> None:
    print(text, flush=True)


def raw_records(chosen: list[Item], arcd: Path, xarcd: Path, work: Path, progress: Any = _print) -> list[Raw]:
    """Every question's retrieval, cached in ``work/raw.pkl`` by question id (new questions are
    searched, known ones reused)."""
    cache = work / "raw.pkl"
    known: dict[tuple, Raw] = {}
    if cache.exists():
        version, rows = pickle.loads(cache.read_bytes())
        known = {_key(r.item): r for r in rows} if version == CACHE_VERSION else {}
    key = _key
    todo = [i for i in chosen if key(i) not in known]
    if todo:
        by_corpus = {c: assistant(c, arcd, xarcd, work) for c in dict.fromkeys(i.corpus for i in todo)}
        texts = list(dict.fromkeys(i.question for i in todo))
        vectors = dict(zip(texts, next(iter(by_corpus.values())).embedder.embed_queries(texts)))
        progress(f"{len(texts)} questions embedded, {len(todo)} to search")
        for n, item in enumerate(todo, 1):
            known[key(item)] = retrieve(by_corpus[item.corpus], item, vectors[item.question])
            if n % 500 == 0:
                progress(f"{n}/{len(todo)} questions")
        cache.write_bytes(pickle.dumps((CACHE_VERSION, list(known.values()))))
    return [known[key(i)]._replace(item=i) for i in chosen]


def labels(raw: Raw, candidates: list) -> list[bool]:
    """Which candidates hold the gold answer's offset (none for an unanswerable question)."""
    gold = raw.item.gold if raw.item.kind == "answerable" else None
    return [bool(gold) and is_gold_document(c.hit.chunk, gold[0]) and c.span.start <= gold[1] < c.span.end
            for c in candidates]


def is_gold_document(chunk: Any, key: str) -> bool:
    """``key`` is a SQuAD set's document id or the end of a document's path (short documents). The
    SQuAD paragraphs are indexed as records of one JSONL file (``main_corpus``), whose document ids
    are scoped by that file (``qa.load``: a hash of its path and the record's id)."""
    if chunk.doc_id == key:
        return True
    if "/" in key:
        return Path(chunk.path).as_posix().endswith("/" + key)
    return chunk.doc_id == content_id("record", str(Path(chunk.path).resolve()), key)


def contains_gold(texts: list[str], answers: tuple[str, ...]) -> bool:
    return contains(" ".join(texts), answers)
