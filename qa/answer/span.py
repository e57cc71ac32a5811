"""The short answer inside a cited sentence: a number, date, quantity or name, when it is unambiguous.

For a count or quantity question the sentence's number expressions (digits with separators, a
scale word such as "million" / "مليون", a unit or currency, or the noun counted in Arabic: "150
مشارك"); for a date question its dates ("8 October 1980", "عام 1945", "1138 م"); for a who / where
/ which question in English, its runs of capitalised words. Expressions the question itself
contains are not answers ("the 2014 World Cup"). A span is returned only when exactly one
expression is left: with two it would be a guess, and no span is better than a wrong bold.
Out of scope: Arabic names and places (no capitalisation to find them by).
"""

from __future__ import annotations

import re

from ..lexical import tokenize
from ..text import normalize
from .cues import YEAR

_NUM = r"\d[\d.,٬٫]*\d|\d"
_SCALE = r"(?:\s+(?:million|billion|thousand|hundred|مليون|مليار|ألف|آلاف|الف|ملايين))?"
_UNIT = (r"(?:\s*(?:%|٪)|\s+(?:percent|per cent|km2|km|kilometres?|kilometers?|metres?|meters?|miles?|kg|tonnes?|tons?|"
         r"litres?|liters?|dollars?|euros?|pounds?|square kilometres?|square kilometers?|hectares?|degrees?|years?|"
         r"people|participants?|inhabitants?|countries|times|كم2|كم|كيلومترا?|كيلو|مترا?|ميلا?|كغ|طنا?|لترا?|دولارا?|"
         r"يورو|جنيها?|درهما?|ريالا?|دينارا?|مربعا?|هكتارا?|درجة|سنة|عاما|نسمة|شخصا?|مشاركا?|مشارك|دولة|بلدا|مرة|"
         r"بالمائة|في المائة|بالمئة))?")
_QUANTITY = re.compile(rf"(?:[$€£]\s?)?(?:{_NUM}){_SCALE}{_UNIT}")
_MONTH = (r"January|February|March|April|May|June|July|August|September|October|November|December|يناير|فبراير|"
          r"مارس|أبريل|ابريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|نوفمبر|ديسمبر")
_DATE = re.compile(rf"(?:\d{{1,2}}\s+(?:{_MONTH})\s+\d{{3,4}}|(?:{_MONTH})\s+\d{{1,2}},?\s+\d{{3,4}}|"
                   rf"(?:{_MONTH})\s+\d{{3,4}}|\d{{3,4}}\s*(?:هـ|م|AD|BC|CE|BCE)(?![\w])|\b\d{{4}}\b)")
_NAME = re.compile(r"(?<![\w])(?:[A-Z][a-z'\-]+|[A-Z]\.)(?:\s+(?:(?:al|bin|ibn|de|da|van|von|el)-?\s*)?"
                   r"(?:[A-Z][a-z'\-]+|[A-Z]\.))+")


_DIGITS = re.compile(r"\d[\d.,]*\d|\d")


def _in_question(expression: str, question: str) -> bool:
    """The expression's number stands in the question as a whole number (so "1 goal" is not "2014")."""
    numbers = _DIGITS.findall(normalize(expression))
    return bool(numbers) and re.search(rf"(?<![\d.,]){re.escape(numbers[0])}(?![\d])", normalize(question)) is not None


_NEXT = re.compile(r"\s+(\w+)")


def _found(pattern: re.Pattern, sentence: str, question: str) -> list[tuple[int, int]]:
    """Matches not given by the question, each with the word after it when the question names
    that word ("How many goals" → "1 goal")."""
    asked = set(tokenize(question))
    out = []
    for m in pattern.finditer(sentence):
        if not m.group(0).strip() or _in_question(m.group(0), question):
            continue
        nxt = _NEXT.match(sentence, m.end()) if m.group(0)[-1].isdigit() else None  # a bare number
        end = nxt.end() if nxt and set(tokenize(nxt.group(1))) & asked else m.end()
        out.append((m.start(), end))
    return out


def _names(sentence: str, question: str) -> list[tuple[int, int]]:
    words = set(re.findall(r"\w+", question.casefold()))
    out = []
    for m in _NAME.finditer(sentence):
        if m.start() == 0:
            continue  # a sentence's first capital proves nothing
        if not set(re.findall(r"\w+", m.group(0).casefold())) & words:
            out.append((m.start(), m.end()))
    return out


def _names_a_word_of(expression: str, question: str) -> bool:
    """A word of ``expression`` shares its stem with a word of the question (stems compared by
    prefix: Snowball gives "مشار" for "مشارك" and "مشارك" for "المشاركين")."""
    asked = [t for t in tokenize(question) if len(t) >= 3 and not t.isdigit()]
    return any(a.startswith(w) or w.startswith(a) for w in tokenize(expression) if len(w) >= 3 and not w.isdigit()
               for a in asked)


_YEAR = re.compile(YEAR)


def _is_year(expression: str) -> bool:
    """A year standing alone (``cues.YEAR``, no unit or scale): a date, never a count or a quantity (``cues``
    types it so too: "افتتحت ... عام 2019." holds no count)."""
    return _YEAR.fullmatch(normalize(expression).strip()) is not None


def locate(question: str, asked: str, sentence: str, offset: int) -> tuple[int, int] | None:
    """Document offsets of the short answer in ``sentence`` (which starts at ``offset``), or None."""
    if asked in ("count", "quantity"):
        spans = [sp for sp in _found(_QUANTITY, sentence, question) if not _is_year(sentence[sp[0] : sp[1]])]
    elif asked == "date":
        spans = _found(_DATE, sentence, question)
        # "8 October 1980" and its "1980": keep the longest of overlapping matches only
        spans = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    elif asked in ("person", "place", "organisation") and sentence.isascii():
        spans = _names(sentence, question)
    else:
        return None
    if len(spans) > 1 and asked in ("count", "quantity"):  # the one whose words the question names
        named = [sp for sp in spans if _names_a_word_of(sentence[sp[0] : sp[1]], question)]
        spans = named if len(named) == 1 else spans
    if len(spans) != 1:
        return None
    a, b = spans[0]
    return offset + a, offset + b
