"""The answer model's background vectors per language and the margin a best passage must stand above them.

A language's background is the mean sentence vector of the training split's passages in that
language (the main index: ARCD's Arabic paragraphs, xarcd's English ones; ``answer_data``): a
question's cosine with it is how close the question comes to any text of that language, so that
``qa.answer.answerability.typical`` can tell a best passage that stands out from one that does
not (an off-topic question). The margin is chosen on validation: the highest on ``GRID`` that
vetoes the gold language of at most ``max_abstain`` of the validation answerable questions that
the evidence answers (bench/train_answer.py). Question vectors are cached in ``WORK/questions.pkl``
(the retrieval cache keeps cosines only).
Out of scope: the test split, which only ``bench/abstain_report.py`` reads.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
from answer_data import Item, Raw, assistant

from qa.answer.answerability import standing
from qa.embed import get_embedder
from qa.records import content_id

GRID = tuple(round(x, 3) for x in np.arange(0.0, 0.1001, 0.005))


def question_vectors(texts: list[str], work: Path) -> dict[str, np.ndarray]:
    """The query vectors of ``texts`` (the default embedder's, as the retrieval cache's cosines)."""
    cache = work / "questions.pkl"
    known: dict[str, np.ndarray] = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    todo = [t for t in dict.fromkeys(texts) if t not in known]
    if todo:
        known.update(zip(todo, get_embedder().embed_queries(todo)))
        cache.write_bytes(pickle.dumps(known))
    return {t: known[t] for t in texts}


def centroids(chosen: list[Item], arcd: Path, xarcd: Path, work: Path) -> dict[str, np.ndarray]:
    """Per language, the mean sentence vector of the main index's training-split documents."""
    keys = {i.gold[0] for i in chosen if i.split == "train" and i.gold and i.corpus == "main"}
    snap = assistant("main", arcd, xarcd, work).index.snapshot
    ids: dict[str, set[str]] = {}  # per file: the training documents' ids as the index names them
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for row, chunk in enumerate(snap.all_chunks()):
        if chunk.path not in ids:
            ids[chunk.path] = keys | {content_id("record", str(Path(chunk.path).resolve()), k) for k in keys}
        if chunk.doc_id in ids[chunk.path]:
            vectors = np.asarray(snap.sentences_of(row), np.float64)
            sums[chunk.lang] = sums.get(chunk.lang, 0.0) + vectors.sum(axis=0)
            counts[chunk.lang] = counts.get(chunk.lang, 0) + len(vectors)
    return {lang: (sums[lang] / counts[lang]).astype(np.float32) for lang in sorted(sums) if counts[lang]}


def choose_margin(val: list[Raw], vectors: dict[str, np.ndarray], background: dict[str, np.ndarray],
                  evidence_abstains: Callable[[Raw], bool], max_abstain: float) -> float:
    """The highest margin of ``GRID`` under which at most ``max_abstain`` of the answerable ``val``
    questions that the evidence answers have their gold language's best passage stand too low."""
    above = []
    for r in val:
        q = r.item
        if q.kind != "answerable" or evidence_abstains(r):
            continue
        by_lang = standing(r.hits, r.cosines, vectors[q.question], background)
        above.append(by_lang.get(q.target, 1.0))
    above_a = np.asarray(above)
    return max(m for m in GRID if not len(above_a) or np.mean(above_a < m) <= max_abstain)
