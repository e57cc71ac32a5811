"""The HTTP API's interactive docs at ``/docs``, served entirely from this machine.

FastAPI's own ``/docs`` page loads Swagger UI's script and styles from a CDN and its favicon from
fastapi.tiangolo.com, so offline it is a blank page. Here the same page is built by FastAPI's
``get_swagger_ui_html`` but points at the Swagger UI files of the ``swagger-ui-bundle-v2`` package
(Swagger UI 5, which reads the OpenAPI 3.1 schema FastAPI writes), served under ``/docs-assets/``.
Out of scope: the schema itself (``api``, ``/openapi.json``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/docs-assets"


def docs_page() -> HTMLResponse:
    """Swagger UI for ``/openapi.json`` with every asset from ``ASSETS``."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title="qa — HTTP API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon-32x32.png", oauth2_redirect_url=None,
        swagger_ui_parameters={"defaultModelsExpandDepth": 0})


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets on ``app`` (create it with ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    app.add_api_route("/docs", docs_page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
