"""The app's settings: one frozen dataclass, its defaults read from ``RERANKER_*`` variables.

Command-line flags override environment variables, which override the built-in defaults; this
module is the one place where flags and variables map onto settings.

>>> AppConfig(port=8080).port
8080
>>> parse_args(["--port", "9000", "--auth", "agent:s3cret"]).auth
('agent', 's3cret')
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar

from reranker.engine.load import BACKENDS, DTYPES, check_engine_choice, load_scorer
from reranker.engine.model_source import DEFAULT_MODEL
from reranker.engine.prompt import DEFAULT_MAX_LENGTH, MAX_WINDOWS, validate_max_length
from reranker.engine.scorer import Scorer
from reranker.errors import InvalidInput
from reranker.feedback.learning import DEFAULT_LEARN_MODE, LEARN_MODES
from reranker.retrieval.dense import (
    DEFAULT_EMBEDDING_MODEL,
    DISABLED,
    EMBEDDING_BACKENDS,
    Embedder,
    load_embedder,
)
from reranker.retrieval.first_stage import RETRIEVAL_MODES, Retrieval, check_retrieval
from reranker.shipped import CHECKOUT
from reranker.store import default_url

ENV_PREFIX = "RERANKER_"
#: Where agents' picks and per-base settings live unless --data-dir says otherwise (git-ignored).
#: data/ next to app.py in a checkout; data/ in the working folder for an installed package.
DEFAULT_DATA_DIR = CHECKOUT / "data" if (CHECKOUT / "app.py").is_file() else Path("data").resolve()
T = TypeVar("T")


def parse_auth(text: str) -> tuple[str, str]:
    """``"user:password"`` -> ``("user", "password")``; the password may contain colons."""
    user, colon, password = text.partition(":")
    if not colon or not user.strip() or not password:
        raise InvalidInput("Give credentials as user:password (for example --auth agent:s3cret).")
    return user.strip(), password


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(text)


def parse_names(text: str) -> tuple[str, ...]:
    """``"rerank-v3.5, qwen3-reranker"`` -> ``("rerank-v3.5", "qwen3-reranker")`` (commas or spaces)."""
    return tuple(text.replace(",", " ").split())


def _env(name: str, default: T, convert: Callable[[str], T] = str) -> Callable[[], T]:  # type: ignore[assignment]
    """A default factory: ``$RERANKER_<name>`` converted, or ``default`` when unset or empty."""

    def read() -> T:
        raw = os.environ.get(ENV_PREFIX + name, "")
        if not raw.strip():
            return default
        try:
            return convert(raw.strip())
        except ValueError:
            raise InvalidInput(f"{ENV_PREFIX}{name}={raw!r} is not a valid value.") from None
        except InvalidInput as exc:
            raise InvalidInput(f"{ENV_PREFIX}{name}: {exc}") from None

    return read


def default_data_dir() -> Path:
    """``$RERANKER_DATA_DIR``, else ``data/`` next to app.py (for commands other than the app)."""
    return _env("DATA_DIR", DEFAULT_DATA_DIR, Path)()


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """Where the team's database is: ``database_url``, default ``desk.db`` in ``data_dir``.

    >>> DatabaseConfig(data_dir=Path("/srv/desk")).url
    'sqlite:////srv/desk/desk.db'
    """

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = field(default_factory=_env("DATABASE_URL", None), repr=False)

    @property
    def url(self) -> str:
        """The database URL to open (``--database-url``, else SQLite in ``--data-dir``)."""
        return self.database_url or default_url(self.data_dir)


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--database-url``, for ``serve`` and the team commands (db, users, keys, picks).

    Left out, a flag keeps the environment/default value (``default=SUPPRESS``).
    """
    group = parser.add_argument_group("team database")
    group.add_argument("--data-dir", type=Path, dest="data_dir", default=argparse.SUPPRESS,
                       help=f"folder of desk.db (the default database) and of an old feedback.sqlite3 to copy "
                       f"in (env {ENV_PREFIX}DATA_DIR; default data/ next to app.py)")  # fmt: skip
    group.add_argument("--database-url", dest="database_url", default=argparse.SUPPRESS, metavar="URL",
                       help="sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB, shared by "
                       f"several desks (env {ENV_PREFIX}DATABASE_URL; default sqlite:///DATA_DIR/desk.db)")  # fmt: skip


