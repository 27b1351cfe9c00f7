"""Serve an embedded model over an OpenAI-compatible API on loopback (llama.cpp's server).

Used by the integration tests and benchmarks, and by workshops that want to exercise the
``openai-compatible`` path without any key or network.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from expected_harm.models._embedded import embedded_model


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` for one embedded model, on 127.0.0.1 only.

    Args:
        name: Embedded model name (see :func:`~expected_harm.models.embedded_model`); also the
            served model id.
        port: Port to listen on; a free one by default. Restarts reuse it, so the
            ``openai-compatible`` spec (and its cache key) stays the same.
        startup_timeout: Seconds to wait for the server to answer.
    """

    def __init__(self, name: str = "smollm2-135m", port: int | None = None,
                 startup_timeout: float = 60.0) -> None:
        self.name = name
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.log_path = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def spec(self) -> str:
        return f"openai-compatible:{self.name}@{self.base_url}"

    def start(self) -> LlamaServer:
        """Start the server and wait until it lists its model."""
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(embedded_model(self.name).path()),
            "--model_alias", self.name,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", "2048",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited at start; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(
            f"llama.cpp server not ready in {self.startup_timeout} s; see {self.log_path}"
        )

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        """Stop the server politely."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def completions_served(self) -> int:
        """Chat-completion requests the server has answered so far (from its access log)."""
        text = self.log_path.read_text(errors="replace")
        return text.count('"POST /v1/chat/completions HTTP/1.1"')

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
