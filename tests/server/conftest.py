"""A real dashboard on 127.0.0.1 for each test: uvicorn in a thread over the test project."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from ccw.paths import CONFIG_RELATIVE
from ccw.server.app import create_app
from tests.fakes.provider_server import ProviderServer

API = "/api/litellm-api"
SECRET = "sk-test-SECRETKEYVALUE-7f3a9c2e1b"


@dataclass
class Dashboard:
    url: str
    port: int
    project: Path
    config_path: Path
    client: httpx.Client

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return self.client.request(method, API + path, **kwargs)  # type: ignore[arg-type]


class _Served:
    """uvicorn serving ``app`` on a socket that is already bound, so no port race."""

    def __init__(self, sock: socket.socket, app: object) -> None:
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def server_env(monkeypatch: pytest.MonkeyPatch, ccw_env: dict[str, str]) -> dict[str, str]:
    """The in-process server sees the same HOME and data dir as ``run_ccw`` processes."""
    for name in [k for k in os.environ if k.endswith("_API_KEY")]:
        monkeypatch.delenv(name)
    for name in ("HOME", "CCW_DATA_DIR", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, ccw_env[name])
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    return ccw_env


MakeDashboard = Callable[..., Dashboard]


@pytest.fixture
def make_dashboard(project: Path, server_env: dict[str, str]) -> Iterator[MakeDashboard]:
    started: list[tuple[_Served, httpx.Client]] = []

    def make(token: str | None = None) -> Dashboard:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config_path = project / CONFIG_RELATIVE
        served = _Served(sock, create_app(config_path, token, "127.0.0.1", port))
        served.start()
        url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=url, timeout=30, trust_env=False)
        started.append((served, client))
        return Dashboard(url, port, project, config_path, client)

    yield make
    for served, client in started:
        client.close()
        served.stop()


@pytest.fixture
def dashboard(make_dashboard: MakeDashboard) -> Dashboard:
    return make_dashboard()


@pytest.fixture
def fake() -> Iterator[ProviderServer]:
    """A loopback provider speaking the OpenAI, Anthropic and Ollama wire formats."""
    with ProviderServer() as srv:
        yield srv
