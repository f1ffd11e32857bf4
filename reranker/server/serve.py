"""Serving the desk: load the engine behind it, build the UI, put the REST API in front, launch.

One HTTP server carries both. A Gradio share link exists only for a server started by
``demo.launch()``, not for a mounted app, so Gradio starts the server (and the tunnel) and
:func:`add_api_routes` puts the REST routes in front of Gradio's: the API answers on the local
port and on the ``*.gradio.live`` link alike. ``app.py`` only parses flags and calls
:func:`serve`.

>>> serve(parse_args(["--port", "7860"]))                                      # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr
from fastapi import FastAPI

from reranker.config import AppConfig
from reranker.desk.desk import Desk
from reranker.engine.slot import EngineSlot
from reranker.errors import DatabaseUnavailable, InvalidInput, ModelUnavailable
from reranker.feedback.knowledge import Knowledge
from reranker.feedback.picks import Picks
from reranker.feedback.shared_bases import SharedBases
from reranker.feedback.team import Team
from reranker.knowledge.bases import bundled_bases
from reranker.retrieval.dense import Embedder
from reranker.retrieval.slot import DenseSlot
from reranker.server.api import create_api
from reranker.server.auth import ApiAccess
from reranker.store import Store, open_store
from reranker.store.retention import RetentionJob
from reranker.ui import CSS_PATHS, HEAD, I18N, THEME, build_demo, export_dir

logger = logging.getLogger("reranker.server.serve")
#: The folder under --data-dir where a desk keeps its copies of the team's saved bases.
SHARED_BASES_DIR = "shared-bases"


def create_desk(config: AppConfig, *, background: bool = True) -> Desk:
    """A desk whose scorer loads behind it (``background``) or before it returns.

    While the model loads the desk serves keyword search; when it cannot be loaded, a
    keyword-only desk that says why. Raises ``InvalidInput`` when ``config.kb`` is not a usable
    FAQ CSV.
    """
    if background:
        engine = EngineSlot.load_in_background(lambda: config.load_scorer(config.concurrency_limit))
    else:
        try:
            engine = EngineSlot.ready(config.load_scorer(config.concurrency_limit))
        except ModelUnavailable as exc:
            logger.error("The reranker could not be loaded; serving keyword search only. %s", exc)
            engine = EngineSlot.unavailable(str(exc))
    bases = bundled_bases()
    if config.kb is not None:
        bases = {f"{config.kb.name} (--kb)": config.kb, **bases}
    desk = Desk(
        engine,
        export_dir=export_dir(),
        bases=bases,
        max_candidates=config.max_candidates,
        max_upload_bytes=config.max_upload_bytes,
        dense=create_dense_slot(config, engine, background=background),
    )
    if config.kb is not None:
        desk.bases.named(next(iter(bases)))  # a broken --kb file stops start-up here
    if config.wants_embedder:
        for name in bases:  # each base is embedded in the background, once the embedder is ready
            desk.bases.named(name)
    return desk


def open_team_store(config: AppConfig) -> Store:
    """The team's database (``--database-url``, default ``desk.db`` in ``--data-dir``), migrated,
    with an old ``feedback.sqlite3`` in ``--data-dir`` copied in the first time.

    Raises ``InvalidInput`` when the database is newer than this program, ``DatabaseUnavailable``
    when it cannot be reached.
    """
    return open_store(config.data_dir, config.url)


def create_picks(config: AppConfig, desk: Desk, store: Store | None = None) -> Picks:
    """Agents' picks and stored thresholds in the team's database (``store``, else opened from
    ``config``), over the desk's bases; ``--no-feedback`` records no picks."""
    store = store or open_team_store(config)
    return Picks(store, desk.bases, record=config.feedback, team=Team(store, bootstrap=config.auth))


def start_shared_bases(config: AppConfig, store: Store, desk: Desk) -> SharedBases:
    """The team's stored bases served by this desk (copies under ``--data-dir``), checked every few seconds."""
    return SharedBases(store, desk.bases, config.data_dir / SHARED_BASES_DIR).start()


