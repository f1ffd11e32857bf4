"""deploy/nginx: Debian's nginx with the repository's files, in front of stand-in desks and vLLM replicas.

The stand-ins are tiny HTTP servers that say who they are (and answer 503 when told to be busy), so
the routing itself is checked: sticky UI, round-robin API that skips a busy or dead desk, and a
vLLM fleet that keeps answering with one replica gone.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import free_port

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "nginx"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="nginx not installed: apt-get install -y nginx"
)
# The ports written in deploy/nginx, replaced by free ones for the test.
PORTS = {"desk_a": 7861, "desk_b": 7862, "vllm_a": 8001, "vllm_b": 8002, "entry": 8080, "fleet": 8000}


class StandIn(ThreadingHTTPServer):
    """Answers every request with its name, or 503 while ``busy``; counts what it was sent."""

    daemon_threads = True

    def __init__(self, name: str, port: int) -> None:
        self.name, self.busy, self.seen = name, False, Counter()
        super().__init__(("127.0.0.1", port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: StandIn

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen[self.path] += 1
        status = 503 if self.server.busy else 200
        body = json.dumps({"server": self.server.name}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def topology(tmp_path_factory) -> Iterator[dict]:
    ports = {name: free_port() for name in PORTS}
    prefix = tmp_path_factory.mktemp("nginx")
    for name in ("nginx.conf", "desks.conf", "vllm-fleet.conf"):
        text = (DEPLOY / name).read_text()
        for role, port in PORTS.items():
            text = re.sub(rf"(?<=[: ]){port}(?=[; ])", str(ports[role]), text)
        (prefix / name).write_text(text)
    servers = {role: serve(StandIn(role, ports[role])) for role in ("desk_a", "desk_b", "vllm_a", "vllm_b")}
    command = [NGINX, "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-g", "daemon off;"]
    subprocess.run([*command[:-2], "-t"], check=True, capture_output=True)
    nginx = subprocess.Popen(command)
    entry, fleet = f"http://127.0.0.1:{ports['entry']}", f"http://127.0.0.1:{ports['fleet']}"
    deadline = time.monotonic() + 10
    while True:
        try:
            urllib.request.urlopen(entry + "/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield {"entry": entry, "fleet": fleet, "servers": servers}
    nginx.terminate()
    nginx.wait(timeout=10)
    for server in servers.values():
        server.shutdown()
        server.server_close()


def serve(server: StandIn) -> StandIn:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextlib.contextmanager
def stopped(servers: dict[str, StandIn], role: str) -> Iterator[None]:
    """The stand-in ``role`` is not running (connections refused) inside the block."""
    server = servers[role]
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    try:
        yield
    finally:
        servers[role] = serve(StandIn(role, port))


@pytest.fixture
def servers(topology) -> dict[str, StandIn]:
    """The stand-ins, all healthy and with nothing counted, at the start of each test."""
    for server in topology["servers"].values():
        server.busy = False
        server.seen.clear()
    return topology["servers"]


def request(
    url: str, *, body: bytes | None = None, cookie: str | None = None
) -> tuple[int, str | None, dict]:
    """(status, which stand-in answered (None: nginx itself), headers)."""
    req = urllib.request.Request(url, data=body, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            status, content, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, content, headers = exc.code, exc.read(), exc.headers
    server = json.loads(content)["server"] if headers.get("Content-Type") == "application/json" else None
    return status, server, dict(headers)


def test_a_browser_gets_a_route_cookie_and_keeps_to_one_desk(topology, servers):
    status, first, headers = request(topology["entry"] + "/")
    cookie = headers["Set-Cookie"].split(";")[0]
    assert status == 200 and cookie.startswith("desk_route=") and len(cookie) > 30
    answers = {
        request(topology["entry"] + "/gradio_api/queue/join", body=b"{}", cookie=cookie)[1] for _ in range(10)
    }
    assert answers == {first}
    assert "Set-Cookie" not in request(topology["entry"] + "/", cookie=cookie)[2]


def test_browsers_are_spread_over_both_desks(topology, servers):
    desks = Counter(request(topology["entry"] + "/", cookie=f"desk_route=browser{n}")[1] for n in range(40))
    assert set(desks) == {"desk_a", "desk_b"} and min(desks.values()) >= 8


def test_the_api_goes_round_robin(topology, servers):
    for _ in range(10):
        assert request(topology["entry"] + "/v1/rerank", body=b"{}")[0] == 200
    assert servers["desk_a"].seen["/v1/rerank"] == servers["desk_b"].seen["/v1/rerank"] == 5


def test_a_busy_desks_rerank_is_answered_by_the_other(topology, servers):
    servers["desk_a"].busy = True
    answers = [
        request(topology["entry"] + path, body=b"{}")[:2] for path in ["/v1/rerank", "/v1/faq/search"] * 4
    ]
    assert set(answers) == {(200, "desk_b")}


def test_a_pick_is_never_sent_twice(topology, servers):
    servers["desk_a"].busy = servers["desk_b"].busy = True
    assert request(topology["entry"] + "/v1/feedback", body=b"{}")[0] == 503
    assert servers["desk_a"].seen["/v1/feedback"] + servers["desk_b"].seen["/v1/feedback"] == 1


def test_health_and_metrics_are_asked_of_each_desk_not_the_entry(topology, servers):
    assert request(topology["entry"] + "/metrics")[:2] == (404, None)
    assert request(topology["entry"] + "/health")[:2] == (404, None)
    assert sum(server.seen["/metrics"] for server in servers.values()) == 0


def test_the_fleet_answers_with_one_replica_busy(topology, servers):
    servers["vllm_b"].busy = True
    answers = [request(topology["fleet"] + "/v1/rerank", body=b"{}")[:2] for _ in range(6)]
    assert set(answers) == {(200, "vllm_a")}
    assert servers["vllm_b"].seen["/v1/rerank"] >= 1  # it was tried, and the request passed on


def test_a_pick_goes_to_the_other_desk_when_one_is_down(topology, servers):
    with stopped(servers, "desk_b"):
        answers = [request(topology["entry"] + "/v1/feedback", body=b"{}")[:2] for _ in range(4)]
    assert set(answers) == {(200, "desk_a")}


def test_the_fleet_answers_with_one_replica_killed(topology, servers):
    with stopped(servers, "vllm_a"):
        answers = [request(topology["fleet"] + "/v1/rerank", body=b"{}")[:2] for _ in range(6)]
    assert set(answers) == {(200, "vllm_b")}


def test_a_browser_whose_desk_is_down_is_served_by_the_other(topology, servers):
    _, first, _ = request(topology["entry"] + "/", cookie="desk_route=agent-7")
    other = ({"desk_a", "desk_b"} - {first}).pop()
    with stopped(servers, first):
        assert request(topology["entry"] + "/", cookie="desk_route=agent-7")[:2] == (200, other)
