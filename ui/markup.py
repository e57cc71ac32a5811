"""The two helpers every HTML renderer of the web chat shares: escaping and a text's direction."""

from __future__ import annotations

import html
import re
from typing import Any

_STRONG = re.compile(r"[A-Za-z\u00c0-\u024f\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def esc(value: Any) -> str:
    """``value`` as text safe inside HTML content and quoted attributes."""
    return html.escape(str(value), quote=True)


def direction(text: str) -> str:
    """``rtl`` or ``ltr`` by the first strong letter, as ``dir="auto"`` decides (Hebrew/Arabic are rtl)."""
    m = _STRONG.search(str(text))
    return "rtl" if m and m.group(0) >= "\u0590" else "ltr"
