"""A gateway of one's own for the length of a CLI tool's run: 127.0.0.1, a free port, a
one-off token, the same routes and executor as ``ccw serve``."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ccw.errors import CcwError

START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LocalGateway:
    url: str  # http://127.0.0.1:PORT (no /v1)
    token: str


def app_for(config_path: Path, token: str, port: int, parent_id: str | None = None) -> object:
    """The gateway alone (no dashboard), behind the same Host checks as ``ccw serve``."""
    from fastapi import FastAPI

    from ccw.config.store import ConfigStore
    from ccw.paths import project_root_of
    from ccw.server.gateway.install import install
    from ccw.server.security import SecurityMiddleware
    from ccw.server.state import ServerState

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.ccw = ServerState(
        ConfigStore(config_path), project_root_of(config_path), listen=f"127.0.0.1:{port}"
    )
    install(app, token, parent_id)
    app.add_middleware(SecurityMiddleware, bound_host="127.0.0.1", port=port, token=None)
    return app


@contextlib.contextmanager
def local_gateway(config_path: Path, parent_id: str | None = None) -> Iterator[LocalGateway]:
    """Serve the gateway on a thread until the block ends."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    token = "ccw-run-" + secrets.token_urlsafe(24)
    app = app_for(config_path, token, port, parent_id)
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        http="h11",
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="ccw-gateway", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            sock.close()
            raise CcwError("the gateway for the tool did not start", "run the call again")
        time.sleep(0.005)
    try:
        yield LocalGateway(f"http://127.0.0.1:{port}", token)
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
