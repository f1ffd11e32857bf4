"""One HTTP server for the REST API and the Gradio UI.

Usual case: :func:`create_server` mounts the UI at ``/`` of the API app (the REST routes were
added first, so they win over Gradio's routes) and :func:`run_server` serves it with uvicorn.

A Gradio share link exists only for a server started by ``demo.launch()``, not for a mounted
app. So with ``--share`` the app lets Gradio start its own server and tunnel, then calls
:func:`add_api_routes` on ``demo.app``: the API answers on the local port and on the
``*.gradio.live`` link alike.

>>> run_server(create_server(demo, create_api(get_scorer)), "127.0.0.1", 7860)         # doctest: +SKIP
>>> demo.launch(share=True, prevent_thread_lock=True); add_api_routes(demo.app, api)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI

logger = logging.getLogger(__name__)


def create_server(demo: gr.Blocks | None, api: FastAPI, **mount_options: Any) -> FastAPI:
    """``api`` with ``demo`` mounted at ``/``; without a demo, just ``api``.

    ``mount_options`` go to :func:`gradio.mount_gradio_app` (``auth``, ``theme``, ``css``,
    ``max_file_size``, ...); Gradio's ``auth`` guards the UI only, the API has its own key.
    """
    if demo is None:
        return api
    return gr.mount_gradio_app(api, demo, path="/", **mount_options)


def run_server(app: FastAPI, host: str = "127.0.0.1", port: int = 7860) -> None:
    """Serve ``app`` with uvicorn until interrupted."""
    logger.info(
        "Serving the UI at http://%s:%d/ and the API docs at http://%s:%d/docs", host, port, host, port
    )
    uvicorn.run(app, host=host, port=port)


def add_api_routes(app: FastAPI, api: FastAPI) -> None:
    """Put ``api``'s routes (REST and ``/docs``) in front of ``app``'s, so they win as when mounted.

    For an app that is already serving (``demo.app`` after ``demo.launch()``): until this call
    returns, the REST routes answer 404.
    """
    app.router.routes[:0] = api.routes
