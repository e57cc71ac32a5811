"""The fuzzed texts of the reliability tests (hypothesis strategies) and their settings.

Examples are derandomised (the same ones on every run, so CI is deterministic); ``QA_FUZZ_EXAMPLES=N``
scales the pure-text properties up for a longer random exploration, e.g. ``QA_FUZZ_EXAMPLES=20000``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXPLORE = int(os.environ.get("QA_FUZZ_EXAMPLES", "0"))
PURE = settings(max_examples=EXPLORE or 300, deadline=None, derandomize=not EXPLORE, database=None,
                suppress_health_check=list(HealthCheck))
REAL = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# The hard cases the issue names, as building blocks that hypothesis strings together.
ARABIC = ["منتدى", "مُحَمَّدٌ", "إِلَى", "الْمَدْرَسَةِ", "ﻻ", "ﷲ", "ـــ", "١٢٣", "۴۵", "؟", "؛", "،", "ة", "ى", "آ"]
BIDI = ["\u200e", "\u200f", "\u061c", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067",
        "\u2068", "\u2069"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f"]
EMOJI = ["😀", "👩\u200d👩\u200d👧", "🇲🇦", "👍🏽", "1\ufe0f\u20e3", "\U0001f9d5\u200d\u2640\ufe0f"]
CONTROL = ["\x00", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\r", "\r\n", "\t", "\v", "\f"]
LATIN = ["Forum", "security", "İstanbul", "ß", "ﬁ", "e\u0301", "A\u200b\u0300", "Ⅻ", "Ｆｏｒｕｍ", "3.5", "e.g.",
         "…", "!", "?", ".", "\"", "”", "»", ")", "]", ",", ";", ":", " ", "  ", "\n", "\n\n"]
OTHER = ["中文", "עברית", "русский", "ελληνικά", "\u0915\u094d\u0937", "\U0001d400", "\U000e0001"]
PIECES = ARABIC + BIDI + INVISIBLE + EMOJI + CONTROL + LATIN + OTHER

mixed = st.lists(st.sampled_from(PIECES), max_size=80).map("".join)
any_text = st.one_of(mixed, st.text(max_size=300),  # st.text: any code point but surrogates
                     st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=60))
LONG_LINE = ("منتدى مراكش للأمن Marrakech forum 😀 \u200d\u064b " * 3000)[:100_000]
assert "\n" not in LONG_LINE and len(LONG_LINE) == 100_000
