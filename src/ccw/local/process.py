"""The local model server as a background process: start, stop, status, and start-on-demand.

State lives under ``data_dir()/local``: ``server.json`` (pid, port, start time, model and
log paths) and ``server.log`` (the server's output). The process runs in its own session,
so it outlives the command that started it; ``stop`` ends it with SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ccw.config.schema import LocalModelSettings
from ccw.errors import CcwError
from ccw.local.model import MODEL_NAME, model_file, require_server_library
from ccw.paths import data_dir

START_TIMEOUT = 90.0
STOP_GRACE = 10.0
_POLL = 0.1
_SERVE_MARK = "ccw.local.serve"
_PORT_FIX = "set another free port as localModel.port in the config, e.g. "

# Servers this process spawned, kept so they are waited for (no zombies) and not warned about.
_children: dict[int, subprocess.Popen[bytes]] = {}


class LocalServerError(CcwError):
    """The local model server could not be started or reached."""

    kind = "local_server"


@dataclass(frozen=True)
class LocalStatus:
    """What ``ccw local status`` reports."""

    running: bool
    healthy: bool
    pid: int | None
    port: int
    url: str  # OpenAI-compatible base URL: http://127.0.0.1:PORT/v1
    model: str  # the name the server answers to
    model_file: str | None
    log_file: str
    pid_file: str
    started: str | None  # ISO 8601, UTC

    def to_json(self) -> dict[str, Any]:
        """camelCase keys, like the rest of ccw's JSON output."""
        return {
            "running": self.running,
            "healthy": self.healthy,
            "pid": self.pid,
            "port": self.port,
            "url": self.url,
            "model": self.model,
            "modelFile": self.model_file,
            "logFile": self.log_file,
            "pidFile": self.pid_file,
            "started": self.started,
        }


def state_dir() -> Path:
    return data_dir() / "local"


def pid_path() -> Path:
    return state_dir() / "server.json"


def log_path() -> Path:
    return state_dir() / "server.log"


def base_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v1"


def status(settings: LocalModelSettings) -> LocalStatus:
    """Running or stopped; a pid file left by a dead server is removed on the way."""
    record = _read_record()
    if record is None:
        return _status(None, settings.port)
    return _status(record, record["port"])


def start(
    settings: LocalModelSettings, *, timeout: float = START_TIMEOUT
) -> tuple[LocalStatus, bool]:
    """Start the server unless it runs; returns its status and whether it was started now.

    Waits until ``GET /health`` answers OK. Raises ``LocalServerError`` (naming the log
    file) when the process dies or is not healthy within ``timeout`` seconds, and when the
    configured port is taken by something else.
    """
    from filelock import FileLock

    state_dir().mkdir(parents=True, exist_ok=True)
    with FileLock(str(state_dir() / "server.lock")):
        current = status(settings)
        if current.running:
            if not current.healthy:
                _wait_healthy(current.pid or 0, current.port, timeout)
            return status(settings), False
        require_server_library()
        gguf = model_file()
        _check_port_free(settings.port)
        pid = _spawn(settings, gguf)
        _wait_healthy(pid, settings.port, timeout)
        return status(settings), True


def ensure_running(settings: LocalModelSettings) -> tuple[str, bool]:
    """The server's OpenAI base URL ("http://127.0.0.1:PORT/v1"), starting it if needed."""
    current, started_now = start(settings)
    return current.url, started_now


def stop(*, grace: float = STOP_GRACE) -> int | None:
    """Stop the server (SIGTERM, then SIGKILL after ``grace`` s); returns its pid, or None."""
    record = _read_record()
    if record is None:
        return None
    pid = int(record["pid"])
    _terminate(pid, grace)
    pid_path().unlink(missing_ok=True)
    return pid


# -- the pid file --------------------------------------------------------------------------


