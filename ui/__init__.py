"""The web chat (Gradio) and the HTTP API (FastAPI) over one ``qa.Assistant``, in one process.

``ui.server.serve`` is what ``qa serve`` runs; ``ui.server.create_app`` builds the ASGI app for tests.
Layout: ``app`` (Gradio layout and callbacks), ``render`` (escaped HTML for messages, sources and the
document list), ``api`` (the /api routes and their pydantic models), ``library`` (uploads and
writes to the index, shared by both), ``server`` (mounting, access control, limits, uvicorn).
"""

import os

# Set before gradio is imported anywhere: no usage statistics, no telemetry, nothing phones home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
