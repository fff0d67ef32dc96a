"""Start a warm server in the background: ``ccw serve --background`` and the opt-in auto
start (``warmPath: "auto"`` or ``CCW_WARM=auto``), whose server stops after idling."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

from ccw.warm import paths

_STARTING = "starting"
_STARTING_STALE_S = 30.0


def spawn(args: list[str]) -> subprocess.Popen[bytes]:
    """``python -m ccw serve ARGS`` in its own session, its output in the warm log."""
    folder = paths.ensure_runtime_dir()
    log = open(folder / paths.LOG_NAME, "ab")  # noqa: SIM115 - the child keeps it open
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", "ccw", "serve", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # a Ctrl-C in the caller's terminal does not reach it
            close_fds=True,
        )


def start_in_background(idle_minutes: float) -> None:
    """Start a socket-only server that stops after ``idle_minutes``, unless one is
    starting already (calls made meanwhile run in-process)."""
    marker = paths.ensure_runtime_dir() / _STARTING
    with contextlib.suppress(OSError):
        if time.time() - marker.stat().st_mtime < _STARTING_STALE_S:
            return
        marker.unlink()
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError:
        return  # another call is starting it
    os.close(fd)
    spawn(["--warm-only", "--idle-stop", f"{idle_minutes:g}"])


def started() -> None:
    """The server listens: the next auto start may go ahead once it is gone."""
    with contextlib.suppress(OSError):
        (paths.runtime_dir() / _STARTING).unlink()
