"""Where the warm server listens: a Unix socket in the user's runtime directory.

``CCW_RUNTIME_DIR`` overrides it; with ``CCW_DATA_DIR`` set, or without ``XDG_RUNTIME_DIR``
(Linux), the socket goes in a 0700 folder under the data dir, never in a shared /tmp folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ccw.paths import data_dir

SOCKET_NAME = "warm.sock"
PID_NAME = "warm.pid"
LOG_NAME = "warm.log"
# sun_path holds 108 bytes on Linux (104 on macOS), the final NUL included.
MAX_SOCKET_PATH = 103


def runtime_dir() -> Path:
    """The folder of the socket, made 0700 when it is created."""
    override = os.environ.get("CCW_RUNTIME_DIR")
    if override:
        folder = Path(override).expanduser()
    elif os.environ.get("CCW_DATA_DIR") or (
        sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR")
    ):
        # A ccw with a data dir of its own has a warm server of its own: a server keeping
        # its history elsewhere could not take its calls anyway.
        folder = data_dir() / "run"
    else:
        import warnings

        from platformdirs import user_runtime_path

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            folder = user_runtime_path("ccw", appauthor=False)
    return folder


def ensure_runtime_dir() -> Path:
    folder = runtime_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def socket_path() -> Path:
    return runtime_dir() / SOCKET_NAME


def pid_path() -> Path:
    return runtime_dir() / PID_NAME


def log_path() -> Path:
    return runtime_dir() / LOG_NAME
