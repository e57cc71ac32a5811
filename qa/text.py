"""Text rules shared by indexing and querying: normalisation, language detection, sentence spans.

Normalisation is one tiny pure function per rule, composed once into ``normalize``; it is used for
matching only (BM25, lexical overlap, evaluation), never for display. Sentence splitting lives in
``sentences`` (re-exported here: ``sentence_spans``, ``clause_spans``, ``word_spans``).
Out of scope: morphology (stemming lives in ``lexical``) and statistical language identification
(script counting is enough to tell Arabic from English).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import reduce

from .sentences import clause_spans, sentence_spans, word_spans

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_ALEF = re.compile("[\u0622\u0623\u0625\u0671\u0672\u0673]")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def drop_format_chars(text: str) -> str:
    """Zero-width joiners, bidi marks and other invisible format characters (category Cf)."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def drop_diacritics(text: str) -> str:
    return _DIACRITICS.sub("", text)


def drop_tatweel(text: str) -> str:
    return text.replace("\u0640", "")


def unify_alef(text: str) -> str:
    return _ALEF.sub("\u0627", text)


def unify_ya(text: str) -> str:
    return text.replace("\u0649", "\u064a")


def unify_ta_marbuta(text: str) -> str:
    return text.replace("\u0629", "\u0647")


def ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def casefold(text: str) -> str:
    return text.casefold()


def recompose(text: str) -> str:
    """NFC again: dropping a mark or a format character can leave a base and a combining mark adjacent."""
    return unicodedata.normalize("NFC", text)


def _compose(*rules: Callable[[str], str]) -> Callable[[str], str]:
    return lambda text: reduce(lambda acc, rule: rule(acc), rules, text)


# Casefolding can produce sequences NFKC rewrites again, hence the second nfkc; the removals can
# unblock a composition ("A\u200b\u0300" -> "a\u0300"), hence the final recompose. Both keep it idempotent.
RULES: tuple[Callable[[str], str], ...] = (
    nfkc, casefold, nfkc, drop_format_chars, drop_diacritics, drop_tatweel,
    unify_alef, unify_ya, unify_ta_marbuta, ascii_digits, recompose,
)
normalize: Callable[[str], str] = _compose(*RULES)
normalize.__doc__ = "Matching form of a text: every rule in ``RULES`` applied in order."


_LETTERS = re.compile(r"[^\W\d_]+")


def _is_arabic(c: str) -> bool:
    return "\u0600" <= c <= "\u06ff" or "\u0750" <= c <= "\u077f" or "\ufb50" <= c <= "\ufeff"


def detect_language(text: str) -> str:
    """``ar`` or ``en`` by the majority script among words, ``other`` when neither dominates.

    Words, not letters: unvowelled Arabic spends fewer letters per word than English.
    """
    counts = {"ar": 0, "en": 0, "other": 0}
    for word in _LETTERS.findall(text[:20000]):
        c = word[0]
        counts["ar" if _is_arabic(c) else "en" if c.isascii() or "\u00c0" <= c <= "\u024f" else "other"] += 1
    total = sum(counts.values())
    if total == 0:
        return "other"
    best = max(("ar", "en"), key=counts.__getitem__)
    return best if counts[best] / total >= 0.5 else "other"


__all__ = ["RULES", "clause_spans", "detect_language", "normalize", "sentence_spans", "word_spans"]
