"""A ``vllm serve`` server over HTTP. Prompts are still built (and truncated) here.

The server runs the reranker as vLLM's one-label classifier (``--runner pooling`` with the
overrides in :data:`SERVE_HF_OVERRIDES`, the same as the in-process engine), so its
``/classify`` endpoint, given the prompts' token ids (``{"input": [[ids], ...]}``), answers
``probs == [P("yes")]`` for each. Token ids skip the server's own templating and tokenising:
every backend scores exactly the same prompt.

At start the backend reads the server's ``max_model_len`` from ``/v1/models`` and refuses a
server whose limit is below the desk's ``max_length`` (rather than clamping): a smaller limit
would make the server reject the longest prompts, or would cut documents differently from
every other backend; the error names both ways to fix it.

>>> backend = RemoteBackend("http://127.0.0.1:8001", "Qwen/Qwen3-Reranker-0.6B")  # doctest: +SKIP
>>> backend.description                                                          # doctest: +SKIP
'remote vLLM at http://127.0.0.1:8001 (Qwen/Qwen3-Reranker-0.6B, max 8192 tokens)'
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

import httpx
from pydantic import BaseModel, ValidationError

from reranker.engine.backends.base import Backend
from reranker.engine.backends.overrides import QWEN3_RERANKER_HF_OVERRIDES
from reranker.engine.model_source import model_basename
from reranker.engine.prompt import DEFAULT_MAX_LENGTH
from reranker.errors import BackendFailure, InvalidInput, ModelUnavailable
from reranker.i18n import Lang, t

logger = logging.getLogger(__name__)

#: What ``vllm serve --hf-overrides`` needs to serve the original checkpoint as a classifier
#: whose single probability is the model card's P("yes"): the in-process engine's overrides.
SERVE_HF_OVERRIDES = QWEN3_RERANKER_HF_OVERRIDES
CONNECT_TIMEOUT_S = 5.0
#: Seconds before the first retry of a failed connection; doubled for each further one.
BACKOFF_S = 0.5
#: Connection failures worth retrying (scoring is idempotent); timeouts are not retried.
_CONNECTION_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


def serve_command(model: str, port: int = 8001) -> str:
    """The command that starts a vLLM server this backend can use."""
    overrides = json.dumps(SERVE_HF_OVERRIDES, separators=(",", ":"))
    return f"vllm serve {model} --runner pooling --port {port} --hf-overrides '{overrides}'"


def normalise_url(url: str) -> str:
    """``http://host:port`` without a trailing slash or ``/v1``; refuse anything else."""
    cleaned = url.strip().rstrip("/").removesuffix("/v1")
    if not cleaned.startswith(("http://", "https://")):
        raise InvalidInput(
            f"The remote URL {url!r} must start with http:// or https://, for example "
            "--remote-url http://127.0.0.1:8001."
        )
    return cleaned


class _Classification(BaseModel):
    index: int
    probs: list[float]


class _ClassifyResponse(BaseModel):
    data: list[_Classification]


class _Model(BaseModel):
    id: str
    max_model_len: int | None = None


class _ModelList(BaseModel):
    data: list[_Model]


