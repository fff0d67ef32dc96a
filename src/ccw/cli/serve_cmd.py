"""``ccw serve``: the dashboard and its API on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import socket
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", metavar="PORT", min=0, max=65535, help="Port to listen on (0: any free one)."
        ),
    ] = 3000,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar="CCW_TOKEN",
            help="Require this token on every API call (needed to listen beyond loopback).",
        ),
    ] = None,
) -> None:
    """Serve the dashboard: providers, endpoints, the context cache and recent calls."""
    import uvicorn

    from ccw.cli.common import info, store
    from ccw.errors import UsageError
    from ccw.server.app import create_app
    from ccw.server.security import MAX_HEADER_BYTES, is_loopback

    if not is_loopback(host) and not token:
        raise UsageError(
            f"listening on {host} lets other machines reach the dashboard, so it needs a token",
            "pass --token <secret> (or set CCW_TOKEN), or keep the default --host 127.0.0.1",
        )
    config_file = store(ctx).path
    sock = _listen(host, port)
    port = sock.getsockname()[1]
    server_app = create_app(config_file, token, host, port)
    shown_host = f"[{host}]" if ":" in host else host
    info(f"config: {config_file}")
    url = f"http://{shown_host}:{port}/"
    info(f"dashboard: {url}" + ("#token=<your token>" if token else ""))
    # h11 bounds the request line and headers it buffers (a 400 beyond); httptools would not.
    config = uvicorn.Config(
        server_app,
        http="h11",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """Bind before starting, so a busy port is one readable error (and port 0 picks one)."""
    from ccw.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # asyncio turns Nagle off only on sockets whose proto is TCP; with proto 0 every
    # keep-alive response waits for a delayed ACK (about 40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            "pick another --port, or stop the program using it",
        ) from None
    sock.listen(128)
    return sock
