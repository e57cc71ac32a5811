"""A generated answer: prompt → model stream → citation verification → ``Answer`` (or a fallback).

``stream_answer`` yields the model's text pieces as they arrive, then one final ``Answer``: the
verified sentences, each cited by its best supporting sentence; an abstention in the question's
language when the model gives the "not in the passages" marker; the extractive answer (flagged
``fallback``, with a ``notice``) when no sentence survives or the model fails in any way. The
caller has already applied the gate: with evidence below the extractive threshold the model is
never called. Out of scope: retrieval, the extractive answer itself, presentation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import numpy as np

from ..records import Answer, Citation, Hit
from ..text import ascii_digits
from . import prompt, verify
from .extractive import message
from .generators import GenerationError, Generator

log = logging.getLogger("qa.generate")
NOTICES = {
    "failed": {"en": "The language model failed ({cause}); this answer is extracted from the documents.",
               "ar": "تعذّر الحصول على إجابة من النموذج اللغوي ({cause})؛ هذه الإجابة مقتطفة من الوثائق."},
    "unsupported": {"en": "No sentence of the generated answer is supported by the passages it cites; this answer "
                          "is extracted from the documents.",
                    "ar": "لا تدعم المقاطع المستشهد بها أي جملة من الإجابة المولّدة؛ هذه الإجابة مقتطفة من الوثائق."},
    "removed": {"en": "{n} sentence(s) of the generated answer were removed: the cited passages do not support them.",
                "ar": "حُذفت {n} من جمل الإجابة المولّدة لأن المقاطع المستشهد بها لا تدعمها."},
}
Vectors = Callable[[Hit], np.ndarray]


def notice(key: str, lang: str, **kw: object) -> str:
    return NOTICES[key]["ar" if lang == "ar" else "en"].format(**kw)


def fallback(extractive: Answer, spec: str, text: str, unsupported: Sequence[str] = (),
             timings: dict | None = None) -> Answer:
    """The extractive answer standing in for a generated one, flagged, with the notice ``text``."""
    return replace(extractive, generator=spec, fallback=True, notice=text, unsupported=tuple(unsupported),
                   timings={**extractive.timings, **(timings or {})})


def _citation(n: int, s: verify.Support) -> Citation:
    ch = s.hit.chunk
    return Citation(n=n, doc_id=ch.doc_id, title=ch.title, path=ch.path, chunk_id=ch.id, lang=ch.lang,
                    sentence=ch.sentence_text(s.span), start=s.span.start, end=s.span.end,
                    passage_start=ch.start, passage_end=ch.end, score=round(s.cosine, 4))


def compose(extractive: Answer, spec: str, lang: str, verdicts: list[verify.Verdict], timings: dict) -> Answer:
    """The verified answer: kept sentences, each with one ``[n]`` for its best supporting sentence."""
    unsupported = tuple(v.claim.text for v in verdicts if v.support is None)
    kept = [v for v in verdicts if v.support is not None]
    if not kept:
        return fallback(extractive, spec, notice("unsupported", lang), unsupported, timings)
    numbers: dict[tuple[str, int, int], Citation] = {}
    body = []
    for v in kept:
        s = v.support
        key = (s.hit.chunk.doc_id, s.span.start, s.span.end)
        if key not in numbers:
            numbers[key] = _citation(len(numbers) + 1, s)
        body.append(f"{v.claim.text} [{numbers[key].n}]")
    citations = tuple(numbers.values())
    return replace(extractive, text=" ".join(body), citations=citations, generator=spec, fallback=False,
                   cross_lingual=any(c.lang != lang for c in citations), unsupported=unsupported,
                   notice=notice("removed", lang, n=len(unsupported)) if unsupported else None,
                   timings={**extractive.timings, **timings})


def _generate(generator: Generator, messages: list, timings: dict) -> Iterator[str]:
    """The model's pieces; fills ``timings`` with first-token and total generation time."""
    t0 = time.perf_counter()
    for piece in generator.stream(messages, generator.settings.max_answer_tokens):
        if "first_token_ms" not in timings:
            timings["first_token_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        yield piece
    timings["generate_ms"] = round((time.perf_counter() - t0) * 1000, 2)


def condense(generator: Generator, question: str, turns: list[tuple[str, str]], max_chars: int) -> str | None:
    """The model's rewrite of ``question`` as a standalone question given the earlier ``turns``, or
    None when it fails or answers something unusable (empty, too long, the marker)."""
    try:
        text = "".join(generator.stream(prompt.condense_messages(question, turns), 96)).strip()
    except GenerationError as e:
        log.warning("generator %s could not condense the conversation: %s", generator.name, e)
        return None
    text = text.splitlines()[0].strip() if text else ""
    return text if text and len(text) <= max_chars and not prompt.is_abstention(text) else None


def stream_answer(question: str, lang: str, extractive: Answer, hits: Sequence[Hit], generator: Generator,
                  embed_claims: Callable[[list[str]], np.ndarray], sentence_vectors: Vectors,
                  calibration: verify.Calibration) -> Iterator[str | Answer]:
    """The model's text pieces, then the final ``Answer`` (never raises for a model failure)."""
    timings: dict[str, float] = {}
    try:
        made = prompt.answer_messages(question, lang, hits, generator.settings.context_tokens,
                                      generator.settings.max_answer_tokens, generator.count_tokens)
        pieces = []
        for piece in _generate(generator, made.messages, timings):
            pieces.append(piece)
            yield piece
        text = "".join(pieces).strip()
        if not text:
            raise GenerationError("the model returned an empty answer")
        tokens = generator.count_tokens(text)
        timings["answer_tokens"] = tokens
        if timings["generate_ms"] > 0:
            timings["tokens_per_s"] = round(tokens / (timings["generate_ms"] / 1000), 2)
        if prompt.is_abstention(text):
            yield replace(extractive, text=message("abstain", lang), abstained=True, citations=(),
                          cross_lingual=False, generator=generator.name, timings={**extractive.timings, **timings})
            return
        t1 = time.perf_counter()
        found = verify.claims(text)
        # Western digits for the embedder: e5 scores "٨٥٠" against a passage's "850" ~0.02 lower.
        vectors = embed_claims([ascii_digits(c.text) for c in found]) if found else np.zeros((0, 1), np.float32)
        verdicts = verify.verify(found, vectors, lang, made.hits, sentence_vectors, calibration)
        for v in verdicts:
            if v.support is None:
                log.info("dropped an unsupported sentence (%s): %s", v.reason, v.claim.text)
        timings["verify_ms"] = round((time.perf_counter() - t1) * 1000, 2)
        timings["verified_sentences"] = sum(v.support is not None for v in verdicts)
        timings["generated_sentences"] = len(verdicts)
        yield compose(extractive, generator.name, lang, verdicts, timings)
    except GenerationError as e:
        log.warning("generator %s failed, answering with the extractive answer: %s", generator.name, e)
        yield fallback(extractive, generator.name, notice("failed", lang, cause=str(e)), timings=timings)