def database_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> DatabaseConfig:
    """The :class:`DatabaseConfig` of parsed flags; ``parser.error`` (exit 2) names a bad value."""
    given = {name: getattr(args, name) for name in ("data_dir", "database_url") if hasattr(args, name)}
    try:
        return DatabaseConfig(**given)
    except InvalidInput as exc:
        parser.error(str(exc))


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """Which reranker to load and how: the settings every command shares (app, score, evaluate).

    >>> EngineConfig(model="/models/reranker", backend="transformers").backend
    'transformers'
    """

    model: str = field(default_factory=_env("MODEL", DEFAULT_MODEL))
    backend: str = field(default_factory=_env("BACKEND", "auto"))
    remote_url: str | None = field(default_factory=_env("REMOTE_URL", None))
    dtype: str | None = field(default_factory=_env("DTYPE", None))
    max_length: int = field(default_factory=_env("MAX_LENGTH", DEFAULT_MAX_LENGTH, int))
    kv_cache_gib: float | None = field(default_factory=_env("KV_CACHE_GIB", None, float))

    def __post_init__(self) -> None:
        check_engine_choice(self.backend, self.dtype)
        validate_max_length(self.max_length)
        if self.kv_cache_gib is not None and self.kv_cache_gib <= 0:
            raise InvalidInput(f"kv_cache_gib must be positive, got {self.kv_cache_gib}.")
        if self.backend == "remote" and not self.remote_url:
            raise InvalidInput(
                "The remote backend needs the vLLM server's address: pass --remote-url http://HOST:PORT."
            )

    def load_scorer(self, concurrency: int = 2) -> Scorer:
        """Load the reranker these settings name (``ModelUnavailable`` when it cannot be)."""
        return load_scorer(self.model, backend=self.backend, dtype=self.dtype,  # type: ignore[arg-type]
                           max_length=self.max_length, remote_url=self.remote_url,
                           concurrency=concurrency, kv_cache_gib=self.kv_cache_gib)  # fmt: skip