def create_knowledge(config: AppConfig, desk: Desk, picks: Picks, shared: SharedBases) -> Knowledge | None:
    """The Knowledge tab's tools over the team database (None with ``--no-feedback``: nothing to learn from)."""
    if not picks.recording:
        return None
    return Knowledge.wire(picks, shared, learn=config.learn_phrasings,  # type: ignore[arg-type]
                          embedder_for=desk.dense.question_embedder)


def start_retention(config: AppConfig, store: Store) -> RetentionJob | None:
    """With ``--retain-days N``, the job that deletes picks older than N days (at start, then daily)."""
    if config.retain_days is None:
        return None
    return RetentionJob(store, config.retain_days).start()


def create_dense_slot(config: AppConfig, engine: EngineSlot, *, background: bool = True) -> DenseSlot:
    """The first stage behind the desk: the embedder loading (``background``) or loaded, or keyword only.

    The embedder loads once the reranker has (loaded or failed): two threads importing
    transformers at once can see it half-initialised, and both vLLM engines then start in turn.
    """
    if not config.dense_enabled:
        return DenseSlot.off("keyword", "Keyword search (BM25) only: --embedding-model none.")
    if not config.wants_embedder:
        return DenseSlot.off("keyword", "Keyword search (BM25) only: --retrieval keyword.")

    def load() -> Embedder | None:
        engine.wait()
        return config.load_embedder(config.backend, config.dtype)

    slot = DenseSlot.load_in_background(config.retrieval or "hybrid", load)  # type: ignore[arg-type]
    if not background:
        slot.wait()
    return slot


def serving_options(config: AppConfig, team: Team | None = None) -> dict[str, Any]:
    """Options that both ``demo.launch()`` and ``gr.mount_gradio_app()`` take for this UI.

    The login: the ``team``'s (users of the database, and ``--auth`` as a bootstrap lead) when it
    has logins, else ``--auth``. ``show_error=False``: Gradio never shows an exception's own
    text (``gr.mount_gradio_app`` would by default); every handler turns errors into ``gr.Error``
    pop-ups in the agent's language, an unexpected one with a reference to its logged traceback
    (:func:`reranker.ui.i18n.user_errors`).
    """
    return dict(
        auth=team.accepts if team is not None and team.logins else config.auth,
        max_file_size=config.max_upload_bytes,
        show_error=False,
        theme=THEME,
        css_paths=CSS_PATHS,
        head=HEAD,
        i18n=I18N,
        footer_links=["api", "settings"],
    )


def enable_queue(demo: gr.Blocks, config: AppConfig) -> gr.Blocks:
    """Queue requests: ``concurrency_limit`` run at once, ``queue_size`` more may wait."""
    return demo.queue(default_concurrency_limit=config.concurrency_limit, max_size=config.queue_size)


def api_access(config: AppConfig, team: Team | None = None) -> ApiAccess:
    """Who may call the REST API. Behind ``--auth``, ``--share`` or the team's logins it is not open by default.

    Locally without logins: open, or the ``--api-key``. With ``--auth`` or users in the team
    database (``team``): ``--api-key``, the team's API keys, or a login over HTTP Basic. With
    ``--share`` and none of them: off (403). ``--open-api``: open anyway.
    """
    has_team = team is not None and team.logins
    guarded = (config.auth is not None or config.share or has_team) and not config.open_api
    if not guarded:
        return ApiAccess(api_key=config.api_key)
    return ApiAccess(api_key=config.api_key, login=config.auth, team=team if has_team else None,
                     locked=not (config.api_key or config.auth or has_team))  # fmt: skip


def create_rest_api(desk: Desk, config: AppConfig, picks: Picks | None = None,
                    shared: SharedBases | None = None, knowledge: Knowledge | None = None) -> FastAPI:  # fmt: skip
    """The REST API (rerank v1 and v2, ``/v1/models``, ``/metrics``, ``/health``) over the desk's
    scorer, and the FAQ routes (bases, search, feedback) over its bases. Beyond ``--concurrency``
    + ``--queue-size`` scoring requests in the desk, one more is answered 503 at once."""
    return create_api(
        desk.engine,
        desk=desk,
        picks=picks,
        access=api_access(config, None if picks is None else picks.team),
        capacity=config.concurrency_limit + config.queue_size,
        shared=shared,
        knowledge=knowledge,
        max_documents=config.max_candidates,
        served_model_names=config.served_model_name,
        first_stage=desk.dense.health,
    )


