"""The remote backend: a real ``vllm serve`` on loopback scores like the transformers backend.

The server tests are slow (see ``vllm_server``): the server is started once for the module and
always killed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import free_port
from vllm_server import START_TIMEOUT_S, VllmServer, start_vllm

from reranker import BackendFailure, InvalidInput, ModelUnavailable, load_scorer
from reranker.engine.backends.remote import RemoteBackend, normalise_url
from tests.reference import model_card_scores

logger = logging.getLogger(__name__)

PAIRS = [
    ("订单一直显示待发货怎么办？", "您购买的商品正在打包中，通常24小时内发出。"),
    ("订单一直显示待发货怎么办？", "退货流程：进入‘我的订单’→点击‘申请退货’→等待审核。"),
    ("订单一直显示待发货怎么办？", "促销活动期间订单量激增，发货时间可能延长至48小时。"),
    ("我的退款什么时候到账？", "退款将在5-7个工作日内原路返回。"),
    ("我的退款什么时候到账？", "会员积分可以在结算时抵扣现金，100积分抵1元。"),
    ("Where is my order?", "Orders placed before 2 pm ship the same business day."),
    ("Where is my order?", "To reset your password, click 'Forgot password' on the sign-in page."),
    ("How do I get my money back?", "Refunds are issued to the original payment method within 5-7 days."),
    ("How do I get my money back?", "订单 shipped via SF Express，tracking number 在 App 里查看。"),
    # Long, but one window (1,024 tokens): the model card's code scores it whole, with full-vocabulary
    # logits at every position (2,100 tokens of it took 13 GB).
    ("How do I get my money back?", ("Our return policy covers unused items. " * 100).strip()),
]


@pytest.fixture(scope="module")
def vllm_server(tiny_model_dir, tmp_path_factory) -> Iterator[VllmServer]:
    """``vllm serve`` (CPU, fp32, eager) on the tiny model, on a free loopback port."""
    port = free_port()
    log = tmp_path_factory.mktemp("vllm-serve") / "server.log"
    server = start_vllm(tiny_model_dir, port, log)
    process = server.process
    try:
        started = time.monotonic()
        while not _healthy(server.url):
            if process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                pytest.fail(f"vllm serve did not start; last lines of its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        logger.info("vllm serve started in %.1f s", time.monotonic() - started)
        yield server
    finally:
        server.stop()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def remote_scorer(tiny_model_dir, vllm_server):
    scorer = load_scorer(tiny_model_dir, backend="remote", remote_url=vllm_server.url, cache_size=0)
    yield scorer
    scorer.close()


@pytest.mark.slow
def test_remote_scores_match_the_model_card_reference_within_1e_4(tiny_model_dir, remote_scorer):
    remote = [remote_scorer.score(query, [doc])[0] for query, doc in PAIRS]
    reference = model_card_scores(tiny_model_dir, [q for q, _ in PAIRS], [d for _, d in PAIRS])
    assert max(abs(a - b) for a, b in zip(remote, reference)) <= 1e-4
    assert max(reference) - min(reference) > 0.1  # the tiny model's scores are spread out


@pytest.mark.slow
def test_remote_scores_a_whole_request_in_input_order(hf_scorer, remote_scorer):
    query, documents = PAIRS[0][0], [doc for _, doc in PAIRS]
    remote = remote_scorer.score(query, documents)
    local = hf_scorer.score(query, documents)
    assert max(abs(a - b) for a, b in zip(remote, local)) <= 1e-4


@pytest.mark.slow
def test_remote_backend_describes_the_server(remote_scorer, vllm_server, tiny_model_dir):
    assert remote_scorer.backend_name == "remote"
    assert remote_scorer.backend.description == (
        f"remote vLLM at {vllm_server.url} ({tiny_model_dir}, max 8192 tokens)"
    )


@pytest.mark.slow
def test_a_model_the_server_does_not_serve_is_refused(vllm_server, tiny_model_dir):
    with pytest.raises(
        ModelUnavailable, match=re.escape(f"serves {tiny_model_dir}, not Qwen/Qwen3-Reranker-4B")
    ):
        RemoteBackend(vllm_server.url, "Qwen/Qwen3-Reranker-4B")


@pytest.mark.slow
def test_a_server_with_a_smaller_max_model_len_is_refused_with_both_fixes(vllm_server, tiny_model_dir):
    with pytest.raises(
        ModelUnavailable, match=r"at most 8192 tokens per prompt, but prompts can be up to 16384"
    ):
        RemoteBackend(vllm_server.url, str(tiny_model_dir), max_length=16384)


@pytest.mark.slow
def test_scoring_after_the_server_stops_is_a_backend_failure_with_the_fix(remote_scorer, vllm_server):
    """Runs last in this module: it stops the shared server."""
    vllm_server.stop()
    with pytest.raises(
        BackendFailure, match=re.escape(f"The vLLM server at {vllm_server.url} is not answering")
    ):
        remote_scorer.score("Where is my order?", ["A document never scored before."])


# --- without a server ---------------------------------------------------------------------------


class FakeVllm(BaseHTTPRequestHandler):
    """Answers like ``vllm serve`` for one model with ``max_model_len`` (set per server)."""

    max_model_len = 8192

    def do_GET(self) -> None:
        models = {"data": [{"id": "fake/Qwen3-Reranker", "max_model_len": self.max_model_len}]}
        self._reply(models if self.path == "/v1/models" else {})

    def do_POST(self) -> None:
        prompts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
        self._reply({"data": [{"index": i, "probs": [0.5]} for i in range(len(prompts))]})

    def _reply(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_vllm() -> Iterator[tuple[str, type[FakeVllm]]]:
    """A fake vLLM server on loopback and its handler class (set ``max_model_len`` on it)."""
    handler = type("Handler", (FakeVllm,), {})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def test_a_server_whose_max_model_len_is_below_max_length_is_refused(fake_vllm):
    url, handler = fake_vllm
    handler.max_model_len = 4096

    with pytest.raises(ModelUnavailable) as error:
        RemoteBackend(url, "fake/Qwen3-Reranker", max_length=8192)

    assert "accepts at most 4096 tokens per prompt, but prompts can be up to 8192" in str(error.value)
    assert "--max-model-len 8192" in str(error.value) and "--max-length 4096" in str(error.value)


def test_a_server_allowing_max_length_or_more_is_accepted(fake_vllm):
    url, handler = fake_vllm
    handler.max_model_len = 8192

    backend = RemoteBackend(url, "fake/Qwen3-Reranker", max_length=8192)

    assert backend.description == f"remote vLLM at {url} (fake/Qwen3-Reranker, max 8192 tokens)"
    backend.close()


def test_an_unreachable_server_is_reported_at_load_with_the_command_to_start_it(tiny_model_dir):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ModelUnavailable, match=r"is not answering .*start it with `vllm serve"):
        RemoteBackend(url, str(tiny_model_dir))


@pytest.mark.parametrize(
    ("given", "expected"),
    [("http://127.0.0.1:8001", "http://127.0.0.1:8001"), ("http://gpu-box:8001/", "http://gpu-box:8001"),
     ("https://rerank.example.com/v1", "https://rerank.example.com")],
)  # fmt: skip
def test_remote_urls_are_normalised(given, expected):
    assert normalise_url(given) == expected


def test_a_remote_url_without_scheme_is_refused():
    with pytest.raises(InvalidInput, match="must start with http://"):
        normalise_url("127.0.0.1:8001")
