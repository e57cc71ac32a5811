"""Validate the XARCD parallel Arabic/English QA subset.

Usage: python3 bench/data/xarcd/validate.py [path/to/arcd.json]

Checks that every file loads and is well-formed SQuAD, that every answer span matches its
context at answer_start, that question ids (and paragraph order) match between the Arabic and
English files, that the no-answer files are valid SQuAD v2.0 entries, and - if the original
ARCD file is available - that xarcd_ar.json is an unchanged subset of it. Prints counts.
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_ARCD = Path("/work/shared/data/arcd/arcd.json")

errors: list[str] = []


def check(cond: bool, msg: str) -> None:
    if not cond:
        errors.append(msg)


def load(name: str) -> dict:
    with open(HERE / name, encoding="utf-8") as f:
        return json.load(f)


def paragraphs(doc: dict):
    for art in doc["data"]:
        check(isinstance(art.get("title"), str) and art["title"], "article without title")
        for par in art["paragraphs"]:
            yield art["title"], par


def check_answerable(name: str, doc: dict) -> list[list[str]]:
    check(doc.get("version") == "1.1", f"{name}: version is {doc.get('version')!r}, expected '1.1'")
    ids_per_par = []
    for title, par in paragraphs(doc):
        ctx = par["context"]
        ids = []
        check(len(par["qas"]) > 0, f"{name}: paragraph of {title!r} has no questions")
        for qa in par["qas"]:
            check(qa["question"].strip() != "", f"{name}: empty question {qa['id']}")
            check(len(qa["answers"]) >= 1, f"{name}: {qa['id']} has no answers")
            for ans in qa["answers"]:
                st, txt = ans["answer_start"], ans["text"]
                check(
                    ctx[st : st + len(txt)] == txt,
                    f"{name}: {qa['id']} offset mismatch: {ctx[st : st + len(txt)]!r} != {txt!r}",
                )
            ids.append(qa["id"])
        ids_per_par.append(ids)
    return ids_per_par


def check_noans(name: str, doc: dict) -> list[list[str]]:
    check(doc.get("version") == "v2.0", f"{name}: version is {doc.get('version')!r}, expected 'v2.0'")
    ids_per_par = []
    for _, par in paragraphs(doc):
        ids = []
        for qa in par["qas"]:
            check(qa.get("is_impossible") is True, f"{name}: {qa['id']} is not marked is_impossible")
            check(qa["answers"] == [], f"{name}: {qa['id']} has answers")
            check(qa["id"].startswith("noans-"), f"{name}: id {qa['id']} lacks the noans- prefix")
            check(qa["question"].strip() != "", f"{name}: empty question {qa['id']}")
            ids.append(qa["id"])
        ids_per_par.append(ids)
    return ids_per_par


def flat(ids_per_par: list[list[str]]) -> list[str]:
    return [i for ids in ids_per_par for i in ids]


def check_pairs(ar: dict, en: dict, na_ar: dict, na_en: dict) -> tuple[list[list[str]], list[list[str]]]:
    """The two languages' files agree (ids, paragraph order, counts) and the no-answer files' paragraphs
    are paragraphs of the main files; returns the answerable and no-answer ids per paragraph."""
    ids_ar, ids_en = check_answerable("xarcd_ar", ar), check_answerable("xarcd_en", en)
    check(ids_ar == ids_en, "question ids / paragraph order differ between xarcd_ar and xarcd_en")
    check(len(ar["data"]) == len(en["data"]), "article counts differ between ar and en")
    check(len(set(flat(ids_ar))) == len(flat(ids_ar)), "duplicate question ids in xarcd_ar")

    nids_ar, nids_en = check_noans("xarcd_noans_ar", na_ar), check_noans("xarcd_noans_en", na_en)
    check(nids_ar == nids_en, "no-answer ids / paragraph order differ between ar and en")
    check(len(set(flat(nids_ar))) == len(flat(nids_ar)), "duplicate no-answer ids")
    check(not set(flat(nids_ar)) & set(flat(ids_ar)), "no-answer ids overlap answerable ids")

    for main_doc, na_doc, lang in ((ar, na_ar, "ar"), (en, na_en, "en")):
        main_pars = {(t, p["context"]) for t, p in paragraphs(main_doc)}
        for t, p in paragraphs(na_doc):
            check((t, p["context"]) in main_pars, f"noans_{lang}: paragraph of {t!r} not in xarcd_{lang}")
    return ids_ar, nids_ar


def check_subset_of_arcd(ar: dict, arcd_path: Path) -> None:
    """Optional: the Arabic file must be an unchanged subset of ARCD (skipped when ARCD is absent)."""
    if not arcd_path.exists():
        print(f"ARCD not found at {arcd_path}; skipped the subset check")
        return
    with open(arcd_path, encoding="utf-8") as f:
        arcd = json.load(f)
    src = {}
    for art in arcd["data"]:
        for par in art["paragraphs"]:
            for qa in par["qas"]:
                src[qa["id"]] = (art["title"], par["context"], qa)
    for title, par in paragraphs(ar):
        for qa in par["qas"]:
            s = src.get(qa["id"])
            check(s is not None, f"xarcd_ar: id {qa['id']} not in ARCD")
            if s:
                check(s == (title, par["context"], qa), f"xarcd_ar: {qa['id']} differs from ARCD")
    print(f"checked xarcd_ar.json against {arcd_path}")


def main() -> int:
    ar, en = load("xarcd_ar.json"), load("xarcd_en.json")
    na_ar, na_en = load("xarcd_noans_ar.json"), load("xarcd_noans_en.json")
    ids_ar, nids_ar = check_pairs(ar, en, na_ar, na_en)
    check_subset_of_arcd(ar, Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_ARCD)

    n_par = sum(len(a["paragraphs"]) for a in ar["data"])
    n_ans = sum(len(qa["answers"]) for _, p in paragraphs(ar) for qa in p["qas"])
    print(f"xarcd_ar.json / xarcd_en.json: {len(ar['data'])} articles, {n_par} paragraphs, "
          f"{len(flat(ids_ar))} questions, {n_ans} answers each")
    print(f"xarcd_noans_ar.json / xarcd_noans_en.json: {len(na_ar['data'])} paragraphs, "
          f"{len(flat(nids_ar))} unanswerable questions each")
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  -", e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