class RemoteBackend(Backend):
    """Scores prompt token ids on a running ``vllm serve`` (see :func:`serve_command`)."""

    name = "remote"
    thread_safe = True  # an HTTP client: concurrent requests are the server's to batch

    def __init__(
        self,
        url: str,
        model: str,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        timeout_s: float = 60,
        retries: int = 2,
    ) -> None:
        """``max_length``: the longest prompt (in tokens) the desk will send; the server must allow it."""
        self.url = normalise_url(url)
        self.retries = retries
        self.timeout_s = timeout_s
        self.client = httpx.Client(
            base_url=self.url, timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        )
        try:
            served = self._served_model(model)
            self.model = served.id
            self._check_max_length(served, max_length)
            self._check_classifier(model)
        except ModelUnavailable:
            self.client.close()
            raise
        self.max_model_len = served.max_model_len
        self.description = self.describe()

    def describe(self, lang: Lang = "en") -> str:
        """Where and what: "remote vLLM at http://gpu:8000 (Qwen/Qwen3-Reranker-0.6B, max 8192 tokens)"."""
        limit = t("engine_max_tokens", lang, n=self.max_model_len) if self.max_model_len else ""
        return t("engine_remote", lang, url=self.url, model=self.model, limit=limit)

    def score_token_ids(self, prompts: Sequence[Sequence[int]]) -> list[float]:
        if not prompts:
            return []
        try:
            results = self._classify(prompts)
        except httpx.TimeoutException as exc:
            raise BackendFailure(
                f"The vLLM server at {self.url} did not answer within {self.timeout_s:g} s. Try fewer "
                "or shorter candidates, or give the server more capacity."
            ) from exc
        except httpx.TransportError as exc:
            raise BackendFailure(self._not_answering(self.model, exc)) from exc
        return [probs[0] for probs in results]

    def close(self) -> None:
        self.client.close()

    def _classify(self, prompts: Sequence[Sequence[int]]) -> list[list[float]]:
        response = self._send("POST", "/classify", {"model": self.model, "input": [list(p) for p in prompts]})
        if response.status_code != httpx.codes.OK:
            raise BackendFailure(
                f"The vLLM server at {self.url} refused the request (HTTP {response.status_code}: "
                f"{_server_message(response)})."
            )
        try:
            data = sorted(_ClassifyResponse.model_validate_json(response.content).data, key=lambda d: d.index)
        except ValidationError as exc:
            raise BackendFailure(f"The vLLM server at {self.url} sent an unexpected answer ({exc}).") from exc
        if len(data) != len(prompts) or any(len(d.probs) != 1 for d in data):
            raise BackendFailure(
                f"The vLLM server at {self.url} did not return one score per prompt: is it running the "
                f"reranker with --runner pooling and the reranker's --hf-overrides?"
            )
        return [d.probs for d in data]

    def _send(self, method: str, path: str, body: object = None) -> httpx.Response:
        """One request; connection failures are retried with exponential backoff."""
        attempt = 0
        while True:
            try:
                return self.client.request(method, path, json=body)
            except _CONNECTION_ERRORS as exc:
                if attempt >= self.retries:
                    raise
                delay = BACKOFF_S * 2**attempt
                logger.warning("%s%s failed (%s); retrying in %.1f s", self.url, path, exc, delay)
                time.sleep(delay)
                attempt += 1

    def _served_model(self, model: str) -> _Model:
        """The server's entry for ``model``; ModelUnavailable when it is down or serves another."""
        try:
            self._send("GET", "/health").raise_for_status()
            served = _ModelList.model_validate_json(self._send("GET", "/v1/models").content).data
        except httpx.HTTPError as exc:
            raise ModelUnavailable(self._not_answering(model, exc)) from exc
        except ValidationError as exc:
            raise ModelUnavailable(
                f"{self.url} does not look like a vLLM server (/v1/models: {exc})."
            ) from exc
        match = _pick_model(served, model)
        if match is None:
            names = ", ".join(m.id for m in served) or "nothing"
            raise ModelUnavailable(
                f"The vLLM server at {self.url} serves {names}, not {model}. Start it with "
                f"`{self._serve_command(model)}`, or pass the model it serves with --model."
            )
        return match

    def _check_max_length(self, served: _Model, max_length: int) -> None:
        """ModelUnavailable when the server would refuse prompts as long as ``max_length``."""
        if served.max_model_len is None or served.max_model_len >= max_length:
            return
        raise ModelUnavailable(
            f"The vLLM server at {self.url} accepts at most {served.max_model_len} tokens per prompt, "
            f"but prompts can be up to {max_length} tokens (--max-length). Restart the server with "
            f"--max-model-len {max_length} (or more), or pass --max-length {served.max_model_len}."
        )

    def _check_classifier(self, model: str) -> None:
        """Score one token: a server started without the reranker's settings fails here."""
        try:
            self._classify([[0]])
        except (BackendFailure, httpx.HTTPError) as exc:
            raise ModelUnavailable(
                f"The vLLM server at {self.url} cannot score with {self.model} ({exc}). Start it with "
                f"`{self._serve_command(model)}`."
            ) from exc

    def _serve_command(self, model: str) -> str:
        return serve_command(model, httpx.URL(self.url).port or 8001)

    def _not_answering(self, model: str, exc: Exception) -> str:
        return (
            f"The vLLM server at {self.url} is not answering ({type(exc).__name__}): start it with "
            f"`{self._serve_command(model)}` or check --remote-url."
        )


def _pick_model(served: list[_Model], model: str) -> _Model | None:
    """The served model named ``model``, else the only one with its basename (path vs hub id)."""
    exact = [m for m in served if m.id == model]
    same_name = [m for m in served if model_basename(m.id) == model_basename(model)]
    if exact or len(same_name) == 1:
        return (exact or same_name)[0]
    return None


def _server_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:300]