def _read_record() -> dict[str, Any] | None:
    """The pid file's contents when its process still runs; a stale or broken file is removed."""
    path = pid_path()
    try:
        record = json.loads(path.read_text())
        pid, port = int(record["pid"]), int(record["port"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not _is_server(pid):
        path.unlink(missing_ok=True)
        return None
    return {**record, "pid": pid, "port": port}


def _write_record(pid: int, port: int, gguf: Path) -> None:
    record = {
        "pid": pid,
        "port": port,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "modelFile": str(gguf),
        "logFile": str(log_path()),
    }
    temporary = pid_path().with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(temporary, pid_path())


def _status(record: dict[str, Any] | None, port: int) -> LocalStatus:
    running = record is not None
    return LocalStatus(
        running=running,
        healthy=running and _healthy(port),
        pid=record["pid"] if record else None,
        port=port,
        url=base_url(port),
        model=MODEL_NAME,
        model_file=(record or {}).get("modelFile") or _model_file_or_none(),
        log_file=str(log_path()),
        pid_file=str(pid_path()),
        started=record.get("started") if record else None,
    )


def _model_file_or_none() -> str | None:
    try:
        return str(model_file())
    except CcwError:
        return None


# -- processes -----------------------------------------------------------------------------


def _spawn(settings: LocalModelSettings, gguf: Path) -> int:
    command = [
        sys.executable,
        "-m",
        _SERVE_MARK,
        "--model",
        str(gguf),
        "--port",
        str(settings.port),
        "--context-size",
        str(settings.context_size),
        "--threads",
        str(settings.threads),
    ]
    with log_path().open("wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _children[process.pid] = process
    _write_record(process.pid, settings.port, gguf)
    return process.pid


def _wait_healthy(pid: int, port: int, timeout: float) -> None:
    from ccw.local.serve import EXIT_PORT_IN_USE

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            code = _exit_code(pid)
            pid_path().unlink(missing_ok=True)
            if code == EXIT_PORT_IN_USE:
                raise _port_taken(port)
            how = "exited" if code is None else f"exited (code {code})"
            raise LocalServerError(
                f"the local model server {how} before it was ready:\n{_log_tail()}",
                f"read the log file {log_path()}",
            )
        if _healthy(port):
            return
        time.sleep(_POLL)
    _terminate(pid, 2.0)
    pid_path().unlink(missing_ok=True)
    raise LocalServerError(
        f"the local model server did not become ready on port {port} within {timeout:g} s",
        f"read the log file {log_path()}",
    )


def _terminate(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(_POLL)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(_POLL)
    _children.pop(pid, None)


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, or our own exited child, counts as gone)."""
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    return True


def _is_server(pid: int) -> bool:
    """Whether ``pid`` is alive and, where /proc tells, really runs ``ccw.local.serve``."""
    if not _alive(pid):
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return _SERVE_MARK.encode() in command


def _exit_code(pid: int) -> int | None:
    child = _children.pop(pid, None)
    return child.poll() if child is not None else None


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _check_port_free(port: int) -> None:
    from ccw.local.serve import port_in_use

    if port_in_use(port):
        raise _port_taken(port)


def _port_taken(port: int) -> LocalServerError:
    return LocalServerError(
        f"port {port} on 127.0.0.1 is already in use by another program, "
        "so the local model server cannot listen there",
        _PORT_FIX + f'"localModel": {{"port": {_suggest_port(port)}}}',
    )


def _suggest_port(taken: int) -> int:
    from ccw.local.serve import port_in_use

    for candidate in range(taken + 1, min(taken + 50, 65536)):
        if not port_in_use(candidate):
            return candidate
    return 8765 if taken != 8765 else 8766


def _log_tail(lines: int = 6) -> str:
    """The last error lines of the server log (llama.cpp marks them `` E ``)."""
    try:
        text = log_path().read_text(errors="replace")
    except OSError:
        return "  (no log)"
    errors = [line for line in text.splitlines() if " E " in line or line.startswith(_SERVE_MARK)]
    return "\n".join(f"  {line.strip()}" for line in (errors or text.splitlines())[-lines:])
