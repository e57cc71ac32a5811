"""Follow-up questions: which questions lean on the conversation, and the retrieval query they get.

A question is a follow-up when it says so or names nothing of its own:
- it starts with a follow-up marker ("and ...", "what about ...", "و..." as in "وكم", "وبكم", "ولأي", "ماذا عن");
- it points back (it, its, there, this; هذا، هناك، فيه، and Arabic words with an attached pronoun such as
  ملعبه، أسرته، مساحتها), unless the pronoun takes up a relative pronoun of the question ("التي يقع فيها",
  "العسل الذي ينتجه"), "there" only says something exists in a question that names its topic, or the
  pronoun is an honorific ("عليه السلام");
- it has no content word at all ("When?", "How many?", "كم؟", "متى؟");
- it asks about an attribute without naming a thing: an English question word with one content word
  and no "the/this" ("how many patients?"), or an Arabic question word with no definite word (no "ال")
  and one content word ("متى يقام؟") or a counted noun and its verb ("كم مريضا يعالج؟"): names carry no
  "ال", so "أين تقع كندا؟", "ما عاصمة تونس؟" name their topic.
Everything else stands alone, however short: "Solar station output?" after a hospital question
names its own topic. Measured on 80 labelled (previous, question) pairs in both languages
(tests/fixtures/follow_ups.jsonl and two held-out sets, docs/reliability.md): the old rule (a marker
or three words at most) was right on 61%/50%/86%, this one on 96%/100%/86%, with no standalone question
of those sets taken for a follow-up (the costly error: a cited answer about the previous topic). On
bench/data/follow_up's 71 topics (142 standalone questions, 142 follow-ups; `python bench/follow_up.py
...`) the rule before this one took 21 standalone questions for follow-ups (precision 0.86 dev / 0.90
heldout), this one 4 (0.96 / 1.0), every follow-up still found; most of that set's Arabic follow-ups
start with "و", so its recall says little about the pronoun rules (tests/test_follow_up.py has both sides).
Out of scope: coreference beyond the previous user questions, and questions in other languages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bm25s.stopwords import STOPWORDS_EN_PLUS

History = Sequence[Any]
MAX_CHAIN = 3  # previous questions a chain of follow-ups may lean on

# و/ف before a question word ("وكم"), or before a preposition that takes one ("وبكم", "ولأي", "وحتى أي"; not
# "وبما أن", "ولكم")
_MARKER = re.compile(r"^\s*(and|what about|how about|also|so|then|ماذا عن)\b|^\s*[وف](?:ب(?=(?:كم|ماذا|أي|من)\b)"
                     r"|ل(?=(?:أي|ماذا|من)\b)|حتى\s*(?=(?:أي|متى)\b))?(?=(كم|ما|ماذا|متى|أين|اين|هل|من|كيف|لماذا|أي)\b)",
                     re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")
_POINTERS = frozenset([
    "it", "its", "it's", "they", "them", "their", "theirs", "there", "this", "that", "these", "those", "he", "him",
    "his", "she", "her", "hers", "هذا", "هذه", "ذلك", "تلك", "هؤلاء", "هناك", "هنا", "ذاك", "فيه", "فيها", "منه",
    "منها", "عنه", "عنها", "له", "لها", "به", "بها", "لهم", "فيهم", "عليه", "عليها"
])
_ATTACHED = re.compile(r"[\u0621-\u064a]{2,}(?:ه|ها|هم|هما|هن)")  # ملعبه، مساحتها (ة is not ه: a noun's own end)
_QUESTION = frozenset([
    "how", "what", "when", "where", "who", "why", "which", "whom", "whose", "كم", "ما", "ماذا", "متى", "أين",
    "اين", "من", "هل", "كيف", "لماذا"
])
_FUNCTION = _QUESTION | frozenset(STOPWORDS_EN_PLUS) | frozenset([
    "many", "much", "is", "are", "was", "were", "does", "do", "did", "عدد", "في", "عن", "على"])
_DEFINITE_EN = frozenset(("the", "this", "that", "these", "those"))
_DEFINITE_AR = re.compile(r"^(?:[وف]?[بلك]?ال|لل)[\u0621-\u064a]{2,}")
_HONORIFIC = re.compile(r"(?:صلى الله )?عليه(?:ا|م)? (?:وسلم|السلام)")  # "عيسى عليه السلام": no pointer
_EXISTENTIAL = frozenset(("is", "are", "was", "were"))  # "are there ...", "there is ...": no place meant
# A relative pronoun and the pronoun that takes it up agree: "الجائزة التي حصل عليها", "العسل الذي ينتجه"
# point inside the question; "المدرب الذي يدربها" (her: the team) does not.
_RELATIVE = {"التي": ("ها",), "الذي": ("ه",), "الذين": ("هم",), "اللتان": ("هما",), "اللذان": ("هما",),
             "اللواتي": ("هن",), "اللاتي": ("هن",)}


def _words(question: str) -> list[str]:
    """Lower-cased words, a leading و/ف taken off an Arabic question word ("وكم" -> "كم"), without
    the honorifics after a name ("عليه السلام")."""
    words = _WORD.findall(_HONORIFIC.sub(" ", question.lower()))
    return [w[1:] if len(w) > 2 and w[0] in "وف" and w[1:] in _QUESTION else w for w in words]


def _is_arabic(word: str) -> bool:
    return "\u0600" <= word[0] <= "\u06ff"


def _names_nothing(words: list[str]) -> bool:
    """A question word with no named thing: one bare English content word; in Arabic, no definite word
    and one content word ("متى يقام؟") or a counted noun and its verb ("كم مريضا يعالج؟"). Names carry
    no "ال" in Arabic, so a missing definite word alone does not tell: "أين تقع كندا؟", "ما عاصمة تونس؟",
    "متى ولد يوسف؟" name their topic."""
    if not words or words[0] not in _QUESTION:
        return False
    content = [w for w in words if w not in _FUNCTION]
    if _is_arabic(words[0]):
        if any(_DEFINITE_AR.match(w) for w in words):
            return False
        counted = words[0] == "كم" and len(content) == 2 and content[0] == words[1] and content[0].endswith("ا")
        return len(content) <= 1 or counted
    return len(content) <= 1 and not _DEFINITE_EN.intersection(words)


def _takes_up_a_relative(words: list[str], i: int) -> bool:
    """``words[i]`` ends with the pronoun that takes up a relative pronoun before it (same gender and
    number), so it points inside the question."""
    return any(words[i].endswith(ends) for r in words[:i] for ends in _RELATIVE.get(r, ()))


def _points_back(words: list[str], i: int) -> bool:
    """Whether ``words[i]`` points to an earlier turn: a pronoun ("it", "هناك", "فيه") or an Arabic word
    with one attached (ملعبه), except one that takes up a relative pronoun of the question ("التي يقع
    فيها") and a "there" that only says something exists in a question that names its topic ("are there
    ... between the circle ..."; "Is there parking?" still asks about the previous one). English "its"
    after "the X" keeps pointing back: "the hike to its crater" is a follow-up, "the cooperative roast
    its beans" is not, and the words do not tell them apart."""
    w = words[i]
    if w == "there" and set(words[max(0, i - 1):i + 2]) & _EXISTENTIAL:
        return not any(a in _DEFINITE_EN and b not in _FUNCTION for a, b in zip(words, words[1:]))
    attached = _is_arabic(w) and _ATTACHED.fullmatch(w) and not _DEFINITE_AR.match(w)
    if w not in _POINTERS and not attached:
        return False
    return not (_is_arabic(w) and _takes_up_a_relative(words, i))


def is_follow_up(question: str) -> bool:
    """True when ``question`` leans on the conversation (see the module docstring for the rule)."""
    if _MARKER.match(question):
        return True
    words = _words(question)
    if any(_points_back(words, i) for i in range(len(words))):
        return True
    if not [w for w in words if w not in _FUNCTION]:
        return True
    return _names_nothing(words)


def user_turns(history: History | None) -> list[str]:
    """The user's earlier questions, most recent first (messages dicts or (user, assistant) pairs)."""
    turns = []
    for turn in reversed(list(history or [])):
        if isinstance(turn, dict) and turn.get("role") == "user":
            turns.append(str(turn.get("content", "")))
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            turns.append(turn[0])
    return turns


def with_context(question: str, history: History | None) -> str:
    """The retrieval query: a follow-up is prefixed with the question it follows, itself expanded when
    it was a follow-up too (up to ``MAX_CHAIN`` questions); a standalone question is left as it is."""
    if not is_follow_up(question):
        return question
    chain = [question]
    for previous in user_turns(history)[:MAX_CHAIN]:
        chain.insert(0, previous)
        if not is_follow_up(previous):
            break
    return " ".join(chain)
