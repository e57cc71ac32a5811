"""BM25 over chunks with an Arabic/English tokenizer: postings of raw term counts, scored per query.

Tokens are words of the normalised text, each stemmed by the Snowball stemmer of its script
(``arabic`` strips the article and clitic prefixes, ``english`` the suffixes); English stopwords
and Arabic function words are dropped. Measured on ARCD (465 paragraphs): R@1 0.604 → 0.654 with
stemming. Out of scope: cross-language matching (BM25 only scores the question's own language).

Scoring is bm25s's default (Lucene: k1 1.5, b 0.75, idf log(1 + (N - df + .5) / (df + .5))), built
vectorised from flat token ids (a CSC matrix of term counts; 1M chunks need no Python list per chunk).
The matrix holds raw counts and each chunk's length, not scores: the statistics (N, average length,
document frequencies) are applied when a query is scored, so that several indexes (the segments of
one index folder) score together exactly as one index of their live chunks would
(``lexical_combined.Combined``).
Each chunk's token ids are kept (``tokens.npy`` + ``token_offsets.npy``) so that a merge of segments
re-uses them instead of re-tokenising. Out of scope: phrase and proximity scoring.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

from .text import normalize

_WORD = re.compile(r"\w+")
_ARABIC = re.compile("[\u0600-\u06ff]")
# Function words: IDF already discounts them in big corpora (no change on ARCD), but in a corpus
# of a few documents they make spurious matches ("how many", "في") that mislead fusion.
_STOP_AR = """في من على الى عن مع هو هي هم هن انا نحن انت ما ماذا متى اين كيف كم لماذا هل الذي التي
الذين هذا هذه ذلك تلك هؤلاء اولئك هناك هنا كان كانت يكون تكون كانوا قد لقد لم لن لا ليس ليست ان او ثم بل
لكن حتى اذا اذ كل بعض غير اي ايضا عند عندما بين بعد قبل منذ خلال حول تحت فوق دون لدي حيث به بها له لها
لهم فيه فيها منه منها عليه عليها وقد وكان وهو وهي وفي ومن وعلي وان"""
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | frozenset(normalize(w) for w in _STOP_AR.split())
K1, B = 1.5, 0.75
FORMAT = 2  # 1: bm25s's folder of precomputed scores
_FILES = {"counts": "counts.csc.npy", "rows": "rows.csc.npy", "indptr": "indptr.csc.npy"}


@lru_cache(maxsize=2)
def _stemmer(lang: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(lang)


def tokenize(text: str) -> list[str]:
    """Stemmed tokens of ``text``; the same function serves documents and questions."""
    ar, en = _stemmer("arabic"), _stemmer("english")
    out = []
    for word in _WORD.findall(normalize(text)):
        if word in STOPWORDS:
            continue
        out.append((ar if _ARABIC.match(word) else en).stemWord(word))
    return out


class Vocabulary:
    """Term → id, only ever extended (an id stays valid across generations)."""

    def __init__(self, ids: dict[str, int] | None = None):
        self.ids = dict(ids or {})

    def __len__(self) -> int:
        return len(self.ids)

    def encode(self, docs: Iterable[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """Flat token ids of ``docs`` and their offsets (new terms get the next ids)."""
        ids, offsets = [], [0]
        get, table = self.ids.setdefault, self.ids
        for tokens in docs:
            ids.extend(get(t, len(table)) for t in tokens)
            offsets.append(len(ids))
        return np.asarray(ids, np.int32), np.asarray(offsets, np.int64)


class Stats(NamedTuple):
    """Collection statistics a score needs: live chunks, their mean length, and per-term document
    frequencies (``df(term)``)."""

    n: int
    avgdl: float
    df: Callable[[str], int]

    def idf(self, term: str) -> float:
        df = self.df(term)
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))


class BM25:
    """Term counts of a fixed list of chunks (a CSC matrix: per term, the rows holding it and how
    often), their lengths, and their token ids; saved as its own folder."""

    def __init__(self, vocab: Vocabulary, counts: np.ndarray, rows: np.ndarray, indptr: np.ndarray,
                 lengths: np.ndarray, tokens: np.ndarray, token_offsets: np.ndarray):
        self.vocab = vocab
        self._counts, self._rows, self._indptr = counts, rows, indptr
        self.lengths = lengths
        self.tokens, self.token_offsets = tokens, token_offsets

    @property
    def size(self) -> int:
        return len(self.lengths)

    @classmethod
    def build(cls, corpus_tokens: list[list[str]]) -> BM25:
        vocab = Vocabulary()
        ids, offsets = vocab.encode(corpus_tokens)
        return cls.from_ids(ids, offsets, vocab)

    @classmethod
    def from_ids(cls, ids: np.ndarray, offsets: np.ndarray, vocab: Vocabulary) -> BM25:
        """The index of chunks whose token ids are ``ids[offsets[i]:offsets[i + 1]]``."""
        n, n_terms = len(offsets) - 1, len(vocab)
        ids = np.ascontiguousarray(ids, np.int32)
        offsets = np.ascontiguousarray(offsets, np.int64)
        lengths = np.diff(offsets).astype(np.float32)
        if n == 0 or len(ids) == 0:
            return cls(vocab, np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(n_terms + 1, np.int64),
                       lengths, ids, offsets)
        # Rows are chunks: a CSR matrix over a copy of the flat ids (summing duplicates sorts in place).
        counts = sp.csr_matrix((np.ones(len(ids), np.float32), ids.copy(), offsets.copy()), shape=(n, n_terms))
        counts.sum_duplicates()
        by_term = counts.tocsc()
        return cls(vocab, by_term.data.astype(np.float32, copy=False), by_term.indices.astype(np.int32, copy=False),
                   by_term.indptr.astype(np.int64, copy=False), lengths, ids, offsets)

    def term_id(self, term: str) -> int:
        i = self.vocab.ids.get(term, -1)
        return i if 0 <= i < len(self._indptr) - 1 else -1

    def df(self, term: str) -> int:
        """Chunks holding ``term``."""
        i = self.term_id(term)
        return 0 if i < 0 else int(self._indptr[i + 1] - self._indptr[i])

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows holding ``term``, how often each holds it)."""
        i = self.term_id(term)
        if i < 0:
            return self._rows[:0], self._counts[:0]
        a, b = int(self._indptr[i]), int(self._indptr[i + 1])
        return self._rows[a:b], self._counts[a:b]

    def norm(self, avgdl: float) -> np.ndarray:
        """Each row's length normalisation for a collection of mean length ``avgdl``."""
        return (K1 * ((1 - B) + B * np.asarray(self.lengths, np.float32) / np.float32(avgdl))).astype(np.float32)

    def saturation(self, term: str, norm: np.ndarray, row_of: np.ndarray | None = None,
                   dead: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """(rows holding ``term``, its saturated count tf / (tf + norm) in each); with ``row_of``, the
        rows mapped through it and those mapped to -1 (deleted) left out; ``dead`` (the rows it maps
        to -1, ascending), when given, does the same faster for a few of them (``_past``). A term's
        score in a row is this times its idf."""
        rows, tf = self.postings(term)
        value = tf / (tf + norm[rows])
        if dead is not None:
            rows, value = _past(rows, value, dead)
        elif row_of is not None:
            rows = row_of[rows]
            keep = rows >= 0
            rows, value = rows[keep], value[keep]
        return rows, value.astype(np.float32, copy=False)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk for the query with this index's own statistics (zeros when no
        token is known); a repeated query token counts as often as it appears, as in bm25s."""
        from .lexical_combined import Combined  # one index is the one-part case of several

        return Combined([(self, None)]).scores(query_tokens)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for key, name in _FILES.items():
            np.save(folder / name, getattr(self, f"_{key}"))
        np.save(folder / "tokens.npy", self.tokens)
        np.save(folder / "token_offsets.npy", self.token_offsets)
        (folder / "vocab.json").write_text(json.dumps(self.vocab.ids, ensure_ascii=False), "utf-8")
        (folder / "params.json").write_text(json.dumps({"k1": K1, "b": B, "idf": "lucene", "format": FORMAT}))

    @classmethod
    def load(cls, folder: Path) -> BM25:
        """Memory-mapped (the vocabulary is read whole). Plain arrays over the maps, not ``np.memmap``s:
        numpy's memmap subclass costs a wrapper per slice and per operation on it (2-3x a query's
        BM25 time at 1M chunks)."""
        arrays = {key: np.asarray(np.load(folder / name, mmap_mode="r")) for key, name in _FILES.items()}
        offsets = np.asarray(np.load(folder / "token_offsets.npy", mmap_mode="r"))
        ids = json.loads((folder / "vocab.json").read_text("utf-8"))
        return cls(Vocabulary(ids), arrays["counts"], arrays["rows"], np.asarray(arrays["indptr"]),
                   np.diff(offsets).astype(np.float32), np.asarray(np.load(folder / "tokens.npy", mmap_mode="r")),
                   offsets)


def _past(rows: np.ndarray, value: np.ndarray, dead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending ``rows`` renumbered as if the few ``dead`` rows (ascending) were gone, and those left
    out: what a ``row_of`` map gives, in sequential passes over the posting list instead of a
    gather from a map as long as the index and two compressions."""
    at = np.searchsorted(rows, dead)
    shift = np.repeat(np.arange(len(dead) + 1, dtype=rows.dtype), np.diff(np.concatenate([[0], at, [len(rows)]])))
    inside = at < len(rows)
    hit = at[inside][rows[at[inside]] == dead[inside]]
    rows = rows - shift
    return (np.delete(rows, hit), np.delete(value, hit)) if len(hit) else (rows, value)
