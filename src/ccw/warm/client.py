"""The caller's side of the warm path: send a call to a running warm server, or say why not.

``run`` returns ``None`` whenever the call should run in-process instead: no server, a
stale socket, a server of another version or config, a socket another user owns. A
server that dies mid-call gives a cut-stream result (exit 16); the next call falls back.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccw.errors import CcwError, ExitCode
from ccw.exec import events
from ccw.result import ExecutionResult
from ccw.warm import paths, protocol

if TYPE_CHECKING:
    from ccw.exec.embed import EmbedResult
    from ccw.exec.run import RunOptions

WARM_ENV = "CCW_WARM"  # auto | off | on (the default: use a server that runs)
HANDSHAKE_TIMEOUT = 5.0
_NOTE = "fallback-note"


class WarmCallError(CcwError):
    """A user error the warm server raised for this call (bad options, bad config)."""

    def __init__(self, kind: str, message: str, fix: str | None, exit_code: int) -> None:
        super().__init__(message, fix)
        self.kind = kind
        self.exit_code = exit_code


@dataclass(frozen=True)
class Settings:
    """The warm path's settings: ``CCW_WARM`` over the config's ``warmPath``; the idle
    minutes after which an auto-started server stops (``warmIdleMinutes``)."""

    mode: str = "on"
    idle_minutes: float = 30.0


def settings(files: list[Path]) -> Settings:
    """Read from the raw config files (no schema needed: this runs before every call)."""
    mode, idle = "on", 30.0
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            mode = str(data.get("warmPath", mode))
            value = data.get("warmIdleMinutes", idle)
            idle = float(value) if isinstance(value, int | float) and value > 0 else idle
    chosen = os.environ.get(WARM_ENV, "").strip().lower() or mode.lower()
    return Settings(chosen if chosen in ("auto", "off", "on") else "on", idle)


def listening() -> bool:
    """Whether a socket of this user's is where a warm server listens (not whether it will
    take a call: that is decided per call)."""
    if os.environ.get(WARM_ENV, "").strip().lower() == "off":
        return False
    try:
        st = paths.socket_path().lstat()
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid()


def run(options: RunOptions, on_event: events.OnEvent) -> ExecutionResult | None:
    """Run the call on the warm server; ``None``: run it in-process (reason said once)."""
    if options.tool not in (None, "litellm"):
        return None  # a CLI tool runs here, in the caller's own environment and terminal
    request = {"kind": "run", "options": protocol.options_to_dict(options)}
    answer = _exchange(request, options.config, options.cwd, on_event)
    if answer is None:
        return None
    if isinstance(answer, str):
        return _cut(answer)
    return protocol.result_from_dict(answer)


def run_quietly(
    options: dict[str, Any], cwd: Path, on_event: events.OnEvent
) -> ExecutionResult | None:
    """``run`` for the fast entry (``ccw.cli.warm_fast``), which has the full app behind it:
    ``options`` is a partial dict the server completes with defaults. ``None`` says nothing,
    starts nothing and leaves a stale socket in place: the full app then takes the call
    and says why, as it would have without the fast entry."""
    config = Path(options["config"]) if options.get("config") else None
    answer = _exchange({"kind": "run", "options": options}, config, cwd, on_event, quiet=True)
    if answer is None:
        return None
    if isinstance(answer, str):
        return _cut(answer)
    return protocol.result_from_dict(answer)


def embed(
    texts: list[str],
    *,
    model_id: str | None,
    batch_size: int,
    timeout: float | None,
    config: Path | None,
    cwd: Path,
    on_event: events.OnEvent,
) -> EmbedResult | None:
    """``ccw embed`` on the warm server; ``None``: run it in-process."""
    from ccw.exec.embed import EmbedResult

    call = {
        "texts": texts,
        "model_id": model_id,
        "batch_size": batch_size,
        "timeout": timeout,
        "config": str(config) if config else None,
        "cwd": str(cwd),
    }
    answer = _exchange({"kind": "embed", "embed": call}, config, cwd, on_event)
    if answer is None:
        return None
    if isinstance(answer, str):
        raise WarmCallError(
            "stream_cut",
            "the warm server stopped in the middle of the call",
            "run it again (it runs in-process while no warm server answers)",
            ExitCode.STREAM_CUT,
        )
    return EmbedResult(
        vectors=answer["embeddings"],
        model=answer["model"],
        deployments=list(answer["deployments"]),
        prompt_tokens=answer["usage"]["promptTokens"],
        batches=int(answer["batches"]),
    )


def _exchange(
    request: dict[str, Any],
    config: Path | None,
    cwd: Path,
    on_event: events.OnEvent,
    *,
    quiet: bool = False,
) -> dict[str, Any] | str | None:
    """Send one call; its events go to ``on_event``. The answer's ``result``; ``None``: run
    it in-process; a string: what streamed before the server went away."""
    files = protocol.config_files(config, cwd)
    chosen = settings(files)
    if chosen.mode == "off":
        return None
    conn = _connect(paths.socket_path(), on_event, quiet=quiet)
    if conn is None:
        if chosen.mode == "auto" and not quiet:
            from ccw.warm.autostart import start_in_background

            start_in_background(chosen.idle_minutes)
        return None
    full = {
        **request,
        "protocol": protocol.PROTOCOL,
        "identity": protocol.identity_for(files).to_dict(),
        "env": protocol.caller_values(files),
    }
    with conn:
        return _stream(conn, full, on_event, quiet=quiet)


def _connect(path: Path, on_event: events.OnEvent, *, quiet: bool) -> socket.socket | None:
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid():
        if quiet:
            return None
        _note(f"{path} is not a socket of yours: ignored, the call runs in-process", on_event)
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(HANDSHAKE_TIMEOUT)
    try:
        conn.connect(str(path))
    except ConnectionRefusedError:  # nobody listens: a crashed server's socket
        conn.close()
        if quiet:
            return None
        with contextlib.suppress(OSError):
            path.unlink()
        _note(
            "the warm server is gone (a stale socket, now removed): the call runs in-process",
            on_event,
        )
        return None
    except OSError:  # busy, or not ours to judge: its server keeps it
        conn.close()
        if not quiet:
            _note("the warm server did not answer: the call runs in-process", on_event)
        return None
    return conn


def _stream(
    conn: socket.socket, request: dict[str, Any], on_event: events.OnEvent, *, quiet: bool
) -> dict[str, Any] | str | None:
    streamed: list[str] = []
    accepted = False
    try:
        conn.sendall(protocol.encode(request))
        for line in conn.makefile("rb"):
            message = protocol.decode(line)
            if "event" in message:
                event = protocol.event_from_dict(message)
                if isinstance(event, events.Text):
                    streamed.append(event.piece)
                on_event(event)
            elif "accepted" in message:
                accepted = True
                conn.settimeout(None)  # the call keeps its own deadline
            elif "refused" in message:
                if quiet:
                    return None
                _note(f"{message['refused']}: the call runs in-process", on_event)
                return None
            elif "error" in message:
                _forget_note()
                error = message["error"]
                raise WarmCallError(
                    str(error.get("kind")),
                    str(error.get("message")),
                    error.get("fix"),
                    int(error.get("exitCode") or ExitCode.FAILURE),
                )
            elif "result" in message:
                _forget_note()
                found: dict[str, Any] = message["result"]
                return found
    except (OSError, ValueError):
        pass
    if not accepted:
        if not quiet:
            _note("the warm server did not answer: the call runs in-process", on_event)
        return None
    return "".join(streamed)


def _cut(streamed: str) -> ExecutionResult:
    return ExecutionResult(
        success=False,
        output=streamed,
        error="the warm server stopped in the middle of the call: the answer is cut",
        fix="run the call again (it runs in-process while no warm server answers)",
        error_kind="stream_cut",
        exit_code=ExitCode.STREAM_CUT,
    )


def _note(reason: str, on_event: events.OnEvent) -> None:
    """Say why the warm path is not taken, once: not again while the reason stays."""
    note = paths.runtime_dir() / _NOTE
    try:
        if note.read_text(encoding="utf-8") == reason:
            return
    except OSError:
        pass
    on_event(events.Status(reason))
    with contextlib.suppress(OSError):
        paths.ensure_runtime_dir()
        note.write_text(reason, encoding="utf-8")


def _forget_note() -> None:
    with contextlib.suppress(OSError):
        (paths.runtime_dir() / _NOTE).unlink()


def request_status(timeout: float = 2.0) -> dict[str, Any] | None:
    """The running server's status, or None when none answers."""
    found = _ask({"kind": "status"}, "status", timeout)
    return found if isinstance(found, dict) else None


def request_stop(timeout: float = 2.0) -> bool:
    return _ask({"kind": "stop"}, "stopping", timeout) is not None


def _ask(request: dict[str, Any], key: str, timeout: float) -> Any:
    path = paths.socket_path()
    try:
        if path.lstat().st_uid != os.getuid():
            return None
    except OSError:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(str(path))
            conn.sendall(protocol.encode(request))
            line = conn.makefile("rb").readline()
            return protocol.decode(line).get(key)
        except (OSError, ValueError):
            return None
