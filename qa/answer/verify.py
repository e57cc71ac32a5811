"""Citation verification: a generated sentence stays only if a passage it cites supports it.

The answer is split into claims (sentences with their ``[n]`` markers; markers right after a
sentence's end belong to it). A claim is supported by a cited passage when (1) the passage exists
in the prompt, (2) the passage's best sentence, by the vectors stored at ingest time against the
claim's embedding, clears the calibrated threshold (``cross_threshold`` when claim and passage are
in different languages: cross-lingual cosines run lower and words cannot be compared), (3) every
number of the claim (Western or Arabic-Indic digits, thousands separators dropped) appears in that
passage, and (4) when claim and passage share a language, at most ``max_absent`` of the claim's
stemmed content words are missing from the passage (a changed name or place is a new word). A kept
claim's citation is that best sentence: its exact span. Out of scope: numbers written as words,
paraphrased units ("1.1 million" vs "1,100,000"), and names across languages: a changed name that
embeds close to the original is not caught there (docs/generation.md has the measured precision
and recall).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ..lexical import tokenize
from ..records import Hit, Span
from ..text import ascii_digits, detect_language, sentence_spans


class Calibration(NamedTuple):
    """A claim is supported when its best sentence's cosine reaches ``threshold`` (same language;
    and at most ``max_absent`` of the claim's words are new) or ``cross_threshold`` (across languages)."""

    threshold: float
    cross_threshold: float
    max_absent: float


# e5-small, chosen on the dev split of bench/data/claims by bench/verify_claims.py (docs/generation.md).
CALIBRATION = {"e5-small": Calibration(threshold=0.75, cross_threshold=0.82, max_absent=0.0)}
DEFAULT_CALIBRATION = Calibration(threshold=0.5, cross_threshold=0.5, max_absent=0.25)

_MARKS = re.compile(r"\[\s*([0-9٠-٩۰-۹]+(?:\s*[,،]\s*[0-9٠-٩۰-۹]+)*)\s*\]")
_NUMBER = re.compile(r"\d+(?:[.,٫٬]\d+)*")
_ONLY_MARKS = re.compile(r"^(?:\s*\[[^\]]*\]\s*)+[.!?؟،,;]*\s*$")
_LEADING_MARKS = re.compile(r"^((?:\s*\[\s*[0-9٠-٩۰-۹][0-9٠-٩۰-۹\s,،]*\])+)\s*")


class Claim(NamedTuple):
    text: str  # the sentence without its markers
    cited: tuple[int, ...]  # passage numbers, in the order written


class Support(NamedTuple):
    hit: Hit  # the cited passage that supports the claim
    span: Span  # its best sentence
    cosine: float


class Verdict(NamedTuple):
    claim: Claim
    support: Support | None
    reason: str  # why it was dropped ("" when kept)


def _cites(marks: str) -> list[int]:
    return [int(ascii_digits(n)) for m in _MARKS.finditer(marks) for n in re.split(r"[,،]", m.group(1))]


def _clean(text: str) -> str:
    text = " ".join(_MARKS.sub(" ", text).split())
    return re.sub(r"\s+([.!?؟،,;:])", r"\1", text).strip(" -*•")


def claims(answer: str) -> list[Claim]:
    """The answer's sentences with the passages each cites."""
    pieces: list[tuple[str, list[int]]] = []
    for span in sentence_spans(answer):
        piece = answer[span.start : span.end]
        lead = _LEADING_MARKS.match(piece)
        if pieces and (lead or _ONLY_MARKS.match(piece)):  # "... end. [1] Next ..." → [1] is the end's
            marks = lead.group(1) if lead else piece
            pieces[-1][1].extend(_cites(marks))
            piece = piece[len(marks):] if lead else ""
        if _clean(piece):
            pieces.append((piece, _cites(piece)))
    return [Claim(_clean(p), tuple(dict.fromkeys(c))) for p, c in pieces]


def numbers(text: str) -> set[str]:
    """The numbers in ``text``: 1,115 and ١١١٥ are both "1115"; 7.8 and ٧٫٨ are both "7.8"."""
    found = set()
    for m in _NUMBER.finditer(ascii_digits(text)):
        raw = m.group(0).replace("٬", ",").replace("٫", ".")
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
            raw = raw.replace(",", "")
        found.add(raw.replace(",", "."))
    return found


def absent_share(claim: str, passage: str) -> float:
    """The share of the claim's stemmed content words that the passage does not contain."""
    words = set(tokenize(claim))
    return len(words - set(tokenize(passage))) / len(words) if words else 0.0


def support(claim_vector: np.ndarray, hit: Hit, vectors: np.ndarray) -> Support | None:
    """The passage's sentence closest to the claim (None for a passage without sentences)."""
    if not len(vectors):
        return None
    cos = vectors @ claim_vector
    best = int(np.argmax(cos))
    return Support(hit, hit.chunk.sentences[best], float(cos[best]))


def judge(claim: Claim, claim_vector: np.ndarray, lang: str, hits: Sequence[Hit],
          sentence_vectors: Callable[[Hit], np.ndarray], cal: Calibration) -> Verdict:
    """Keep or drop one claim (the reason names the last failed check)."""
    if not claim.cited:
        return Verdict(claim, None, "cites no passage")
    missing = [n for n in claim.cited if not 1 <= n <= len(hits)]
    if missing:
        return Verdict(claim, None, f"cites a passage that does not exist: [{missing[0]}]")
    claim_lang = detect_language(claim.text) if detect_language(claim.text) in ("ar", "en") else lang
    wanted = numbers(claim.text)
    best: Support | None = None
    reason = "no cited passage supports it"
    for n in claim.cited:
        hit = hits[n - 1]
        same = hit.chunk.lang == claim_lang
        found = support(claim_vector, hit, sentence_vectors(hit))
        if found is None or found.cosine < (cal.threshold if same else cal.cross_threshold):
            continue
        absent = wanted - numbers(hit.chunk.text)
        if absent:
            reason = f"the number {sorted(absent)[0]} is not in the cited passage"
            continue
        if same and absent_share(claim.text, hit.chunk.text) > cal.max_absent:
            reason = "words of it are not in the cited passage"
            continue
        if best is None or found.cosine > best.cosine:
            best = found
    return Verdict(claim, best, "" if best else reason)


def verify(found: Sequence[Claim], claim_vectors: np.ndarray, lang: str, hits: Sequence[Hit],
           sentence_vectors: Callable[[Hit], np.ndarray], cal: Calibration) -> list[Verdict]:
    return [judge(c, v, lang, hits, sentence_vectors, cal) for c, v in zip(found, claim_vectors)]


def calibration_for(embedder: str) -> Calibration:
    return CALIBRATION.get(embedder, DEFAULT_CALIBRATION)
