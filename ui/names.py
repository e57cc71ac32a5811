"""Upload file names and the checks made before a file is stored.

``safe_name`` turns any name a browser or client sends into one that is safe to create inside the
uploads folder (no directories, no ``..``, no control characters, a capped length in characters and
UTF-8 bytes, the suffix kept); ``check_upload`` refuses an unsupported type, an empty file or one
over the limit with the HTTP status to answer. pathvalidate alone was measured on the hostile names
of tests/test_reliability_access.py and is not enough (it keeps "..", leading dots, U+202E and
full-width slashes); it is used after our rules for what they miss: Windows device names ("con.txt"
becomes "con_.txt"). Out of scope: storing (``library``).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from pathvalidate import sanitize_filename

from qa.load import READERS

SUFFIXES = tuple(sorted(READERS))
MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 200  # UTF-8; file systems allow 255, and 100 characters of a 4-byte script would not fit
_UNSAFE = re.compile(r"[^\w.\- ]+")


class UploadError(ValueError):
    """A file refused before ingestion; ``status`` is the HTTP status the API answers with."""

    def __init__(self, name: str, reason: str, status: int = 400):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason, self.status = name, reason, status


def human_bytes(n: float) -> str:
    return f"{n / 1e6:.3g} MB" if n >= 1e6 else f"{n / 1e3:.3g} kB"


def safe_name(name: str) -> str:
    """A file name that is safe to create inside the uploads folder, with the original suffix."""
    name = unicodedata.normalize("NFC", str(name)).replace("\x00", "")
    name = re.split(r"[\\/]", name)[-1]  # strip any directories, whichever separator
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = suffix.lower()[:10]
    stem = _fit(stem.strip(" .").replace("..", "_"), f".{suffix}").strip(" .") or "upload"
    # pathvalidate adds what the rules above miss: reserved device names (con, nul, com1, lpt9...).
    return sanitize_filename(f"{stem}.{suffix}" if suffix else stem, platform="universal",
                             max_len=255) or "upload"


def _fit(stem: str, tail: str) -> str:
    """``stem`` cut so that ``stem + tail`` has at most MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes."""
    stem = stem[: MAX_NAME_CHARS - len(tail)]
    return stem.encode("utf-8")[: MAX_NAME_BYTES - len(tail.encode("utf-8"))].decode("utf-8", "ignore")


def check_upload(name: str, size: int | None, max_bytes: int) -> None:
    """Raise ``UploadError`` for an unsupported suffix (415) or a file over the limit (413)."""
    suffix = Path(safe_name(name)).suffix.lower()
    if suffix not in READERS:
        raise UploadError(name, f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUFFIXES)}",
                          415)
    if size is not None and size > max_bytes:
        raise UploadError(name, f"the file is {human_bytes(size)}, over the {human_bytes(max_bytes)} upload "
                                "limit (qa serve --max-upload-mb)", 413)
    if size == 0:
        raise UploadError(name, "the file is empty", 400)
