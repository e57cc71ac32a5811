"""Where an answer sentence's last line and its ``[n]`` marker sit in the page (Chromium's layout, read
with a Range over the sentence's text): what the direction and alignment tests of the chat compare."""

from __future__ import annotations

LAST_LINE = """(el) => {
  // The sentence's box and the extent of its last line (the union of the text's rects on it).
  const range = document.createRange(); range.selectNodeContents(el);
  const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
  const top = Math.max(...rects.map(r => r.top)), last = rects.filter(r => r.bottom > top + 2);
  const box = el.getBoundingClientRect(), mark = el.querySelector('.qa-cite');
  const line = {left: Math.min(...last.map(r => r.left)), right: Math.max(...last.map(r => r.right))};
  const m = mark && mark.getBoundingClientRect();
  return {top: box.top, left: line.left - box.left, right: box.right - line.right,
          lines: new Set(rects.map(r => Math.round(r.bottom / 4))).size,
          marker: !m ? null : Math.abs(m.right - line.right) < 3 ? 'right'
                  : Math.abs(m.left - line.left) < 3 ? 'left' : 'middle'};
}"""


def edges(locator) -> dict:
    """``left``/``right``: the gap between the sentence's last line and its box on each side;
    ``marker``: at which end of that line its ``[n]`` sits."""
    return locator.evaluate(LAST_LINE)


def marker_side(sentence) -> str:
    return edges(sentence)["marker"]
