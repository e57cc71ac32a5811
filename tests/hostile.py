"""Shared by the security tests: XSS payloads, and a real index whose documents, titles and upload
names are payloads."""

from __future__ import annotations

import io

from tests.serving import seed_index
from ui.library import Library

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=1">',
    '"><svg onload=window.__pwned=1>',
    "'><iframe srcdoc='<script>parent.__pwned=1</script>'></iframe>",
    '<a href="javascript:window.__pwned=1">click</a>',
    "</textarea></p></div><style>*{display:none}</style>",
    "{{constructor.constructor('window.__pwned=1')()}} ${window.__pwned=1}",
    "&lt;script&gt;window.__pwned=1&lt;/script&gt;",
]


def hostile_library(folder) -> Library:
    """A real index holding documents whose text, titles and upload names are all payloads."""
    library = Library(seed_index(folder), max_upload_bytes=200_000)
    html_page = (f"<html><head><title>{PAYLOADS[0]}</title></head><body><p>The harbour of Asilah has 120 "
                 f"fishing boats. {PAYLOADS[1]}</p><script>window.__pwned=1</script></body></html>")
    markdown = (f"{PAYLOADS[1]} Lighthouse log\n\nThe lighthouse keeper counted 77 ships in one night\r\r"
                f"{PAYLOADS[0]} {PAYLOADS[4]} **bold** [click](https://phish.example/) at the pier.\n")
    result = library.add([(f"{PAYLOADS[2]}.html", io.BytesIO(html_page.encode())),
                          (f"{PAYLOADS[1]}.md", io.BytesIO(markdown.encode()))])
    assert len(result.added) == 2, result
    return library
