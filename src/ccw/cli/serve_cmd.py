"""``ccw serve``: the dashboard and its API on 127.0.0.1 unless told otherwise, and the warm
path's Unix socket (``ccw.warm``); ``ccw serve --background|stop|status``."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ccw.warm.server import WarmServer

app = typer.Typer(
    invoke_without_command=True,
    rich_markup_mode=None,
    help="Serve the dashboard and the warm path; ccw serve stop|status manage a background one.",
)
BACKGROUND_WAIT_S = 30.0


def register(root: typer.Typer) -> None:
    from ccw.cli.serve_token_cmd import token

    app.command("token")(token)
    root.add_typer(app, name="serve")


@app.callback(invoke_without_command=True)
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
    background: Annotated[
        bool,
        typer.Option("--background", help="Start in the background (ccw serve stop ends it)."),
    ] = False,
    warm_only: Annotated[
        bool,
        typer.Option("--warm-only", help="Only the warm path's socket: no dashboard, no port."),
    ] = False,
    no_warm: Annotated[
        bool, typer.Option("--no-warm", help="No warm path: ccw cli calls run in-process.")
    ] = False,
    idle_stop: Annotated[
        float | None,
        typer.Option(
            "--idle-stop",
            metavar="MINUTES",
            min=0.01,
            help="Stop after this many minutes without a ccw cli call (default: never).",
        ),
    ] = None,
) -> None:
    """Serve the dashboard (providers, endpoints, the context cache, recent calls) and the
    warm path: ccw cli calls run here, with LiteLLM already imported."""
    if ctx.invoked_subcommand:
        return
    from ccw.errors import UsageError
    from ccw.server.security import is_loopback

    if warm_only and no_warm:
        raise UsageError("--warm-only and --no-warm leave nothing to serve", "drop one of them")
    if not warm_only and not is_loopback(host) and not token:
        raise UsageError(
            f"listening on {host} lets other machines reach the dashboard, so it needs a token",
            "pass --token <secret> (or set CCW_TOKEN), or keep the default --host 127.0.0.1",
        )
    if background:
        _start_background(ctx, host, port, warm_only, no_warm, idle_stop)
        return
    idle_seconds = idle_stop * 60 if idle_stop is not None else None
    if warm_only:
        _serve_warm_only(idle_seconds)
        return
    _serve_http(ctx, host, port, token, None if no_warm else idle_seconds, no_warm)


def _serve_http(
    ctx: typer.Context,
    host: str,
    port: int,
    token: str | None,
    idle_seconds: float | None,
    no_warm: bool,
) -> None:
    import uvicorn

    from ccw.cli.common import info, store
    from ccw.server.app import create_app
    from ccw.server.security import MAX_HEADER_BYTES

    config_file = store(ctx).path
    sock = _listen(host, port)
    port = sock.getsockname()[1]
    server_app = create_app(config_file, token, host, port)
    shown_host = f"[{host}]" if ":" in host else host
    info(f"config: {config_file}")
    url = f"http://{shown_host}:{port}/"
    info(f"dashboard: {url}" + ("#token=<your token>" if token else ""))
    info(f"API (OpenAI, Anthropic): {url}v1 with the token of: ccw serve token")
    # h11 bounds the request line and headers it buffers (a 400 beyond); httptools would not.
    config = uvicorn.Config(
        server_app,
        http="h11",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    warm = None
    if not no_warm:
        from ccw.cli.common import warn
        from ccw.errors import UsageError

        try:
            warm = _start_warm(idle_seconds, stop)
        except UsageError as exc:  # another server holds the socket: the dashboard still runs
            warn(f"no warm path here: {exc.message}")
    from ccw.exec import collector

    collector.take_over()  # gateway calls run LiteLLM here too, warm path or not
    try:
        server.run(sockets=[sock])
    finally:
        if warm is not None:
            warm.close()


def _serve_warm_only(idle_seconds: float | None) -> None:
    done = threading.Event()
    warm = _start_warm(idle_seconds, done.set)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: done.set())
    try:
        done.wait()
    finally:
        warm.close()


def _start_warm(idle_seconds: float | None, on_stop: Callable[[], None]) -> WarmServer:
    """Listen on the warm socket (a live server there is a usage error); say where."""
    from ccw.cli.common import info
    from ccw.warm import autostart, paths
    from ccw.warm.server import WarmServer

    warm = WarmServer(paths.socket_path(), idle_seconds, on_stop)
    warm.start()
    autostart.started()
    idle = f", stops after {idle_seconds / 60:g} min idle" if idle_seconds else ""
    info(f"warm path: {warm.path}{idle}")
    return warm


def _start_background(
    ctx: typer.Context,
    host: str,
    port: int,
    warm_only: bool,
    no_warm: bool,
    idle_stop: float | None,
) -> None:
    from ccw.cli.common import info, success
    from ccw.errors import CcwError, UsageError
    from ccw.warm import autostart, client, paths

    if client.request_status() is not None:
        raise UsageError(
            f"a warm ccw server already runs ({paths.socket_path()})",
            "see it with: ccw serve status; stop it with: ccw serve stop",
        )
    args = ["--host", host, "--port", str(port)]
    root = ctx.find_root().obj
    if isinstance(root, dict) and root.get("config"):
        args = ["--config", str(root["config"]), *args]  # a root option: before ``serve``
    args += ["--warm-only"] if warm_only else []
    args += ["--no-warm"] if no_warm else []
    args += ["--idle-stop", f"{idle_stop:g}"] if idle_stop is not None else []
    child = autostart.spawn(args)
    deadline = time.monotonic() + BACKGROUND_WAIT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise CcwError(
                f"the background server stopped at once (exit {child.returncode})",
                f"see its log: {paths.log_path()}",
            )
        if no_warm or client.request_status(0.5) is not None:
            success(f"ccw serve runs in the background (pid {child.pid})")
            info(f"log: {paths.log_path()}; stop it with: ccw serve stop")
            return
        time.sleep(0.05)
    raise CcwError(
        f"the background server did not answer within {BACKGROUND_WAIT_S:g} s",
        f"see its log: {paths.log_path()}",
    )


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show the warm server: pid, version, socket, calls served, idle stop."""
    from ccw.cli.common import print_json
    from ccw.cli.tables import key_values
    from ccw.errors import NotFoundError
    from ccw.warm import client, paths

    found = client.request_status()
    if found is None:
        raise NotFoundError(
            f"no warm ccw server answers on {paths.socket_path()}",
            "start one: ccw serve --background",
        )
    if as_json:
        print_json(found)
        return
    idle = found.get("idleSeconds")
    key_values(
        [
            ("pid", str(found.get("pid"))),
            ("version", str(found.get("version"))),
            ("socket", str(found.get("socket"))),
            ("up", f"{time.time() - float(found.get('started') or 0):.0f} s"),
            ("calls", str(found.get("calls"))),
            ("idle stop", f"{float(idle) / 60:g} min" if idle else "never"),
        ]
    )


@app.command("stop")
def stop() -> None:
    """Stop the warm server (a background one, or one in another terminal)."""
    from ccw.cli.common import info, success
    from ccw.errors import CcwError
    from ccw.warm import client, paths

    if not client.request_stop():
        info("no warm ccw server is running")
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if client.request_status(0.2) is None and not paths.socket_path().exists():
            success("the warm server stopped")
            return
        time.sleep(0.05)
    raise CcwError("the warm server did not stop within 10 s", "end its process by its pid")


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
