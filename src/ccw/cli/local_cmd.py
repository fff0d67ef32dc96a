"""``ccw local``: start, stop and inspect the embedded local model server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ccw.cli.common import info, key_values, print_json, store, success

if TYPE_CHECKING:
    from ccw.local.process import LocalStatus

app = typer.Typer(
    help="Run the embedded local model (SmolLM2-135M on llama.cpp) in the background.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the status as JSON.")]


@app.command("start")
def start_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Start the server on 127.0.0.1 (port: localModel.port in the config) and wait until ready."""
    from ccw.local import process

    settings = store(ctx).load().local
    if not as_json and not process.status(settings).running:
        info(f"starting the local model on port {settings.port} ...")
    current, started_now = process.start(settings)
    if as_json:
        print_json({**current.to_json(), "startedNow": started_now})
    elif started_now:
        success(f"local model running at {current.url} (pid {current.pid})")
    else:
        info(f"the local model is already running at {current.url} (pid {current.pid})")


@app.command("stop")
def stop_cmd() -> None:
    """Stop the server (SIGTERM, then SIGKILL after a grace period)."""
    from ccw.local import process

    pid = process.stop()
    if pid is None:
        info("the local model is not running")
    else:
        success(f"stopped the local model (pid {pid})")


@app.command("status")
def status_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Say whether the server runs, with its pid, port, URL, model file and log file."""
    from ccw.local import process

    current = process.status(store(ctx).load().local)
    if as_json:
        print_json(current.to_json())
        return
    _print_status(current)


def _print_status(current: LocalStatus) -> None:
    if current.running:
        state = "running" if current.healthy else "running (not ready yet)"
    else:
        state = "stopped"
    rows = {
        "state": state,
        "pid": str(current.pid) if current.pid else "-",
        "port": str(current.port),
        "url": current.url,
        "model": current.model,
        "model file": current.model_file or "not installed (run `make demo`)",
        "log file": current.log_file,
    }
    if current.started:
        rows["started"] = current.started
    key_values(list(rows.items()))