ENGINE_FIELDS = tuple(f.name for f in fields(EngineConfig))


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The engine flags, the same in every command; a flag left out keeps the environment/default."""
    group = parser.add_argument_group("reranker engine")

    def add(flag: str, env: str, default: str, help_text: str, **kwargs: object) -> None:
        group.add_argument(flag, help=f"{help_text} (env {ENV_PREFIX}{env}; default {default})",
                           default=argparse.SUPPRESS, **kwargs)  # fmt: skip

    add("--model", "MODEL", DEFAULT_MODEL, "Hugging Face id or local directory of the reranker")
    add("--backend", "BACKEND", "auto", "scoring engine", choices=BACKENDS)
    add("--remote-url", "REMOTE_URL", "none", "address of a `vllm serve` running the reranker, for "
        "--backend remote", metavar="URL", dest="remote_url")  # fmt: skip
    add("--dtype", "DTYPE", "auto", "model weights precision", choices=DTYPES)
    add("--max-length", "MAX_LENGTH", str(DEFAULT_MAX_LENGTH), "tokens per window: a longer answer is scored "
        f"in overlapping windows, at most {MAX_WINDOWS}; beyond them it is cut",
        type=int, dest="max_length")  # fmt: skip
    add("--kv-cache-gib", "KV_CACHE_GIB", "sized from the model, --max-length, the concurrency and the "
        "free memory", "vLLM's CPU KV cache in GiB", type=float, dest="kv_cache_gib")  # fmt: skip


def engine_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> EngineConfig:
    """The :class:`EngineConfig` of parsed ``args``; an invalid value exits 2 naming it."""
    try:
        return EngineConfig(**{name: value for name, value in vars(args).items() if name in ENGINE_FIELDS})
    except InvalidInput as exc:
        parser.error(str(exc))


@dataclass(frozen=True, kw_only=True)
class RetrievalConfig:
    """The first stage: which embedding model (``"none"``: no dense retrieval) and which mode.

    ``retrieval`` left as None becomes ``"hybrid"`` when there is an embedding model, else
    ``"keyword"``; dense and hybrid without an embedding model are refused.

    >>> RetrievalConfig(embedding_model="none").retrieval
    'keyword'
    >>> RetrievalConfig(embedding_model="/models/minilm").retrieval
    'hybrid'
    """

    embedding_model: str = field(default_factory=_env("EMBEDDING_MODEL", DEFAULT_EMBEDDING_MODEL))
    retrieval: Retrieval | None = field(default_factory=_env("RETRIEVAL", None, check_retrieval))  # type: ignore[arg-type]
    #: True when ``retrieval`` was left to the default (a command may then fall back to keyword).
    retrieval_default: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        if self.retrieval is None:
            object.__setattr__(self, "retrieval", "hybrid" if self.dense_enabled else "keyword")
            object.__setattr__(self, "retrieval_default", True)
        check_retrieval(str(self.retrieval))
        if self.retrieval != "keyword" and not self.dense_enabled:
            raise InvalidInput(
                f"--retrieval {self.retrieval} needs an embedding model: pass --embedding-model "
                "(a Hugging Face id or a directory), or use --retrieval keyword."
            )

    @property
    def dense_enabled(self) -> bool:
        """An embedding model is named (it may still fail to load)."""
        return self.embedding_model.strip().lower() not in ("", DISABLED)

    @property
    def wants_embedder(self) -> bool:
        """The configured first stage needs the embedding model."""
        return self.dense_enabled and self.retrieval != "keyword"

    def load_embedder(self, backend: str = "auto", dtype: str | None = None) -> Embedder | None:
        """The embedding model (None when the first stage needs none); ``ModelUnavailable`` when it cannot load.

        It runs on the reranker's engine when that is ``vllm`` or ``transformers`` (else ``auto``),
        in the reranker's dtype.
        """
        if not self.wants_embedder:
            return None
        engine = backend if backend in EMBEDDING_BACKENDS else "auto"
        return load_embedder(self.embedding_model, backend=engine, dtype=dtype)  # type: ignore[arg-type]


RETRIEVAL_FIELDS = tuple(f.name for f in fields(RetrievalConfig))


def add_retrieval_arguments(parser: argparse.ArgumentParser) -> None:
    """The first-stage flags of the app and the evaluation; a flag left out keeps the environment/default."""
    group = parser.add_argument_group("first stage (which FAQ entries the reranker sees)")
    group.add_argument("--embedding-model", dest="embedding_model", default=argparse.SUPPRESS, metavar="MODEL",
                       help=f"Hugging Face id or local directory of the embedding model; {DISABLED} turns dense "
                       f"retrieval off (env {ENV_PREFIX}EMBEDDING_MODEL; default {DEFAULT_EMBEDDING_MODEL})")  # fmt: skip
    group.add_argument("--retrieval", choices=RETRIEVAL_MODES, default=argparse.SUPPRESS,
                       help=f"first stage (env {ENV_PREFIX}RETRIEVAL; default hybrid when there is an "
                       "embedding model, else keyword)")  # fmt: skip


def retrieval_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> RetrievalConfig:
    """The :class:`RetrievalConfig` of parsed ``args``; an invalid value exits 2 naming it."""
    try:
        return RetrievalConfig(
            **{name: value for name, value in vars(args).items() if name in RETRIEVAL_FIELDS}
        )
    except InvalidInput as exc:
        parser.error(str(exc))


@dataclass(frozen=True, kw_only=True)
class AppConfig(DatabaseConfig, RetrievalConfig, EngineConfig):
    """Settings of one running app. Every field can be set by flag or environment variable.

    ``host`` defaults to 127.0.0.1 (this machine only); use 0.0.0.0 to serve the network.
    ``max_candidates`` caps the candidates scored per request (pasted, or FAQ top K).
    ``max_upload_mb`` caps uploaded CSV files. ``concurrency_limit`` requests run at once (the
    engine itself scores one batch at a time); up to ``queue_size`` more wait in the queue.
    Gradio keeps the last inputs and outputs of each session (browser tab, or API call) in
    memory; ``max_sessions`` caps how many, dropping the least recently active first.
    The team's database (picks, thresholds, uploaded bases, users, API keys) is ``database_url``,
    default ``desk.db`` in ``data_dir``; ``feedback=False`` (``--no-feedback``) records no picks.
    ``retain_days`` (None: keep) deletes picks older than that many days, at start and daily.
    ``learn_phrasings`` (review, auto, off): whether a pick suggests (or adds) the customer's
    question as a phrasing of the picked entry.
    """

    host: str = field(default_factory=_env("HOST", "127.0.0.1"))
    port: int = field(default_factory=_env("PORT", 7860, int))
    share: bool = field(default_factory=_env("SHARE", False, _parse_bool))
    auth: tuple[str, str] | None = field(default_factory=_env("AUTH", None, parse_auth), repr=False)
    api_key: str | None = field(default_factory=_env("API_KEY", None), repr=False)
    open_api: bool = field(default_factory=_env("OPEN_API", False, _parse_bool))
    served_model_name: tuple[str, ...] = field(default_factory=_env("SERVED_MODEL_NAME", (), parse_names))
    kb: Path | None = field(default_factory=_env("KB", None, Path))
    max_candidates: int = field(default_factory=_env("MAX_CANDIDATES", 500, int))
    max_upload_mb: float = field(default_factory=_env("MAX_UPLOAD_MB", 5.0, float))
    concurrency_limit: int = field(default_factory=_env("CONCURRENCY", 2, int))
    queue_size: int = field(default_factory=_env("QUEUE_SIZE", 64, int))
    max_sessions: int = field(default_factory=_env("MAX_SESSIONS", 1000, int))
    feedback: bool = field(default_factory=_env("FEEDBACK", True, _parse_bool))
    retain_days: int | None = field(default_factory=_env("RETAIN_DAYS", None, int))
    learn_phrasings: str = field(default_factory=_env("LEARN_PHRASINGS", DEFAULT_LEARN_MODE))

    def __post_init__(self) -> None:
        EngineConfig.__post_init__(self)
        RetrievalConfig.__post_init__(self)
        if not 1 <= self.port <= 65535:
            raise InvalidInput(f"The port must be between 1 and 65535, got {self.port}.")
        for name in ("max_candidates", "concurrency_limit", "queue_size", "max_sessions"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.learn_phrasings not in LEARN_MODES:
            raise InvalidInput(f"learn_phrasings must be one of {', '.join(LEARN_MODES)}, got {self.learn_phrasings!r}.")
        if self.retain_days is not None and self.retain_days < 0:
            raise InvalidInput(f"retain_days must be 0 or more (or left out to keep picks), got {self.retain_days}.")
        if self.max_upload_mb <= 0:
            raise InvalidInput(f"max_upload_mb must be positive, got {self.max_upload_mb}.")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def add_app_arguments(parser: argparse.ArgumentParser) -> None:
    """The desk's flags (``serve``, ``python app.py``), on a parser made with ``argument_default=SUPPRESS``:
    a flag left out keeps the environment/default value."""

    def add(flag: str, env: str, default: str, help_text: str, **kwargs: object) -> None:
        parser.add_argument(flag, help=f"{help_text} (env {ENV_PREFIX}{env}; default {default})", **kwargs)

    add("--host", "HOST", "127.0.0.1", "interface to listen on; 0.0.0.0 serves the whole network")
    add("--port", "PORT", "7860", "port to listen on", type=int)
    add(
        "--share",
        "SHARE",
        "off",
        "also create a public gradio.live link (use with --auth)",
        action=argparse.BooleanOptionalAction,
    )
    add("--auth", "AUTH", "none", "require this login, given as user:password", metavar="USER:PASSWORD")
    add(
        "--api-key",
        "API_KEY",
        "none",
        "require `Authorization: Bearer KEY` on the REST API (/v1/rerank)",
        metavar="KEY",
        dest="api_key",
    )
    add(
        "--open-api",
        "OPEN_API",
        "off",
        "with --auth or --share, leave the REST API open to anyone without a key (otherwise it needs "
        "--api-key or the --auth login, and on a share link with neither it is off)",
        action=argparse.BooleanOptionalAction,
        dest="open_api",
    )
    add(
        "--served-model-name",
        "SERVED_MODEL_NAME",
        "the model's path or id",
        "names a request's model may use, as vLLM's flag; the first is answered (the variable: spaces or commas)",
        nargs="+",
        metavar="NAME",
        dest="served_model_name",
    )
    _add_capacity_arguments(add)
    add_database_arguments(parser)
    add_engine_arguments(parser)
    add_retrieval_arguments(parser)


def _add_capacity_arguments(add: Callable[..., None]) -> None:
    """What the desk serves and how much: the bases, limits, queue, sessions, the store."""
    add("--kb", "KB", "the bundled samples", "FAQ CSV to offer first in the FAQ base tab", type=Path)
    add(
        "--max-candidates",
        "MAX_CANDIDATES",
        "500",
        "candidates scored per request at most",
        type=int,
        dest="max_candidates",
    )
    add(
        "--max-upload-mb", "MAX_UPLOAD_MB", "5", "largest CSV upload, in MB", type=float, dest="max_upload_mb"
    )
    add("--concurrency", "CONCURRENCY", "2", "rankings run at once (the KV cache is sized for them)",
        type=int, dest="concurrency_limit")  # fmt: skip
    add("--queue-size", "QUEUE_SIZE", "64", "rankings that may wait for a turn", type=int, dest="queue_size")
    add("--max-sessions", "MAX_SESSIONS", "1000", "browser sessions whose last results are kept in memory",
        type=int, dest="max_sessions")  # fmt: skip
    add("--feedback", "FEEDBACK", "on", "record agents' picks (--no-feedback: record nothing)",
        action=argparse.BooleanOptionalAction)  # fmt: skip
    add("--learn-phrasings", "LEARN_PHRASINGS", DEFAULT_LEARN_MODE, "what a pick teaches: review (a lead "
        "approves the customer's question as a phrasing of the picked entry), auto (added at once), off",
        choices=LEARN_MODES, dest="learn_phrasings")  # fmt: skip
    add("--retain-days", "RETAIN_DAYS", "keep", "delete picks older than this many days (they hold "
        "customers' questions), at start and daily", type=int, dest="retain_days", metavar="N")  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> AppConfig:
    """The desk's flags (``sys.argv[1:]`` when ``argv`` is None) over environment over defaults.

    Exits with status 2 and a message naming the problem when a value is invalid.
    """
    parser = argparse.ArgumentParser(prog="faq-rerank-desk serve", argument_default=argparse.SUPPRESS)
    add_app_arguments(parser)
    return app_config(parser, parser.parse_args(argv))


def app_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> AppConfig:
    """The :class:`AppConfig` of parsed ``serve`` flags; ``parser.error`` (exit 2) names a bad value."""
    given = {key: value for key, value in vars(args).items() if key != "command"}
    try:
        if "auth" in given:
            given["auth"] = parse_auth(given["auth"])
        if "served_model_name" in given:
            given["served_model_name"] = tuple(given["served_model_name"])
        return AppConfig(**given)
    except InvalidInput as exc:
        parser.error(str(exc))
