"""A real ``ccw serve`` app on 127.0.0.1 in front of the loopback test provider."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from ccw.paths import CONFIG_RELATIVE
from ccw.server.app import create_app
from tests.fakes.provider_server import ProviderServer

KEY = "sk-test-GATEWAYSECRET-0123456789"


@dataclass
class Gateway:
    url: str  # http://127.0.0.1:PORT
    token: str
    project: Path
    provider: ProviderServer

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def write_config(project: Path, base: str) -> Path:
    path = project / CONFIG_RELATIVE
    path.parent.mkdir(parents=True, exist_ok=True)
    provider = {"id": "oai", "type": "openai", "apiBase": base, "apiKey": "${TEST_GW_KEY}"}
    ant = {"id": "ant", "type": "anthropic", "apiBase": base.removesuffix("/v1"), "apiKey": KEY}
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "providers": [provider, ant],
                "endpoints": [
                    {"id": "gpt", "providerId": "oai", "model": "gpt-4o", "maxTokens": 64},
                    {"id": "sonnet", "providerId": "ant", "model": "claude-sonnet-4-5"},
                    {"id": "vec", "providerId": "oai", "model": "text-embedding-3-small"},
                    {"id": "off", "providerId": "oai", "model": "gpt-4o", "enabled": False},
                ],
                "defaultEndpoint": "gpt",
            }
        )
    )
    return path


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    with ProviderServer() as srv:
        yield srv


@pytest.fixture
def gateway(
    project: Path, provider: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    monkeypatch.setenv("TEST_GW_KEY", KEY)
    monkeypatch.delenv("CCW_CONFIG", raising=False)
    config_path = write_config(project, provider.url + "/v1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(config_path, None, "127.0.0.1", port)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the gateway did not start"
        time.sleep(0.01)
    yield Gateway(f"http://127.0.0.1:{port}", app.state.gateway_token, project, provider)
    server.should_exit = True
    thread.join(10)
