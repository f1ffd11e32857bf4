"""Prometheus metrics of the REST API, served at ``GET /metrics`` (as vLLM and TEI do).

One :class:`Telemetry` per API app, with its own registry (two apps in one process never share
counters). What it exports:

- ``reranker_requests_total`` and ``reranker_request_duration_seconds`` (a histogram), per
  ``route``, ``method`` and ``status``: every answer of the API's routes, errors included;
- ``reranker_pairs_scored_total``, ``reranker_cache_hits_total`` and
  ``reranker_truncated_documents_total``, per ``route``, ``engine`` (vllm, transformers, remote)
  and ``first_stage`` (``none`` where the caller sends the candidates, as on the rerank routes);
- ``reranker_caller_requests_total`` per ``caller`` (a key's ``user/integration``, a login's user,
  ``api-key`` for ``--api-key``, ``anonymous`` on an open API), ``route`` and ``status``;
- ``reranker_rejected_requests_total`` per ``route``: answered 503 at once because more than
  ``--concurrency`` + ``--queue-size`` requests were already in the desk (a load balancer moves on);
- ``reranker_queue_depth`` per ``queue``: ``rest`` counts rerank requests waiting for or using the
  engine; ``ui`` (when :meth:`Telemetry.watch_queue` is given Gradio's queue) the UI's waiting events;
- ``reranker_engine_info`` (always 1) with the serving ``engine``, the desk's ``first_stage``
  (keyword, dense or hybrid; what /health says) and ``model``.

>>> telemetry = Telemetry(lambda: ("transformers", "/models/tiny"))          # doctest: +SKIP
>>> telemetry.observe_request("/v1/rerank", "POST", 200, 0.02)                # doctest: +SKIP
>>> b'reranker_requests_total{method="POST",route="/v1/rerank",status="200"} 1.0' in telemetry.render()  # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from reranker.engine.scorer import ScoreResult

CONTENT_TYPE = CONTENT_TYPE_LATEST
NO_FIRST_STAGE = "none"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
REQUEST_LABELS = ("route", "method", "status")
WORK_LABELS = ("route", "engine", "first_stage")


class _EngineInfo(Collector):
    """``reranker_engine_info``, read from the scorer at scrape time (absent while none is loaded)."""

    def __init__(self, serving: Callable[[], tuple[str, str] | None], first_stage: Callable[[], str]) -> None:
        self._serving = serving
        self._first_stage = first_stage

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "reranker_engine_info",
            "The engine and model that score, and the first stage in front of them (always 1).",
            labels=["engine", "first_stage", "model"],
        )
        serving = self._serving()
        if serving is not None:
            engine, model = serving
            info.add_metric([engine, self._first_stage(), model], 1)
        yield info


class Telemetry:
    """The API's counters, histograms and gauges, and their text exposition.

    ``serving`` returns ``(engine, model)`` of the loaded scorer, or None while there is none.
    """

    def __init__(
        self, serving: Callable[[], tuple[str, str] | None],
        first_stage: Callable[[], str] = lambda: NO_FIRST_STAGE,
    ) -> None:  # fmt: skip
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "reranker_requests", "API requests answered, by route, method and status.",
            REQUEST_LABELS, registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "reranker_request_duration_seconds", "Time to answer an API request, by route, method and status.",
            REQUEST_LABELS, buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.pairs = Counter(
            "reranker_pairs_scored", "(query, document) pairs scored, cached ones included.",
            WORK_LABELS, registry=self.registry,
        )  # fmt: skip
        self.cache_hits = Counter(
            "reranker_cache_hits", "Pairs answered from the score cache instead of the engine.",
            WORK_LABELS, registry=self.registry,
        )  # fmt: skip
        self.truncations = Counter(
            "reranker_truncated_documents", "Documents cut to fit the model's max length or max_tokens_per_doc.",
            WORK_LABELS, registry=self.registry,
        )  # fmt: skip
        self.callers = Counter(
            "reranker_caller_requests", "API requests answered, by caller (key, login, api-key, anonymous), route and status.",
            ("caller", "route", "status"), registry=self.registry,
        )  # fmt: skip
        self.rejected = Counter(
            "reranker_rejected_requests", "Requests answered 503 at once because the desk was full (--queue-size).",
            ["route"], registry=self.registry,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "reranker_queue_depth", "Requests waiting for or using the engine, by queue (rest, ui).",
            ["queue"], registry=self.registry,
        )  # fmt: skip
        self.queue_depth.labels("rest").set(0)
        self.registry.register(_EngineInfo(serving, first_stage))

    def observe_request(self, route: str, method: str, status: int, seconds: float, caller: str | None = None) -> None:
        """Count one answered request, its latency and (when known) who sent it."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)
        if caller is not None:
            self.callers.labels(caller, route, str(status)).inc()

    def observe_scoring(self, route: str, engine: str, result: ScoreResult, truncated: int,
                        first_stage: str = NO_FIRST_STAGE) -> None:  # fmt: skip
        """Count the pairs, cache hits and ``truncated`` documents of one scoring call.

        ``truncated`` counts the documents cut before scoring (``max_tokens_per_doc``) or by it.
        """
        labels = (route, engine, first_stage)
        self.pairs.labels(*labels).inc(len(result.documents))
        self.cache_hits.labels(*labels).inc(result.cache_hits)
        self.truncations.labels(*labels).inc(truncated)

    @contextlib.contextmanager
    def queued(self) -> Iterator[None]:
        """Count a REST request in ``reranker_queue_depth{queue="rest"}`` while it runs."""
        depth = self.queue_depth.labels("rest")
        depth.inc()
        try:
            yield
        finally:
            depth.dec()

    def watch_queue(self, name: str, depth: Callable[[], int]) -> None:
        """Report ``depth()`` at each scrape as ``reranker_queue_depth{queue=name}`` (e.g. Gradio's)."""
        self.queue_depth.labels(name).set_function(lambda: float(depth()))

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (``Content-Type``: :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
