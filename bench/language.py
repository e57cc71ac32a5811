"""Question language id: script counting alone vs qa.text.detect_language (script + lingua).

    python bench/language.py

Prints accuracy on 55 short questions (English, French, Spanish, German, Arabic; the right answer for
the three others is ``other``), how many English questions were lost, and the cost per question.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from qa.text import _script_language, detect_language  # noqa: E402

EN = ["How many participants attended the forum?", "Who organised the forum?", "When did the library open?", "forum",
      "How long is the bridge?", "Solar station output?", "and how many beds?", "What is the slogan of the forum?",
      "Date festival visitors?", "How much did it cost?", "When?", "How many?", "Who won the 2018 World Cup?",
      "Tell me about the children's hospital", "Is borrowing free?", "Marrakech Security Forum", "Cars per day?",
      "What about the heart unit?", "How many books does the Blue Owl Library lend every month?", "Bridge length?",
      "Library opening hours?", "Hospital beds?", "Football club titles?", "Why?", "Where is Tangier?"]
FR = ["Combien de participants ont assisté au forum ?", "Qui a organisé le forum ?",
      "Quand la bibliothèque a-t-elle ouvert ?", "Quelle est la longueur du pont ?",
      "Combien de lits a l'hôpital des enfants ?", "Où se trouve la gare ?",
      "Pourquoi le pont a-t-il coûté si cher ?", "Quel est le slogan du forum ?", "Combien de visiteurs ?",
      "Qui a gagné la coupe du monde ?"]
ES = ["¿Cuántos participantes asistieron al foro?", "¿Quién organizó el foro?", "¿Cuándo abrió la biblioteca?",
      "¿Cuánto mide el puente?", "¿Cuántas camas tiene el hospital infantil?", "¿Dónde está la estación?",
      "¿Por qué costó tanto el puente?", "¿Cuál es el lema del foro?", "¿Cuántos visitantes?",
      "¿Quién ganó el mundial?"]
DE = ["Wie viele Teilnehmer waren beim Forum?", "Wer hat das Forum organisiert?",
      "Wann wurde die Bibliothek eröffnet?", "Wie lang ist die Brücke?",
      "Wie viele Betten hat das Kinderkrankenhaus?"]
AR = ["كم عدد المشاركين في المنتدى؟", "من نظم المنتدى؟", "متى؟", "كم؟", "محطة الطاقة الشمسية؟"]
rows = [(q, "en") for q in EN] + [(q, "other") for q in FR + ES + DE] + [(q, "ar") for q in AR]


def main() -> None:
    t = time.perf_counter()
    detect_language("Warm up the language detector, please.")
    print(f"first call (loads lingua's models): {time.perf_counter() - t:.2f} s")
    for name, fn in (("script counting", _script_language), ("script + lingua", detect_language)):
        pred = [fn(q) for q, _ in rows]
        errors = [(q, p) for (q, g), p in zip(rows, pred) if p != g]
        lost = sum(1 for (_, g), p in zip(rows, pred) if g == "en" and p != "en")
        qs = [q for q, _ in rows] * 20
        t = time.perf_counter()
        for q in qs:
            fn(q)
        ms = (time.perf_counter() - t) / len(qs) * 1e3
        print(f"{name:16} accuracy {1 - len(errors) / len(rows):.3f}  English lost {lost}/{len(EN)}  "
              f"{ms:.3f} ms/question  errors: {errors[:4]}")


if __name__ == "__main__":
    main()