def launch(demo: gr.Blocks, config: AppConfig, *, api: FastAPI | None = None, block: bool = True,
           team: Team | None = None) -> str:  # fmt: skip
    """Queue and serve ``demo`` (and ``api`` on the same port); returns the local URL.

    Gradio's own server is used in every case, because only it can open a share link; the REST
    routes are put in front of Gradio's. A share link that cannot be created is logged as a
    warning; the app keeps serving locally.
    """
    if config.share and config.auth is None and not (team is not None and team.logins):
        logger.warning(
            "--share without --auth: anyone who has the public link can use this app. "
            "Add --auth user:password (or set RERANKER_AUTH)."
        )
    enable_queue(demo, config).launch(
        server_name=config.host,
        server_port=config.port,
        share=config.share,
        prevent_thread_lock=True,
        quiet=True,
        state_session_capacity=config.max_sessions,
        **serving_options(config, team),
    )
    if api is not None:
        add_api_routes(demo.app, api)
        api.state.telemetry.watch_queue("ui", lambda: len(demo._queue))  # Gradio's waiting events
        if api_access(config, team).open and (config.share or config.host not in ("127.0.0.1", "localhost")):
            logger.warning(
                "The REST API (/v1/rerank) is open to anyone who can reach this server. "
                "Set --api-key (or RERANKER_API_KEY) to require a key."
            )
    logger.info("FAQ Rerank Desk is serving at %s (REST API docs at %sdocs)", demo.local_url, demo.local_url)
    if config.share:
        if demo.share_url:
            logger.info("Public share link: %s", demo.share_url)
        else:
            logger.warning(
                "Could not create the public share link (no internet access, or the Gradio "
                "share server is unreachable). The app keeps serving locally at %s.",
                demo.local_url,
            )
    if block:
        demo.block_thread()
    return str(demo.local_url)


def create_server(demo: gr.Blocks | None, api: FastAPI, **mount_options: Any) -> FastAPI:
    """``api`` with ``demo`` mounted at ``/``: to embed the desk in an app of your own.

    ``mount_options`` go to :func:`gradio.mount_gradio_app` (``auth``, ``theme``, ...; see
    :func:`serving_options`); Gradio's ``auth`` guards the UI only, the API has its own key.
    Serve the result with ``uvicorn.run(app, host=..., port=...)``. Without a demo, just ``api``.
    """
    if demo is None:
        return api
    return gr.mount_gradio_app(api, demo, path="/", **mount_options)


def add_api_routes(app: FastAPI, api: FastAPI) -> None:
    """Put ``api``'s routes (REST and ``/docs``) in front of ``app``'s, so they win over Gradio's.

    For an app that is already serving (``demo.app`` after ``demo.launch()``): until this call
    returns, the REST routes answer 404.
    """
    app.router.routes[:0] = api.routes


def serve(config: AppConfig) -> int:
    """Serve the desk as ``config`` says until interrupted; 2 when ``--kb`` is unusable or the
    database cannot be reached (or is newer than this program)."""
    try:
        desk = create_desk(config)
        store = open_team_store(config)
        picks = create_picks(config, desk, store)
        shared = start_shared_bases(config, store, desk)
        knowledge = create_knowledge(config, desk, picks, shared)
    except (InvalidInput, DatabaseUnavailable) as exc:
        logger.error("%s", exc)
        return 2
    start_retention(config, store)
    if picks.team.logins:
        logger.info("Sign-in: %s", "the users of the team database" + (" and --auth" if config.auth else ""))
    api = create_rest_api(desk, config, picks, shared, knowledge)
    launch(build_demo(desk, config, picks, shared, knowledge), config, api=api, team=picks.team)
    return 0
